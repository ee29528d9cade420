# The two commands of the README, and the builds behind them.
#   make demo   install what is missing, build, run the demo tree
#   make test   install what is missing, then every test in a normal and in a
#               sanitizer (ASan + UBSan) build
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=

BENCH_BUILD ?= build-bench
SOURCES = $(shell find actors bench config playbooks runtime tests \
            -name '*.cpp' -o -name '*.hpp')

.PHONY: all deps build build-asan demo test test-normal test-asan bench \
        format format-check clean

all: build

deps:
	@.ci/install-deps

$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DGRACE_WERROR=ON $(CMAKE_FLAGS)

$(ASAN_BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DGRACE_WERROR=ON -DGRACE_SANITIZE=ON $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/grace run config/examples/demo.yaml --for 20s
	@echo
	./$(BUILD)/grace incidents --log logs/demo/incidents.jsonl --since 25s

test-normal: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd $(ASAN_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)

test: format-check test-normal test-asan

format:
	clang-format -i $(SOURCES)

format-check: deps
	clang-format --dry-run --Werror $(SOURCES)

$(BENCH_BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BENCH_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DGRACE_BENCH=ON $(CMAKE_FLAGS)

bench: deps $(BENCH_BUILD)/build.ninja
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	./$(BENCH_BUILD)/bench/config_load_bench --json $(BENCH_BUILD)/config_load.json
	./$(BENCH_BUILD)/bench/restart_latency_bench --grace $(BENCH_BUILD)/grace \
	  --floor $(BENCH_BUILD)/bench/floor_supervisor \
	  --child $(BENCH_BUILD)/bench/bench_child --without-audit \
	  --json $(BENCH_BUILD)/restart_latency.json
	./$(BENCH_BUILD)/bench/audit_bench --grace $(BENCH_BUILD)/grace \
	  --dir $(BENCH_BUILD) --json $(BENCH_BUILD)/audit.json
	./$(BENCH_BUILD)/bench/probe_heal_bench --grace $(BENCH_BUILD)/grace \
	  --child $(BENCH_BUILD)/tests/crashy_child \
	  --json $(BENCH_BUILD)/probe_heal.json
	./$(BENCH_BUILD)/bench/port_conflict_bench --grace $(BENCH_BUILD)/grace \
	  --child $(BENCH_BUILD)/tests/crashy_child \
	  --json $(BENCH_BUILD)/port_conflict.json

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD)
