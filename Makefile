# SPDX-License-Identifier: MIT
# The three commands a newcomer needs. Everything else is meson + ninja.
#   make run    install missing Debian packages, build, start maskd on 127.0.0.1:8080
#   make test   build and run every test layer (unit, black-box, sanitizers)
#   make bench  the performance harness (bench/README.md)
#   make fuzz   every libFuzzer target, FUZZ_SECONDS each (default 3600; docs/internals/fuzzing.md)

BUILD ?= build

.PHONY: all build run test bench bench-large fuzz clean deps

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

clean:
	rm -rf build build-test build-asan build-fuzz
