// A wrapper name that is taken is one located error, without the function
// (or the module) printed as a note (issue 21).
// RUN: not dq-opt %s --dq-pack-entry-points 2>&1 | FileCheck %s --implicit-check-not="see current operation"

// CHECK: name-taken.mlir:[[@LINE+1]]:1: error: dq-pack-entry-points: 'dq_f' already exists (the wrapper of @_mlir_ciface_f would replace it)
llvm.func @_mlir_ciface_f(%arg0: !llvm.ptr) {
  llvm.return
}
llvm.func @dq_f() {
  llvm.return
}
