// RUN: dq-opt %s --dq-build-training-graph -verify-diagnostics

// State collection uses the one table of layer ops (dq/Contract/Layers.h)
// that --dq-quantize uses: a linalg layer's constant weight is trained like
// a TOSA layer's, so the missing gradient rule of linalg named ops is an
// error naming the op instead of a training step that trains nothing.
func.func @model(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<0.1> : tensor<4x3xf32>
  %z = arith.constant dense<0.0> : tensor<2x3xf32>
  // expected-error @+1 {{no gradient rule for 'linalg.matmul' on the path from the trained values to the loss}}
  %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x3xf32>) outs(%z : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
