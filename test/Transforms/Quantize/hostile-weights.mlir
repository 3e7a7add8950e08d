// RUN: dq-opt %s --dq-quantize="keep-first-last=false" -split-input-file -verify-diagnostics
// RUN: not dq-opt %s --dq-quantize="keep-first-last=false max-weight-elements=8" -split-input-file 2>&1 | FileCheck %s --check-prefix=LIMIT
// RUN: not dq-opt %s --dq-quantize="max-weight-elements=0" -split-input-file 2>&1 | FileCheck %s --check-prefix=ZERO

// Weights the pass would expand are refused before anything is allocated:
// this 2 kB file declares a 65536x3x3x65536 splat (38 billion values).
func.func @huge(%x: tensor<1x4x4x65536xf32>) -> tensor<1x4x4x65536xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w = "tosa.const"() <{values = dense<0.1> : tensor<65536x3x3x65536xf32>}> : () -> tensor<65536x3x3x65536xf32>
  %b = "tosa.const"() <{values = dense<0.0> : tensor<65536xf32>}> : () -> tensor<65536xf32>
  // expected-error @+1 {{dq-quantize: the weight 'tensor<65536x3x3x65536xf32>' has 38654705664 elements, more than max-weight-elements=268435456 (raise the option, or keep the layer in full precision with keep-fp)}}
  %y = tosa.conv2d %x, %w, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x65536xf32>, tensor<65536x3x3x65536xf32>, tensor<65536xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x65536xf32>
  return %y : tensor<1x4x4x65536xf32>
}

// -----

// NaN and infinite weights would give their channels a NaN basis.
func.func @non_finite(%x: tensor<2x4xf32>, %init: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<[[0.1, 0x7FC00000, 0.3], [0.2, 0.1, 0x7F800000], [0.1, 0.2, 0.3], [0xFF800000, 0.5, 0.1]]> : tensor<4x3xf32>
  // expected-error @+1 {{dq-quantize: the constant weight has 3 non-finite values (NaN or infinity) among 12}}
  %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x3xf32>) outs(%init : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @non_finite_splat(%x: tensor<2x4xf32>, %init: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<0x7FC00000> : tensor<4x3xf32>
  // expected-error @+1 {{dq-quantize: the constant weight has 12 non-finite values (NaN or infinity) among 12}}
  %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x3xf32>) outs(%init : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// LIMIT: the weight 'tensor<65536x3x3x65536xf32>' has 38654705664 elements, more than max-weight-elements=8
// LIMIT: the weight 'tensor<4x3xf32>' has 12 elements, more than max-weight-elements=8
// ZERO: error: dq-quantize: option max-weight-elements must be in [1, 9223372036854775807], got 0
// ZERO-NOT: see current operation
