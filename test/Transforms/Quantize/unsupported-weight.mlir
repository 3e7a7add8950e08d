// RUN: dq-opt %s --dq-quantize="keep-first-last=false" -split-input-file -verify-diagnostics

// A weight computed at run time (not a constant, not an argument) cannot
// become weight state: the error names the producer and the way out.
func.func @computed(%x: tensor<1x1x8xf32>, %w: tensor<1x8x4xf32>) -> tensor<1x1x4xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w2 = tosa.abs %w : (tensor<1x8x4xf32>) -> tensor<1x8x4xf32>
  // expected-error @+1 {{dq-quantize needs a constant or function-argument weight; this one is computed by 'tosa.abs' (fold it first, e.g. --canonicalize, or keep the layer in full precision with keep-fp)}}
  %y = tosa.matmul %x, %w2, %zp, %zp : (tensor<1x1x8xf32>, tensor<1x8x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x4xf32>
  return %y : tensor<1x1x4xf32>
}

// -----

// Only f32 weights are quantized.
func.func @f16(%x: tensor<2x8xf16>, %init: tensor<2x3xf16>) -> tensor<2x3xf16> {
  %w = arith.constant dense<0.1> : tensor<8x3xf16>
  // expected-error @+1 {{dq-quantize needs a static f32 weight, got 'tensor<8x3xf16>'}}
  %y = linalg.matmul ins(%x, %w : tensor<2x8xf16>, tensor<8x3xf16>) outs(%init : tensor<2x3xf16>) -> tensor<2x3xf16>
  return %y : tensor<2x3xf16>
}
