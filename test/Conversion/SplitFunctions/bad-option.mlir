// RUN: not dq-opt %s --dq-split-functions="ops-per-function=0" 2>&1 | FileCheck %s --implicit-check-not="see current operation"
// CHECK: error: dq-split-functions: option ops-per-function must be in [1, 9223372036854775807], got 0
func.func @f() {
  return
}
