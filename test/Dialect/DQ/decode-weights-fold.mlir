// RUN: dq-opt %s -canonicalize | FileCheck %s

// Decoding constant codes folds to the levels sum_k (2 bit_k - 1) v[o, k].
// Channel 0: v = (0.5, 2): codes 0..3 -> -2.5 -1.5 1.5 2.5.
// Channel 1: v = (0.25, 1): codes 3, 0, 1, 2 -> 1.25 -1.25 -0.75 0.75.
// CHECK-LABEL: func.func @fold
// CHECK: %[[C:.*]] = arith.constant dense<{{\[}}[-2.500000e+00, -1.500000e+00, 1.500000e+00, 2.500000e+00], [1.250000e+00, -1.250000e+00, -7.500000e-01, 7.500000e-01]]> : tensor<2x4xf32>
// CHECK-NOT: dq.decode_weights
// CHECK: return %[[C]]
func.func @fold() -> tensor<2x4xf32> {
  %c = arith.constant dense<[[0, 1, 2, 3], [3, 0, 1, 2]]> : tensor<2x4xi8>
  %v = arith.constant dense<[[0.5, 2.0], [0.25, 1.0]]> : tensor<2x2xf32>
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<2x4xi8>, tensor<2x2xf32>) -> tensor<2x4xf32>
  return %w : tensor<2x4xf32>
}

// The channel axis is honoured: here channels run along dimension 1.
// CHECK-LABEL: func.func @fold_axis1
// CHECK: arith.constant dense<{{\[}}[-2.500000e+00, -1.250000e+00], [2.500000e+00, 1.250000e+00]]> : tensor<2x2xf32>
func.func @fold_axis1() -> tensor<2x2xf32> {
  %c = arith.constant dense<[[0, 0], [3, 3]]> : tensor<2x2xi8>
  %v = arith.constant dense<[[0.5, 2.0], [0.25, 1.0]]> : tensor<2x2xf32>
  %w = dq.decode_weights %c, %v axis = 1 : (tensor<2x2xi8>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %w : tensor<2x2xf32>
}

// 8-bit codes are read as unsigned: -1 is code 255 (all bits set).
// CHECK-LABEL: func.func @unsigned_codes
// CHECK: arith.constant dense<2.550000e+02> : tensor<1x1xf32>
func.func @unsigned_codes() -> tensor<1x1xf32> {
  %c = arith.constant dense<-1> : tensor<1x1xi8>
  %v = arith.constant dense<[[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]]> : tensor<1x8xf32>
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<1x1xi8>, tensor<1x8xf32>) -> tensor<1x1xf32>
  return %w : tensor<1x1xf32>
}

// Non-constant operands do not fold.
// CHECK-LABEL: func.func @no_fold
// CHECK: dq.decode_weights
func.func @no_fold(%c: tensor<2x4xi8>) -> tensor<2x4xf32> {
  %v = arith.constant dense<[[0.5, 2.0], [0.25, 1.0]]> : tensor<2x2xf32>
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<2x4xi8>, tensor<2x2xf32>) -> tensor<2x4xf32>
  return %w : tensor<2x4xf32>
}
