// Gradients of the linalg named ops of linalg-form layers (contractions,
// NHWC convolutions in every weight layout, sum and max pooling), inits
// included (the ops accumulate into them); strides and dilations exercise
// the spread output gradient and squared outputs keep a wrong index from
// cancelling out.
// REQUIRES: numpy
// RUN: %gradcheck %s | FileCheck %s
// CHECK: gradcheck: 11 functions, 0 failed

func.func @matmul(%x: tensor<3x4xf32>, %w: tensor<4x5xf32>, %c: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %y = linalg.matmul ins(%x, %w : tensor<3x4xf32>, tensor<4x5xf32>) outs(%c : tensor<3x5xf32>) -> tensor<3x5xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<3x5xf32>, tensor<3x5xf32>, tensor<1xi8>) -> tensor<3x5xf32>
  return %sq : tensor<3x5xf32>
}

// A transposed right-hand side (C = A * B^T).
func.func @matmul_transpose_b(%x: tensor<3x4xf32>, %w: tensor<5x4xf32>) -> tensor<3x5xf32> {
  %z = arith.constant dense<0.0> : tensor<3x5xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%x, %w : tensor<3x4xf32>, tensor<5x4xf32>) outs(%z : tensor<3x5xf32>) -> tensor<3x5xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<3x5xf32>, tensor<3x5xf32>, tensor<1xi8>) -> tensor<3x5xf32>
  return %sq : tensor<3x5xf32>
}

func.func @batch_matmul(%x: tensor<2x3x4xf32>, %w: tensor<2x4x5xf32>, %c: tensor<2x3x5xf32>) -> tensor<2x3x5xf32> {
  %y = linalg.batch_matmul ins(%x, %w : tensor<2x3x4xf32>, tensor<2x4x5xf32>) outs(%c : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<2x3x5xf32>, tensor<2x3x5xf32>, tensor<1xi8>) -> tensor<2x3x5xf32>
  return %sq : tensor<2x3x5xf32>
}

func.func @conv_fhwc(%x: tensor<1x6x6x2xf32>, %w: tensor<3x3x3x2xf32>, %c: tensor<1x4x4x3xf32>) -> tensor<1x4x4x3xf32> {
  %y = linalg.conv_2d_nhwc_fhwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x6x6x2xf32>, tensor<3x3x3x2xf32>) outs(%c : tensor<1x4x4x3xf32>) -> tensor<1x4x4x3xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>, tensor<1xi8>) -> tensor<1x4x4x3xf32>
  return %sq : tensor<1x4x4x3xf32>
}

// Stride 2 and dilation 2 (rows past the last window get no gradient).
func.func @conv_fhwc_strided(%x: tensor<2x8x7x2xf32>, %w: tensor<3x2x2x2xf32>) -> tensor<2x3x3x3xf32> {
  %z = arith.constant dense<0.0> : tensor<2x3x3x3xf32>
  %y = linalg.conv_2d_nhwc_fhwc {dilations = dense<2> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%x, %w : tensor<2x8x7x2xf32>, tensor<3x2x2x2xf32>) outs(%z : tensor<2x3x3x3xf32>) -> tensor<2x3x3x3xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<2x3x3x3xf32>, tensor<2x3x3x3xf32>, tensor<1xi8>) -> tensor<2x3x3x3xf32>
  return %sq : tensor<2x3x3x3xf32>
}

func.func @conv_hwcf(%x: tensor<1x7x7x2xf32>, %w: tensor<3x3x2x4xf32>) -> tensor<1x3x3x4xf32> {
  %z = arith.constant dense<0.0> : tensor<1x3x3x4xf32>
  %y = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%x, %w : tensor<1x7x7x2xf32>, tensor<3x3x2x4xf32>) outs(%z : tensor<1x3x3x4xf32>) -> tensor<1x3x3x4xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<1x3x3x4xf32>, tensor<1x3x3x4xf32>, tensor<1xi8>) -> tensor<1x3x3x4xf32>
  return %sq : tensor<1x3x3x4xf32>
}

func.func @depthwise_hwc(%x: tensor<1x6x6x3xf32>, %w: tensor<3x3x3xf32>, %c: tensor<1x4x4x3xf32>) -> tensor<1x4x4x3xf32> {
  %y = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x6x6x3xf32>, tensor<3x3x3xf32>) outs(%c : tensor<1x4x4x3xf32>) -> tensor<1x4x4x3xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<1x4x4x3xf32>, tensor<1x4x4x3xf32>, tensor<1xi8>) -> tensor<1x4x4x3xf32>
  return %sq : tensor<1x4x4x3xf32>
}

// Channel multiplier 2, stride 2.
func.func @depthwise_hwcm(%x: tensor<1x7x7x2xf32>, %w: tensor<3x3x2x2xf32>) -> tensor<1x3x3x2x2xf32> {
  %z = arith.constant dense<0.0> : tensor<1x3x3x2x2xf32>
  %y = linalg.depthwise_conv_2d_nhwc_hwcm {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%x, %w : tensor<1x7x7x2xf32>, tensor<3x3x2x2xf32>) outs(%z : tensor<1x3x3x2x2xf32>) -> tensor<1x3x3x2x2xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<1x3x3x2x2xf32>, tensor<1x3x3x2x2xf32>, tensor<1xi8>) -> tensor<1x3x3x2x2xf32>
  return %sq : tensor<1x3x3x2x2xf32>
}

func.func @sum_pool(%x: tensor<2x5x5x3xf32>, %c: tensor<2x2x2x3xf32>) -> tensor<2x2x2x3xf32> {
  %k = tensor.empty() : tensor<2x2xf32>
  %y = linalg.pooling_nhwc_sum {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%x, %k : tensor<2x5x5x3xf32>, tensor<2x2xf32>) outs(%c : tensor<2x2x2x3xf32>) -> tensor<2x2x2x3xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<2x2x2x3xf32>, tensor<2x2x2x3xf32>, tensor<1xi8>) -> tensor<2x2x2x3xf32>
  return %sq : tensor<2x2x2x3xf32>
}

// Overlapping windows (stride 1 < kernel 3) route to the first maximum.
func.func @max_pool(%x: tensor<1x5x5x2xf32>) -> tensor<1x3x3x2xf32> {
  %ninf = arith.constant dense<-3.4e38> : tensor<1x3x3x2xf32>
  %k = tensor.empty() : tensor<3x3xf32>
  %y = linalg.pooling_nhwc_max {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%x, %k : tensor<1x5x5x2xf32>, tensor<3x3xf32>) outs(%ninf : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<1x3x3x2xf32>, tensor<1x3x3x2xf32>, tensor<1xi8>) -> tensor<1x3x3x2xf32>
  return %sq : tensor<1x3x3x2xf32>
}

// An init that stays the maximum in some windows gets their gradient.
func.func @max_pool_init(%x: tensor<1x4x4x2xf32>, %c: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %k = tensor.empty() : tensor<2x2xf32>
  %y = linalg.pooling_nhwc_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%x, %k : tensor<1x4x4x2xf32>, tensor<2x2xf32>) outs(%c : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>, tensor<1xi8>) -> tensor<1x2x2x2xf32>
  return %sq : tensor<1x2x2x2xf32>
}
