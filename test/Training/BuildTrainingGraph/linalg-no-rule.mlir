// RUN: dq-opt %s --dq-build-training-graph -verify-diagnostics

// An op without a gradient rule on the path from a linalg layer's trained
// weight to the loss (here an elementwise linalg.generic, which has none
// yet) is an error naming it at its location, not a step that silently
// trains nothing.
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @model(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<0.1> : tensor<4x3xf32>
  %z = arith.constant dense<0.0> : tensor<2x3xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x3xf32>) outs(%z : tensor<2x3xf32>) -> tensor<2x3xf32>
  %e = tensor.empty() : tensor<2x3xf32>
  // expected-error @+1 {{no gradient rule for 'linalg.generic' on the path from the trained values to the loss}}
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}
