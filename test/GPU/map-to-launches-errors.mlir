// RUN: dq-opt %s --dq-gpu-map-to-launches="shared-memory-bytes=100000" -verify-diagnostics -o /dev/null
// RUN: not dq-opt %s --dq-gpu-map-to-launches="block-size=0" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BLOCK

// More than the 48 KiB of static shared memory a block may have.
// expected-error @below {{shared-memory-bytes must be in [0, 49152]}}
func.func @bad_options() {
  return
}

// BLOCK: error: dq-gpu-map-to-launches: option block-size must be in [1, 1024], got 0
// BLOCK-NOT: see current operation
