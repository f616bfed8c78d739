#!/bin/bash
# http.sh BUILD_DIR — the HTTP server stack under h2load (nghttp2-client): 50 KB POST bodies
# over HTTP/1.1, h2c and h2 over TLS, the load tool on the same machine. Prints requests/s
# and the server's peak RSS. A measurement, not a test: always exits 0.
set -uo pipefail
build="$(realpath -m "${1:-build}")"
bin="$build/bench/bench_http_server"
if [ ! -x "$bin" ] || ! command -v h2load >/dev/null; then
  echo "bench http: $bin or h2load missing (make build; make deps)"; exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
head -c 51200 /dev/urandom > "$work/body"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key" -out "$work/crt" -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
for mode in h1 h2c h2tls; do
  case $mode in
    h1)    coproc SRV { exec "$bin" 0; } ;;
    h2c)   coproc SRV { exec "$bin" 0; } ;;
    h2tls) coproc SRV { exec "$bin" 0 "$work/crt" "$work/key"; } ;;
  esac
  read -r _ port <&"${SRV[0]}"
  case $mode in
    h1)    args=(--h1 "http://127.0.0.1:$port/echo") ;;
    h2c)   args=("http://127.0.0.1:$port/echo") ;;
    h2tls) args=("https://127.0.0.1:$port/echo") ;;
  esac
  res="$(h2load -n 20000 -c 8 -m 8 -d "$work/body" "${args[@]}" 2>&1)"
  exec {SRV[1]}>&-
  read -r _ rss <&"${SRV[0]}"
  wait "$SRV_PID" 2>/dev/null
  printf 'http %-6s %s; status %s; server peak RSS %s KiB\n' "$mode" \
    "$(echo "$res" | grep -E '^finished in' | sed 's/^finished in //')" \
    "$(echo "$res" | grep -E '^status codes' | sed 's/^status codes: //')" "$rss"
done
exit 0
