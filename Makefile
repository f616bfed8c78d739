# profgate: thin wrapper over CMake. Every Debian package the build and the tests need is
# named here, in DEBIAN_PACKAGES, and nowhere else.
SHELL := /bin/bash

DEBIAN_PACKAGES := \
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format \
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler \
  libyaml-dev libjansson-dev libdeflate-dev libisal-dev zlib1g-dev libzstd-dev \
  libssl-dev libevent-dev libnghttp2-dev libhttp-parser-dev libcurl4-openssl-dev libgrpc-dev \
  golang-go python3 python3-grpcio python3-protobuf python3-yaml curl nghttp2-client openssl gzip zstd procps time
# Node.js and npm (test clients only) come from Debian when the machine has none; a
# machine whose Node.js ships its own npm keeps it (Debian's npm would conflict).
NODE_PACKAGES := nodejs npm

BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CONFIG     ?= configs/default.yaml

.PHONY: all deps build build-asan run test test-unit test-asan bench fuzz format format-check install uninstall clean

all: build

# Installs only the packages that are missing (dpkg-query is the source of truth).
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing $(NODE_PACKAGES)"; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi
	@test -d tests/node/node_modules || (cd tests/node && npm ci --no-audit --no-fund --loglevel=error) || echo "deps: WARNING: npm ci failed; the Node profile test will be skipped"

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPG_SANITIZE=ON >/dev/null
	cmake --build $(BUILD_ASAN) -j $(JOBS)

run: build
	$(BUILD)/profgate --config $(CONFIG)

# The whole suite twice: a release build, then the same suite under ASan+UBSan.
test: build build-asan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j $(JOBS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd $(BUILD_ASAN) && ctest --output-on-failure -j $(JOBS)

bench: build
	bash bench/run.sh $(BUILD)

# Coverage-guided fuzzing with libFuzzer (clang): FUZZ_SECONDS per target, corpus grows
# in build-fuzz/corpus/<target> (seeded from tests/fuzz/corpus).
FUZZ_SECONDS ?= 60
fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DPG_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target fuzz_pprof fuzz_otlp fuzz_otlp_json fuzz_multipart fuzz_otlp_traces
	for t in pprof otlp otlp_json multipart otlp_traces; do \
	  mkdir -p build-fuzz/corpus/$$t && cp -n tests/fuzz/corpus/$$t/* build-fuzz/corpus/$$t/ 2>/dev/null; \
	  build-fuzz/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 build-fuzz/corpus/$$t || exit 1; \
	done

# Formats every tracked C file with the repo's .clang-format; `make test` runs the check
# (tests/lint/format_check.sh) in both builds.
format:
	git ls-files '*.c' '*.h' | grep -v node_modules | xargs clang-format --style=file -i

format-check:
	bash tests/lint/format_check.sh .

# Installs what `make build` built (build first; install never compiles, so it can run as
# root on a tree built by another user): the binary, the network module
# ($(PREFIX)/lib/profgate/profgate-net.so, found from the binary's own path), the man page, the default config as
# $(SYSCONFDIR)/profgate/config.yaml (kept when one is there), every ready config and the
# docs under $(PREFIX)/share, and the systemd unit with these paths written in.
PREFIX     ?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(PREFIX)/lib/systemd/system
install:
	@test -x $(BUILD)/profgate || { echo "install: $(BUILD)/profgate is missing; run make build"; exit 1; }
	@test -f $(BUILD)/profgate-net.so || { echo "install: $(BUILD)/profgate-net.so is missing; run make build"; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/profgate $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/profgate/configs $(DESTDIR)$(PREFIX)/share/doc/profgate \
	  $(DESTDIR)$(SYSCONFDIR)/profgate $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/profgate $(DESTDIR)$(PREFIX)/bin/profgate
	install -m 0644 $(BUILD)/profgate-net.so $(DESTDIR)$(PREFIX)/lib/profgate/profgate-net.so
	install -m 0644 docs/profgate.1 $(DESTDIR)$(PREFIX)/share/man/man1/profgate.1
	install -m 0644 configs/*.yaml $(DESTDIR)$(PREFIX)/share/profgate/configs/
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/profgate/
	test -e $(DESTDIR)$(SYSCONFDIR)/profgate/config.yaml || \
	  install -m 0644 configs/default.yaml $(DESTDIR)$(SYSCONFDIR)/profgate/config.yaml
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  deploy/systemd/profgate.service.in > $(DESTDIR)$(UNITDIR)/profgate.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/profgate.service

# Removes what install wrote, except the config in $(SYSCONFDIR) (a user's edits).
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/profgate $(DESTDIR)$(PREFIX)/share/man/man1/profgate.1 \
	  $(DESTDIR)$(UNITDIR)/profgate.service
	rm -rf $(DESTDIR)$(PREFIX)/share/profgate $(DESTDIR)$(PREFIX)/share/doc/profgate \
	  $(DESTDIR)$(PREFIX)/lib/profgate

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
