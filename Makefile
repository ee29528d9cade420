# The two commands of the README, and the builds behind them.
#   make demo   install what is missing, build, run the demo tree
#   make test   install what is missing, then every test in a normal and in a
#               sanitizer (ASan + UBSan) build, and every fuzzer over its
#               corpus plus 30 s of new inputs
#   make fuzz   every fuzzer for FUZZ_SECONDS (300) of new inputs
#   make test-stress  the same while busy loops keep every core busy, then
#               the actor and end-to-end tests three times over
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=

BENCH_BUILD ?= build-bench
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 300
SOURCES = $(shell find actors bench cluster config playbooks runtime tests \
            -name '*.cpp' -o -name '*.hpp')

.PHONY: all deps build build-asan build-fuzz demo test test-normal test-asan \
        test-fuzz test-stress bench fuzz format format-check clean

all: build

deps:
	@.ci/install-deps

$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DGRACE_WERROR=ON -DGRACE_BENCH=ON $(CMAKE_FLAGS)

$(ASAN_BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DGRACE_WERROR=ON -DGRACE_SANITIZE=ON $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The fuzzers alone (tests/fuzz), with clang's libFuzzer, ASan and UBSan.
$(FUZZ_BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++-14 -DGRACE_FUZZ=ON

build-fuzz: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target grace_fuzzers

demo: build
	./$(BUILD)/grace run config/examples/demo.yaml --for 20s
	@echo
	./$(BUILD)/grace incidents --log logs/demo/incidents.jsonl --since 25s

test-normal: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

SANITIZER_ENV = \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

test-asan: build-asan
	cd $(ASAN_BUILD) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS)

test-fuzz: build-fuzz
	tests/fuzz/run $(FUZZ_BUILD) 30

test: format-check test-normal test-asan test-fuzz

fuzz: build-fuzz
	tests/fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Not part of `make test`: about three times as long (.ci/stress).
test-stress: build build-asan
	BUILD=$(BUILD) ASAN_BUILD=$(ASAN_BUILD) JOBS=$(JOBS) $(SANITIZER_ENV) \
	  .ci/stress

format:
	clang-format -i $(SOURCES)

format-check: deps
	clang-format --dry-run --Werror $(SOURCES)

$(BENCH_BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BENCH_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DGRACE_BENCH=ON $(CMAKE_FLAGS)

# Every benchmark, then other supervisors side by side (../shared/bench-peers,
# installed on first use), one report: table, JSON and chart under
# $(BENCH_BUILD)/results/ (bench/run.py --help).
bench: deps $(BENCH_BUILD)/build.ninja
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	python3 bench/run.py --build $(BENCH_BUILD) $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD) $(FUZZ_BUILD)
