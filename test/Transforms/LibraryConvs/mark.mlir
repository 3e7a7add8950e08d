// RUN: dq-opt %s --pass-pipeline="builtin.module(func.func(dq-mark-library-convs))" | FileCheck %s

// The forward convolution as linalg-generalize-named-ops leaves it (HWCF
// weights, stride 2 over a padded input).
#xs2 = affine_map<(n, y, x, co, ky, kx, ci) -> (n, y * 2 + ky, x * 2 + kx, ci)>
#hwcf = affine_map<(n, y, x, co, ky, kx, ci) -> (ky, kx, ci, co)>
#out = affine_map<(n, y, x, co, ky, kx, ci) -> (n, y, x, co)>
// CHECK-LABEL: func @forward
// CHECK: linalg.generic {{.*}}library_call = "dq_conv2d_accumulate_f32"
func.func @forward(%x: tensor<2x9x9x3xf32>, %w: tensor<3x3x3x4xf32>,
                   %init: tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32> {
  %r = linalg.generic {indexing_maps = [#xs2, #hwcf, #out],
      iterator_types = ["parallel", "parallel", "parallel", "parallel",
                        "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<2x9x9x3xf32>, tensor<3x3x3x4xf32>)
      outs(%init : tensor<2x4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x4x4x4xf32>
  return %r : tensor<2x4x4x4xf32>
}

// The input gradient of lib/Training/TosaGradients.cpp: the spread output
// gradient correlated with the flipped kernel stored OHWI (dims
// n h w c kh kw o), dilated by 2.
#dy = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1 + d4 * 2, d2 + d5 * 2, d6)>
#ohwi = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d6, d4, d5, d3)>
#dx = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @input_grad
// CHECK: linalg.generic {{.*}}library_call = "dq_conv2d_accumulate_f32"
func.func @input_grad(%dy: tensor<2x10x10x4xf32>, %w: tensor<4x3x3x3xf32>,
                      %init: tensor<2x6x6x3xf32>) -> tensor<2x6x6x3xf32> {
  %r = linalg.generic {indexing_maps = [#dy, #ohwi, #dx],
      iterator_types = ["parallel", "parallel", "parallel", "parallel",
                        "reduction", "reduction", "reduction"]}
      ins(%dy, %w : tensor<2x10x10x4xf32>, tensor<4x3x3x3xf32>)
      outs(%init : tensor<2x6x6x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %b, %a : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<2x6x6x3xf32>
  return %r : tensor<2x6x6x3xf32>
}

// The weight gradient (dims o kh kw c n oh ow), output OHWI.
#gdy = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d5, d6, d0)>
#gx = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d5 * 2 + d1, d6 * 2 + d2, d3)>
#gw = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @weight_grad
// CHECK: linalg.generic {{.*}}library_call = "dq_conv2d_weight_grad_accumulate_f32"
func.func @weight_grad(%dy: tensor<2x4x4x4xf32>, %x: tensor<2x9x9x3xf32>,
                       %init: tensor<4x3x3x3xf32>) -> tensor<4x3x3x3xf32> {
  %r = linalg.generic {indexing_maps = [#gdy, #gx, #gw],
      iterator_types = ["parallel", "parallel", "parallel", "parallel",
                        "reduction", "reduction", "reduction"]}
      ins(%dy, %x : tensor<2x4x4x4xf32>, tensor<2x9x9x3xf32>)
      outs(%init : tensor<4x3x3x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x3x3x3xf32>
  return %r : tensor<4x3x3x3xf32>
}

// Not a plain multiply-accumulate (something fused in): dq's kernels.
// CHECK-LABEL: func @fused_body
// CHECK-NOT: library_call
func.func @fused_body(%x: tensor<2x9x9x3xf32>, %w: tensor<3x3x3x4xf32>,
                      %init: tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32> {
  %r = linalg.generic {indexing_maps = [#xs2, #hwcf, #out],
      iterator_types = ["parallel", "parallel", "parallel", "parallel",
                        "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<2x9x9x3xf32>, tensor<3x3x3x4xf32>)
      outs(%init : tensor<2x4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.maximumf %a, %b : f32
    %p = arith.mulf %m, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x4x4x4xf32>
  return %r : tensor<2x4x4x4xf32>
}

// A one-channel input (unit dims are folded away later): dq's kernels.
// CHECK-LABEL: func @unit_channel
// CHECK-NOT: library_call
func.func @unit_channel(%x: tensor<2x9x9x1xf32>, %w: tensor<3x3x1x4xf32>,
                        %init: tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32> {
  %r = linalg.generic {indexing_maps = [#xs2, #hwcf, #out],
      iterator_types = ["parallel", "parallel", "parallel", "parallel",
                        "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<2x9x9x1xf32>, tensor<3x3x1x4xf32>)
      outs(%init : tensor<2x4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x4x4x4xf32>
  return %r : tensor<2x4x4x4xf32>
}

// The kernel loops not reductions: not a convolution.
// CHECK-LABEL: func @wrong_iterators
// CHECK-NOT: library_call
func.func @wrong_iterators(%x: tensor<2x9x9x3xf32>, %w: tensor<3x3x3x4xf32>,
                           %init: tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32> {
  %r = linalg.generic {indexing_maps = [#xs2, #hwcf, #out],
      iterator_types = ["parallel", "parallel", "parallel", "parallel",
                        "parallel", "reduction", "reduction"]}
      ins(%x, %w : tensor<2x9x9x3xf32>, tensor<3x3x3x4xf32>)
      outs(%init : tensor<2x4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x4x4x4xf32>
  return %r : tensor<2x4x4x4xf32>
}
