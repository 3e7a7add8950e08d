// RUN: dq-opt %s --canonicalize | FileCheck %s

// A 2 kB splat can stand for 2^35 elements: folding it would materialize
// them (found by fuzzing), so constants above 2^28 elements are not folded.
// CHECK-LABEL: func.func @huge
// CHECK: dq.decode_weights
func.func @huge() -> tensor<65536x3x3x65536xf32> {
  %c = arith.constant dense<1> : tensor<65536x3x3x65536xi8>
  %b = arith.constant dense<1.0> : tensor<65536x2xf32>
  %w = dq.decode_weights %c, %b axis = 0 : (tensor<65536x3x3x65536xi8>, tensor<65536x2xf32>) -> tensor<65536x3x3x65536xf32>
  return %w : tensor<65536x3x3x65536xf32>
}

// Small constants still fold.
// CHECK-LABEL: func.func @small
// CHECK-NOT: dq.decode_weights
// CHECK: arith.constant dense<3.000000e+00> : tensor<2x2xf32>
func.func @small() -> tensor<2x2xf32> {
  %c = arith.constant dense<3> : tensor<2x2xi8>
  %b = arith.constant dense<[[1.0, 2.0], [1.0, 2.0]]> : tensor<2x2xf32>
  %w = dq.decode_weights %c, %b axis = 0 : (tensor<2x2xi8>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %w : tensor<2x2xf32>
}
