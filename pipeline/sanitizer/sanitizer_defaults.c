/* Default runtime options of the ASan+UBSan build (PG_SANITIZE=ON). CMake links this file
 * into every executable and module of that build; the release build never sees it. Options
 * given in ASAN_OPTIONS still override these.
 *
 * intercept_tls_get_addr=0: the __tls_get_addr interceptor of GCC 12's sanitizer runtime
 * (fixed upstream after GCC 13 and LLVM 16) takes a dynamic TLS block whose address is 16
 * bytes past a page boundary for a pre-2.25 glibc block with a size header, and reads the
 * size from the 16 bytes before it. Since glibc 2.25 there is no such header, so about one
 * block in 256 (ASan's allocator hands out 16-byte aligned blocks) gets a garbage range, and
 * LeakSanitizer's stop-the-world tracer dies scanning it at exit ("Tracer caught signal 11",
 * exit status 1, no leak report). The network module's libraries (gRPC, OpenSSL) use dynamic
 * TLS in every thread they start. Without the interceptor LeakSanitizer still reaches those
 * blocks: glibc allocates them with malloc and keeps them in the thread's DTV, which lives in
 * the thread descriptor the tracer scans. */

/* Called by the sanitizer runtime before main; returns a static string. Weak: CMake puts a
 * copy into every static library of that build too, and any one of them will do. */
const char *__asan_default_options(void) __attribute__((weak));

const char *__asan_default_options(void)
{
    return "intercept_tls_get_addr=0";
}
