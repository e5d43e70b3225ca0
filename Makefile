# Thin wrapper over CMake/CTest. Every target installs missing Debian
# packages first (scripts/deps.sh), so a fresh Debian/Ubuntu machine needs
# nothing but `make demo` or `make test`.
JOBS ?= $(shell nproc)

.PHONY: all build test demo bench fuzz deps clean

all: build

deps:
	@bash scripts/deps.sh build

# Release build used by the demo and the benchmarks.
build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

# Everything, built with ASan+UBSan, then every test: unit, fuzz-corpus
# replays and integration tests against the real binary.
test:
	@bash scripts/deps.sh test
	@cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DCG_SANITIZE=ON >/dev/null
	@cmake --build build-test -j $(JOBS)
	@cd build-test && ctest --output-on-failure -j $(JOBS)

# Builds, creates a demo PKI and store, starts a backend and the gateway
# with a client-certificate-protected API, shows it working, and keeps
# running until Ctrl-C.
demo: build
	@bash scripts/demo.sh

bench:
	@bash scripts/deps.sh bench
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)
	@bash bench/run

# libFuzzer builds of fuzz/fuzz_*.c (clang). Run e.g.
#   build-fuzz/fuzz_h1_request fuzz/corpus/h1_request -max_total_time=60
fuzz:
	@bash scripts/deps.sh test
	@CC=clang cmake -S . -B build-fuzz -DCG_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

clean:
	rm -rf build build-test build-fuzz
