// Gradients of tosa.add / sub / mul, with broadcasting (the bias and
// batch-norm forms), against finite differences of the compiled function.
// REQUIRES: numpy
// RUN: %gradcheck %s | FileCheck %s
// CHECK: gradcheck: 3 functions, 0 failed

func.func @add_broadcast(%x: tensor<2x3x4xf32>, %b: tensor<1x1x4xf32>) -> tensor<2x3x4xf32> {
  %y = tosa.add %x, %b : (tensor<2x3x4xf32>, tensor<1x1x4xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

func.func @sub(%x: tensor<1x3x4xf32>, %y: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %z = tosa.sub %x, %y : (tensor<1x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %z : tensor<2x3x4xf32>
}

func.func @mul_broadcast(%x: tensor<2x3x4xf32>, %s: tensor<1x3x1xf32>) -> tensor<2x3x4xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %x, %x, %shift : (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<1xi8>) -> tensor<2x3x4xf32>
  %y = tosa.mul %sq, %s, %shift : (tensor<2x3x4xf32>, tensor<1x3x1xf32>, tensor<1xi8>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}
