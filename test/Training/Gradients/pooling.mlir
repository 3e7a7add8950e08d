// Gradients of tosa.avg_pool2d (global; strided; padded, which divides by
// the count of non-padding elements) and tosa.max_pool2d (to the first
// maximum of each window).
// REQUIRES: numpy
// RUN: %gradcheck %s | FileCheck %s
// CHECK: gradcheck: 5 functions, 0 failed

func.func @avg_global(%x: tensor<2x4x4x3xf32>) -> tensor<2x1x1x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %y = tosa.avg_pool2d %x, %zp, %zp {acc_type = f32, kernel = array<i64: 4, 4>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>} : (tensor<2x4x4x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x1x1x3xf32>
  return %y : tensor<2x1x1x3xf32>
}

func.func @avg_s2(%x: tensor<1x4x6x2xf32>) -> tensor<1x2x3x2xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %y = tosa.avg_pool2d %x, %zp, %zp {acc_type = f32, kernel = array<i64: 2, 2>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 2, 2>} : (tensor<1x4x6x2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x3x2xf32>
  return %y : tensor<1x2x3x2xf32>
}

func.func @avg_padded(%x: tensor<1x5x5x2xf32>) -> tensor<1x5x5x2xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %y = tosa.avg_pool2d %x, %zp, %zp {acc_type = f32, kernel = array<i64: 3, 3>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x5x5x2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x5x5x2xf32>
  return %y : tensor<1x5x5x2xf32>
}

func.func @max_s2(%x: tensor<2x4x4x3xf32>) -> tensor<2x2x2x3xf32> {
  %y = tosa.max_pool2d %x {kernel = array<i64: 2, 2>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 2, 2>} : (tensor<2x4x4x3xf32>) -> tensor<2x2x2x3xf32>
  return %y : tensor<2x2x2x3xf32>
}

func.func @max_overlap_padded(%x: tensor<1x6x6x2xf32>) -> tensor<1x3x3x2xf32> {
  %y = tosa.max_pool2d %x {kernel = array<i64: 3, 3>, pad = array<i64: 1, 0, 1, 0>, stride = array<i64: 2, 2>} : (tensor<1x6x6x2xf32>) -> tensor<1x3x3x2xf32>
  return %y : tensor<1x3x3x2xf32>
}
