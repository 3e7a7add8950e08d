# dq: the two entry points of the README.
#   make demo   quantize, compile and train the example model on Fashion-MNIST
#   make test   install what is missing, build, run every test

BUILD_DIR ?= build
LLVM_DIR  ?= /usr/lib/llvm-22
JOBS      ?= $(shell nproc)
DQ_OPT    := $(BUILD_DIR)/bin/dq-opt

# The fuzz build (docs/Fuzzing.md): libFuzzer targets and the runtime unit
# tests with ASan + UBSan, built with clang in their own directory.
FUZZ_DIR  ?= build-fuzz
FUZZ_CC   ?= clang-22
FUZZ_CXX  ?= clang++-22

.PHONY: all setup configure build fuzz test check demo docs gpu-bundle clean

all: build

setup:
	@scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -G Ninja -S . -B $(BUILD_DIR) \
	  -DMLIR_DIR=$(LLVM_DIR)/lib/cmake/mlir \
	  -DLLVM_EXTERNAL_LIT=$(LLVM_DIR)/bin/lit \
	  -DDQ_FUZZ_BUILD_DIR=$(abspath $(FUZZ_DIR))

configure: $(BUILD_DIR)/build.ninja

build: setup configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Builds only the fuzz targets and what they need, plus the sanitized
# DQRuntimeTests. Without a clang that links -fsanitize=fuzzer it says so
# and builds nothing: the lit tests under test/Fuzz are then unsupported.
fuzz: setup
	@if printf 'extern "C" int LLVMFuzzerTestOneInput(const char *, unsigned long) { return 0; }\n' \
	    | $(FUZZ_CXX) -x c++ -fsanitize=fuzzer,address,undefined - -o /dev/null >/dev/null 2>&1; then \
	  if [ ! -f $(FUZZ_DIR)/build.ninja ]; then \
	    cmake -G Ninja -S . -B $(FUZZ_DIR) -DDQ_FUZZ=ON \
	      -DCMAKE_C_COMPILER=$(FUZZ_CC) -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) \
	      -DMLIR_DIR=$(LLVM_DIR)/lib/cmake/mlir \
	      -DLLVM_EXTERNAL_LIT=$(LLVM_DIR)/bin/lit || exit 1; \
	  fi; \
	  cmake --build $(FUZZ_DIR) --target dq-fuzz DQRuntimeTests -j $(JOBS) || exit 1; \
	else \
	  echo "fuzz: $(FUZZ_CXX) cannot link -fsanitize=fuzzer (clang-22, libclang-rt-22-dev): no fuzz build, test/Fuzz unsupported"; \
	fi

# Runs lit (dialect, passes, integration, fuzz smoke runs) and the
# GoogleTest unit tests (also the sanitized runtime tests of the fuzz build).
test: build fuzz
	cmake --build $(BUILD_DIR) --target check-dq -j $(JOBS)

check: test

# Variables: EPOCHS, W_BITS, A_BITS, W_SCHEME, A_SCHEME, MODEL, LR, SEED.
demo: build
	@BIN=$(BUILD_DIR)/bin scripts/demo.sh

docs: build
	cmake --build $(BUILD_DIR) --target dq-doc

# Compiled GPU and CPU models + scripts for scripts/gpu-check.sh on a GPU
# machine without MLIR (docs/GPU.md); needs the CUDA toolkit here, no GPU.
gpu-bundle: build
	BIN=$(BUILD_DIR)/bin LIB=$(BUILD_DIR)/lib scripts/build-gpu-bundle.sh $(BUILD_DIR)/gpu-bundle

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR)
