/* Reading a large input file without copying it: the file is mapped (private, so writes to
 * the buffer never reach the file) instead of read into fresh heap memory, which on these
 * machines costs more to fault in and fill than the decoding of it. A decoder that hands
 * pages back as it consumes them (pg_pages_release) drops the mapped pages as it does heap
 * ones. */
#ifndef PG_FILE_MAP_H
#define PG_FILE_MAP_H

#include "pipeline/core/buf.h"

#include <stddef.h>

/* Maps the regular file `path` into the empty buffer b (b->mapped set; pg_buf_free unmaps
 * it); anything else (stdin "-", a FIFO, an empty file, a buffer that holds bytes, a
 * failed mapping) is read with pg_buf_read_file instead. Returns 0, or a negative status
 * with a message in err (a file over `max` bytes, when max is not 0: PG_ELIMIT). */
int pg_buf_map_file(pg_buf *b, const char *path, size_t max, char *err, size_t errlen);

/* While set, a SIGBUS on b's mapping (the file shrank under it: the pages past its new
 * end cannot be read) ends the process with exit status 1 and a message naming `what`,
 * instead of a crash; other SIGBUS signals go to the action the guard replaced, which
 * dropping the guard (NULL b, or a buffer that is not mapped) puts back. One guard per
 * process (the signal handler is); setting it again moves it to b. */
void pg_file_map_guard(const pg_buf *b, const char *what);

#endif
