// RUN: not dq-opt %s --dq-static-buffers="min-bytes=-1" 2>&1 | FileCheck %s --implicit-check-not="see current operation"
// CHECK: error: dq-static-buffers: option min-bytes must be in [0, 9223372036854775807], got -1
func.func @f() {
  return
}
