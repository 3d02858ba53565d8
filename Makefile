# Common flows. `make demo` and `make test` install dependencies, configure
# and build first, so each works on a fresh Debian 12 machine.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test test-fast test-asan fuzz fuzz-build demo bench format format-check clean

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

# libFuzzer targets (fuzz/README.md): a clang build of its own in
# $(FUZZ_BUILD), then each target for FUZZ_SECONDS over a copy of its
# committed corpus; crashes are kept under $(FUZZ_BUILD)/fuzz-runs/.
# Build type Fuzz: no flags of its own; ENCLAVE_FUZZ sets -O1 and line tables.
# FUZZ_TARGETS picks some (`make fuzz FUZZ_TARGETS="json yaml" FUZZ_SECONDS=300`).
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= safetensors tokenizer json yaml docx pdf openai_request jinja gguf hwp

fuzz-build: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DENCLAVE_FUZZ=ON -DCMAKE_BUILD_TYPE=Fuzz \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

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
