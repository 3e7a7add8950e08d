// Gradients of reshape, transpose, slice, concat and reduce_sum.
// REQUIRES: numpy
// RUN: %gradcheck %s | FileCheck %s
// CHECK: gradcheck: 5 functions, 0 failed

func.func @reshape(%x: tensor<2x3x4xf32>) -> tensor<6x4xf32> {
  %s = tosa.const_shape {values = dense<[6, 4]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %y = tosa.reshape %x, %s : (tensor<2x3x4xf32>, !tosa.shape<2>) -> tensor<6x4xf32>
  return %y : tensor<6x4xf32>
}

func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %y = tosa.transpose %x {perms = array<i32: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  return %y : tensor<4x2x3xf32>
}

func.func @slice(%x: tensor<1x5x5x2xf32>) -> tensor<1x3x4x2xf32> {
  %start = tosa.const_shape {values = dense<[0, 1, 0, 0]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %size = tosa.const_shape {values = dense<[1, 3, 4, 2]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %y = tosa.slice %x, %start, %size : (tensor<1x5x5x2xf32>, !tosa.shape<4>, !tosa.shape<4>) -> tensor<1x3x4x2xf32>
  return %y : tensor<1x3x4x2xf32>
}

func.func @concat(%x: tensor<1x2x2x3xf32>, %y: tensor<1x2x2x2xf32>) -> tensor<1x2x2x5xf32> {
  %z = tosa.concat %x, %y {axis = 3 : i32} : (tensor<1x2x2x3xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x5xf32>
  return %z : tensor<1x2x2x5xf32>
}

func.func @reduce_sum(%x: tensor<2x3x4xf32>) -> tensor<2x1x4xf32> {
  %y = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  return %y : tensor<2x1x4xf32>
}
