# dq: the two entry points of the README.
#   make demo   quantize, compile and train the example model on Fashion-MNIST
#   make test   install what is missing, build, run every test

BUILD_DIR ?= build
LLVM_DIR  ?= /usr/lib/llvm-22
JOBS      ?= $(shell nproc)
DQ_OPT    := $(BUILD_DIR)/bin/dq-opt

.PHONY: all setup configure build test check demo docs gpu-bundle clean

all: build

setup:
	@scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -G Ninja -S . -B $(BUILD_DIR) \
	  -DMLIR_DIR=$(LLVM_DIR)/lib/cmake/mlir \
	  -DLLVM_EXTERNAL_LIT=$(LLVM_DIR)/bin/lit

configure: $(BUILD_DIR)/build.ninja

build: setup configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Runs lit (dialect, passes, integration) and the GoogleTest unit tests.
test: build
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
	rm -rf $(BUILD_DIR)
