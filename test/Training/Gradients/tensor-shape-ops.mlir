// Gradients of the tensor ops tosa-to-tensor emits (collapse/expand_shape,
// extract/insert_slice, concat, pad with a constant value); squared outputs
// so that a wrong offset or a transposed reshape does not cancel out.
// REQUIRES: numpy
// RUN: %gradcheck %s | FileCheck %s
// CHECK: gradcheck: 8 functions, 0 failed

func.func @collapse(%x: tensor<2x3x4xf32>) -> tensor<2x12xf32> {
  %c = tensor.collapse_shape %x [[0], [1, 2]] : tensor<2x3x4xf32> into tensor<2x12xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %c, %c, %shift : (tensor<2x12xf32>, tensor<2x12xf32>, tensor<1xi8>) -> tensor<2x12xf32>
  return %sq : tensor<2x12xf32>
}

func.func @expand(%x: tensor<6x4xf32>) -> tensor<2x3x4x1xf32> {
  %e = tensor.expand_shape %x [[0, 1], [2, 3]] output_shape [2, 3, 4, 1] : tensor<6x4xf32> into tensor<2x3x4x1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %e, %e, %shift : (tensor<2x3x4x1xf32>, tensor<2x3x4x1xf32>, tensor<1xi8>) -> tensor<2x3x4x1xf32>
  return %sq : tensor<2x3x4x1xf32>
}

func.func @slice_strided(%x: tensor<6x7xf32>) -> tensor<2x3xf32> {
  %s = tensor.extract_slice %x[1, 2] [2, 3] [2, 2] : tensor<6x7xf32> to tensor<2x3xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %s, %s, %shift : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<1xi8>) -> tensor<2x3xf32>
  return %sq : tensor<2x3xf32>
}

func.func @slice_rank_reducing(%x: tensor<3x4x5xf32>) -> tensor<4x3xf32> {
  %s = tensor.extract_slice %x[1, 0, 1] [1, 4, 3] [1, 1, 1] : tensor<3x4x5xf32> to tensor<4x3xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %s, %s, %shift : (tensor<4x3xf32>, tensor<4x3xf32>, tensor<1xi8>) -> tensor<4x3xf32>
  return %sq : tensor<4x3xf32>
}

func.func @pad(%x: tensor<2x3xf32>) -> tensor<5x6xf32> {
  %cst = arith.constant 0.5 : f32
  %p = tensor.pad %x low[1, 0] high[2, 3] {
  ^bb0(%i: index, %j: index):
    tensor.yield %cst : f32
  } : tensor<2x3xf32> to tensor<5x6xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %p, %p, %shift : (tensor<5x6xf32>, tensor<5x6xf32>, tensor<1xi8>) -> tensor<5x6xf32>
  return %sq : tensor<5x6xf32>
}

func.func @insert_strided(%src: tensor<2x3xf32>, %dest: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %i = tensor.insert_slice %src into %dest[1, 1] [2, 3] [1, 2] : tensor<2x3xf32> into tensor<4x6xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %i, %i, %shift : (tensor<4x6xf32>, tensor<4x6xf32>, tensor<1xi8>) -> tensor<4x6xf32>
  return %sq : tensor<4x6xf32>
}

func.func @concat(%x: tensor<2x3xf32>, %y: tensor<2x2xf32>) -> tensor<2x5xf32> {
  %c = tensor.concat dim(1) %x, %y : (tensor<2x3xf32>, tensor<2x2xf32>) -> tensor<2x5xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %c, %c, %shift : (tensor<2x5xf32>, tensor<2x5xf32>, tensor<1xi8>) -> tensor<2x5xf32>
  return %sq : tensor<2x5xf32>
}

// A pad feeding a reshape, as tosa-to-tensor lowers a padded flatten.
func.func @pad_collapse(%x: tensor<1x2x2x3xf32>) -> tensor<1x48xf32> {
  %cst = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %cst : f32
  } : tensor<1x2x2x3xf32> to tensor<1x4x4x3xf32>
  %f = tensor.collapse_shape %p [[0], [1, 2, 3]] : tensor<1x4x4x3xf32> into tensor<1x48xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %f, %f, %shift : (tensor<1x48xf32>, tensor<1x48xf32>, tensor<1xi8>) -> tensor<1x48xf32>
  return %sq : tensor<1x48xf32>
}
