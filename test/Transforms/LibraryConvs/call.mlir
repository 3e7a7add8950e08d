// RUN: dq-opt %s --dq-call-library-convs --split-input-file -verify-diagnostics | FileCheck %s

// A forward convolution on buffers: the weights transposed to
// (ky, kx, ci, co) order, every view cast to a dynamic strided one.
#dy = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1 + d4 * 2, d2 + d5 * 2, d6)>
#ohwi = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d6, d4, d5, d3)>
#dx = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
// CHECK: func.func private @dq_model_conv2d_accumulate_f32(memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, i64, i64, i64, i64) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func @input_grad
// (o, kh, kw, c) is (ci, ky, kx, co) of the correlation.
// CHECK: %[[W:.*]] = memref.transpose %arg1 (d0, d1, d2, d3) -> (d1, d2, d0, d3)
// CHECK: %[[X:.*]] = memref.cast %arg0
// CHECK: %[[K:.*]] = memref.cast %[[W]]
// CHECK: %[[Y:.*]] = memref.cast %arg2
// CHECK: %[[SY:.*]] = arith.constant 1 : i64
// CHECK: %[[SX:.*]] = arith.constant 1 : i64
// CHECK: %[[DY:.*]] = arith.constant 2 : i64
// CHECK: %[[DX:.*]] = arith.constant 2 : i64
// CHECK: call @dq_model_conv2d_accumulate_f32(%[[X]], %[[K]], %[[Y]], %[[SY]], %[[SX]], %[[DY]], %[[DX]])
// CHECK-NOT: linalg.generic
func.func @input_grad(%dy: memref<2x10x10x4xf32>, %w: memref<4x3x3x3xf32>,
                      %out: memref<2x6x6x3xf32>) {
  linalg.generic {indexing_maps = [#dy, #ohwi, #dx],
      iterator_types = ["parallel", "parallel", "parallel", "parallel",
                        "reduction", "reduction", "reduction"],
      library_call = "dq_conv2d_accumulate_f32"}
      ins(%dy, %w : memref<2x10x10x4xf32>, memref<4x3x3x3xf32>)
      outs(%out : memref<2x6x6x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The weight gradient: the output is the weights operand.
#gdy = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d5, d6, d0)>
#gx = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d5 * 2 + d1, d6 * 2 + d2, d3)>
#gw = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @weight_grad
// CHECK: %[[W:.*]] = memref.transpose %arg2 (d0, d1, d2, d3) -> (d1, d2, d3, d0)
// CHECK: %[[X:.*]] = memref.cast %arg1
// CHECK: %[[G:.*]] = memref.cast %arg0
// CHECK: %[[K:.*]] = memref.cast %[[W]]
// CHECK: call @dq_model_conv2d_weight_grad_accumulate_f32(%[[X]], %[[G]], %[[K]],
func.func @weight_grad(%dy: memref<2x4x4x4xf32>, %x: memref<2x9x9x3xf32>,
                       %dw: memref<4x3x3x3xf32>) {
  linalg.generic {indexing_maps = [#gdy, #gx, #gw],
      iterator_types = ["parallel", "parallel", "parallel", "parallel",
                        "reduction", "reduction", "reduction"],
      library_call = "dq_conv2d_weight_grad_accumulate_f32"}
      ins(%dy, %x : memref<2x4x4x4xf32>, memref<2x9x9x3xf32>)
      outs(%dw : memref<4x3x3x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A mark on a generic that is not a convolution (changed after marking).
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @not_a_convolution(%a: memref<2x2x2x2xf32>, %b: memref<2x2x2x2xf32>,
                             %c: memref<2x2x2x2xf32>) {
  // expected-error @+1 {{marked convolution 'dq_conv2d_accumulate_f32' no longer has its form}}
  linalg.generic {indexing_maps = [#id, #id, #id],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"],
      library_call = "dq_conv2d_accumulate_f32"}
      ins(%a, %b : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>)
      outs(%c : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Still on tensors: the pass runs after bufferization.
#xs = affine_map<(n, y, x, co, ky, kx, ci) -> (n, y + ky, x + kx, ci)>
#hwcf = affine_map<(n, y, x, co, ky, kx, ci) -> (ky, kx, ci, co)>
#out = affine_map<(n, y, x, co, ky, kx, ci) -> (n, y, x, co)>
func.func @on_tensors(%x: tensor<2x6x6x3xf32>, %w: tensor<3x3x3x4xf32>,
                      %init: tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32> {
  // expected-error @+1 {{marked convolution is not on buffers: run dq-call-library-convs after bufferization}}
  %r = linalg.generic {indexing_maps = [#xs, #hwcf, #out],
      iterator_types = ["parallel", "parallel", "parallel", "parallel",
                        "reduction", "reduction", "reduction"],
      library_call = "dq_conv2d_accumulate_f32"}
      ins(%x, %w : tensor<2x6x6x3xf32>, tensor<3x3x3x4xf32>)
      outs(%init : tensor<2x4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }  -> tensor<2x4x4x4xf32>
  return %r : tensor<2x4x4x4xf32>
}
