# Common flows. `make demo` and `make test` install dependencies, configure
# and build first, so each works on a fresh Debian 12 machine.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test test-fast test-asan demo bench format format-check clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Both print the ten slowest entries at the end (tests/README.md has the
# budget: test-fast under 2 minutes, test under 6, on 2 cores after the build).
CTEST_JUNIT = Testing/ctest-junit.xml
define ctest_and_slowest
	cd $(BUILD) && { status=0; ctest $(1) --output-on-failure -j $(JOBS) --output-junit $(CTEST_JUNIT) || status=$$?; \
	  python3 $(CURDIR)/scripts/slowest_tests.py $(CTEST_JUNIT); exit $$status; }
endef

test: build
	$(call ctest_and_slowest,--timeout 1800)

test-fast: build
	$(call ctest_and_slowest,-L fast --timeout 600)

test-asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DENCLAVE_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo"

demo: build
	bash scripts/demo.sh $(BUILD)/src/cli/enclave

bench: build
	bash bench/run.sh $(BUILD)

FORMAT_FILES = find src tests bench \( -name '*.cpp' -o -name '*.h' \) -print0

format:
	$(FORMAT_FILES) | xargs -0 clang-format -i

format-check:
	$(FORMAT_FILES) | xargs -0 clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD)
