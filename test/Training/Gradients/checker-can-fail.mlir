// The finite-difference checker rejects gradients that are 3% off.
// REQUIRES: numpy
// RUN: not %gradcheck %s --corrupt 1.03 | FileCheck %s
// CHECK: FAIL @mul
// CHECK: gradcheck: 1 functions, 1 failed

func.func @mul(%x: tensor<3x4xf32>, %y: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %z = tosa.mul %x, %y, %shift : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<1xi8>) -> tensor<3x4xf32>
  return %z : tensor<3x4xf32>
}
