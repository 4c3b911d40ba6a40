# SPDX-License-Identifier: MIT
# The three commands a newcomer needs. Everything else is meson + ninja.
#   make run    install missing Debian packages, build, start maskd on 127.0.0.1:8080
#   make test   build and run every test layer (unit, black-box, sanitizers)
#   make bench  the performance harness (bench/README.md)
#   make fuzz   every libFuzzer target, FUZZ_SECONDS each (default 3600; docs/internals/fuzzing.md)
#   make soak   SOAK_SECONDS (default 1800) of paced traffic with kill -9, then checks (docs/PERFORMANCE.md)

BUILD ?= build

.PHONY: all build run test bench bench-large fuzz soak clean deps

FUZZ_SECONDS ?= 3600

all: build

deps:
	@scripts/install-deps build

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Dwerror=true

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	@scripts/run.sh $(BUILD)/maskd

test:
	@scripts/install-deps test
	@scripts/test.sh

bench:
	@scripts/install-deps bench
	@bench/run.sh

bench-large:
	@scripts/install-deps bench
	@BENCH_LARGE=1 bench/run.sh

fuzz:
	@scripts/install-deps test
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh build-fuzz

SOAK_SECONDS ?= 1800

# Not part of make test and never run in CI: it takes SOAK_SECONDS and loads the machine.
soak:
	@scripts/install-deps test
	@test -f build-test/build.ninja || meson setup build-test --buildtype=release -Dwerror=true
	@ninja -C build-test maskd
	@cd tests/blackbox && { [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund; }
	@SOAK_SECONDS=$(SOAK_SECONDS) MASKD_BIN=$(CURDIR)/build-test/maskd node tests/soak/soak.mjs

clean:
	rm -rf build build-test build-asan build-fuzz
