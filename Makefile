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

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 1800

test-fast: build
	cd $(BUILD) && ctest -L fast --output-on-failure -j $(JOBS) --timeout 600

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
