# dq: the two entry points of the README.
#   make demo   quantize and lower the example model and show the result
#   make test   install what is missing, build, run every test

BUILD_DIR ?= build
LLVM_DIR  ?= /usr/lib/llvm-22
JOBS      ?= $(shell nproc)
DQ_OPT    := $(BUILD_DIR)/bin/dq-opt

.PHONY: all setup configure build test check demo docs clean

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

demo: build
	@scripts/demo.sh $(DQ_OPT)

docs: build
	cmake --build $(BUILD_DIR) --target dq-doc

clean:
	rm -rf $(BUILD_DIR)
