// The lowered module translates to LLVM IR (what an AOT compile consumes).
// RUN: dq-opt %s --dq-lower-to-llvm | mlir-translate --mlir-to-llvmir | FileCheck %s

// CHECK: define {{.*}} @decode(
func.func @decode(%c: tensor<4x3xi8>, %v: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<4x3xi8>, tensor<4x2xf32>) -> tensor<4x3xf32>
  return %w : tensor<4x3xf32>
}
