#!/bin/bash
# runtime-packages.sh BINARY [MODULE...] — prints the Debian packages that provide the shared
# libraries BINARY and the modules it loads with dlopen (profgate-net.so: libgrpc, libcurl)
# need (one per line, sorted), so the container's runtime stage installs exactly what the
# build linked, and no package list is kept by hand beside the Makefile's.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: runtime-packages.sh BINARY [MODULE...]" >&2; exit 2; }
libs=()
for f in "$@"; do
  mapfile -t l < <(ldd "$f" | awk '/=> \//{print $3} /^\s*\/lib/{print $1}')
  [ ${#l[@]} -gt 0 ] || { echo "runtime-packages: ldd found no libraries in $f" >&2; exit 1; }
  libs+=("${l[@]}")
done
mapfile -t libs < <(printf '%s\n' "${libs[@]}" | sort -u)
# A package's file list names a library by the path it shipped: /lib or /usr/lib (merged
# /usr), the soname link or the real file. Look every form up in one pass over the lists.
want=$(for lib in "${libs[@]}"; do
  for p in "$lib" "$(readlink -f "$lib")"; do echo "$p"; echo "${p#/usr}"; echo "/usr${p#/usr}"; done
done | sort -u)
found=$(grep -Fx -f <(printf '%s\n' "$want") /var/lib/dpkg/info/*.list || true)
for lib in "${libs[@]}"; do
  real=$(readlink -f "$lib")
  # awk reads all its input (no early exit): under pipefail, printf would die of SIGPIPE.
  pkg=$(printf '%s\n' "$found" | awk -v a="${lib#/usr}" -v b="${real#/usr}" \
        '{ i=index($0, ".list:"); p=substr($0, i+6); sub(/^\/usr/,"",p)
           if (!done && (p==a || p==b)) { f=substr($0, 1, i-1); sub(/.*\//,"",f); sub(/:.*/,"",f); print f; done=1 } }')
  [ -n "$pkg" ] || { echo "runtime-packages: no package owns $lib" >&2; exit 1; }
  echo "$pkg"
done | sort -u
