// Gradients of tosa.clamp as ReLU and ReLU6 (pass strictly inside the
// bounds); elements on a kink are skipped by the checker.
// REQUIRES: numpy
// RUN: %gradcheck %s | FileCheck %s
// CHECK: gradcheck: 2 functions, 0 failed

func.func @relu(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %y = tosa.clamp %x {min_val = 0.0 : f32, max_val = 3.4e38 : f32} : (tensor<4x6xf32>) -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

func.func @relu6(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %s = "tosa.const"() <{values = dense<4.0> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %x4 = tosa.mul %x, %s, %shift : (tensor<4x6xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x6xf32>
  %y = tosa.clamp %x4 {min_val = 0.0 : f32, max_val = 6.0 : f32} : (tensor<4x6xf32>) -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}
