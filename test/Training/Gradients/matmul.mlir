// Gradient of tosa.matmul (both operands), the fully connected layer form.
// REQUIRES: numpy
// RUN: %gradcheck %s | FileCheck %s
// CHECK: gradcheck: 1 functions, 0 failed

func.func @fc(%a: tensor<2x3x5xf32>, %b: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %y = tosa.matmul %a, %b, %zp, %zp : (tensor<2x3x5xf32>, tensor<2x5x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}
