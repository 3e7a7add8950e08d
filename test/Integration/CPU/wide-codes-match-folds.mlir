// Codes of 5 to 8 bits (issue 21: advertised widths): the lowering of the
// dq ops computes what their folders compute (docs/Numerics.md), as in
// ops-match-folds.mlir. Above 16 codes the nearest scan is a loop; 8-bit
// codes use the whole byte (200 is stored as the i8 -56).
//
// REQUIRES: mlir-runner
// RUN: dq-opt %s --dq-lower-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs > %t.lowered
// RUN: dq-opt %s --inline --canonicalize | FileCheck %s --check-prefix=FOLDED
// RUN: dq-opt %s --inline --canonicalize --dq-lower-to-llvm | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs > %t.folded
// RUN: grep -v base@ %t.lowered > %t.lowered.data
// RUN: grep -v base@ %t.folded > %t.folded.data
// RUN: diff %t.lowered.data %t.folded.data
// RUN: FileCheck %s --input-file=%t.lowered

// FOLDED-LABEL: func.func @main
// FOLDED-NOT: dq.

func.func private @printMemrefF32(memref<*xf32>)
func.func private @printMemrefI32(memref<*xi32>)

func.func @print_f32(%t: tensor<?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?xf32> to memref<?xf32>
  %u = memref.cast %m : memref<?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @print_codes(%t: tensor<?xi8>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %t, %c0 : tensor<?xi8>
  %e = tensor.empty(%n) : tensor<?xi32>
  %w = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%t : tensor<?xi8>) outs(%e : tensor<?xi32>) {
  ^bb0(%in: i8, %out: i32):
    %x = arith.extui %in : i8 to i32
    linalg.yield %x : i32
  } -> tensor<?xi32>
  %m = bufferization.to_buffer %w : tensor<?xi32> to memref<?xi32>
  %u = memref.cast %m : memref<?xi32> to memref<*xi32>
  call @printMemrefI32(%u) : (memref<*xi32>) -> ()
  return
}

func.func @ops(%codes8: tensor<1x4xi8>, %basis8: tensor<1x8xf32>, %x: tensor<2x6xf32>, %basis5: tensor<2x5xf32>)
    -> (tensor<1x4xf32>, tensor<2x6xi8>, tensor<2x5xf32>) {
  %0 = dq.decode_weights %codes8, %basis8 axis = 0 : (tensor<1x4xi8>, tensor<1x8xf32>) -> tensor<1x4xf32>
  %1 = dq.project %x, %basis5 axis = 0 bipolar nearest : (tensor<2x6xf32>, tensor<2x5xf32>) -> tensor<2x6xi8>
  %2 = dq.fit_levels %1, %x, %basis5 axis = 0 bipolar ridge = 1.0e-4 : (tensor<2x6xi8>, tensor<2x6xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  return %0, %1, %2 : tensor<1x4xf32>, tensor<2x6xi8>, tensor<2x5xf32>
}

// Binary search in the sorted levels (above 16 codes): ties, duplicate
// levels, clamping and NaN.
func.func @search(%xa: tensor<8xf32>, %ua: tensor<8xf32>, %xb: tensor<6xf32>, %ub: tensor<6xf32>,
                  %xp: tensor<1x8xf32>, %bp: tensor<1x6xf32>)
    -> (tensor<8xf32>, tensor<6xf32>, tensor<1x8xi8>) {
  %a = dq.quantize_act %xa, %ua config = #dq.act_quant<bits = 8, scheme = dq> axis = 0 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %b = dq.quantize_act %xb, %ub config = #dq.act_quant<bits = 6, scheme = dq> axis = 0 : (tensor<6xf32>, tensor<6xf32>) -> tensor<6xf32>
  %p = dq.project %xp, %bp axis = 0 bipolar nearest : (tensor<1x8xf32>, tensor<1x6xf32>) -> tensor<1x8xi8>
  return %a, %b, %p : tensor<8xf32>, tensor<6xf32>, tensor<1x8xi8>
}

// A unipolar fit over 64 codes (the activations' level fit at 6 bits): its
// histograms are scattered, one pass over the elements.
func.func @fit_unipolar(%x: tensor<2x6xf32>, %u: tensor<6xf32>) -> tensor<6xf32> {
  %c = dq.project %x, %u axis = 1 unipolar nearest : (tensor<2x6xf32>, tensor<6xf32>) -> tensor<2x6xi8>
  %f = dq.fit_levels %c, %x, %u axis = 1 unipolar ridge = 1.0e-3 : (tensor<2x6xi8>, tensor<2x6xf32>, tensor<6xf32>) -> tensor<6xf32>
  return %f : tensor<6xf32>
}

func.func @main() {
  // 0, 255, 200 (bits 3, 6, 7), 1 (bit 0).
  %codes8 = arith.constant dense<[[0, -1, -56, 1]]> : tensor<1x4xi8>
  %basis8 = arith.constant dense<[[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]]> : tensor<1x8xf32>
  %basis5 = arith.constant dense<[[0.5, 1.0, 2.0, 4.0, 8.0], [0.25, 0.5, 1.0, 2.0, 4.0]]> : tensor<2x5xf32>
  %x = arith.constant dense<[[-20.0, -3.2, 0.1, 2.6, 15.5, 1.0e10], [0.3, -7.0, 7.75, -0.1, 3.3, -1.0e10]]> : tensor<2x6xf32>
  %r:3 = call @ops(%codes8, %basis8, %x, %basis5) : (tensor<1x4xi8>, tensor<1x8xf32>, tensor<2x6xf32>, tensor<2x5xf32>)
    -> (tensor<1x4xf32>, tensor<2x6xi8>, tensor<2x5xf32>)
  %f0 = tensor.collapse_shape %r#0 [[0, 1]] : tensor<1x4xf32> into tensor<4xf32>
  %f1 = tensor.collapse_shape %r#1 [[0, 1]] : tensor<2x6xi8> into tensor<12xi8>
  %f2 = tensor.collapse_shape %r#2 [[0, 1]] : tensor<2x5xf32> into tensor<10xf32>
  %d0 = tensor.cast %f0 : tensor<4xf32> to tensor<?xf32>
  %d1 = tensor.cast %f1 : tensor<12xi8> to tensor<?xi8>
  %d2 = tensor.cast %f2 : tensor<10xf32> to tensor<?xf32>
  call @print_f32(%d0) : (tensor<?xf32>) -> ()
  call @print_codes(%d1) : (tensor<?xi8>) -> ()
  call @print_f32(%d2) : (tensor<?xf32>) -> ()

  %xa = arith.constant dense<[-1.0, 0.125, 0.1, 10.375, 63.9, 1.0e10, 0x7FC00000, 7.3]> : tensor<8xf32>
  %ua = arith.constant dense<[0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]> : tensor<8xf32>
  %xb = arith.constant dense<[2.5, 5.5, 12.2, -3.0, 0.5, 7.0001]> : tensor<6xf32>
  %ub = arith.constant dense<[1.0, 1.0, 2.0, 0.0, 4.0, 4.0]> : tensor<6xf32>
  %xp = arith.constant dense<[[0.0, 0.5, 0.25, 7.0, -7.0, 0x7FC00000, 3.9, -0.75]]> : tensor<1x8xf32>
  %bp = arith.constant dense<[[1.0, 1.0, 2.0, 2.0, 0.5, 0.5]]> : tensor<1x6xf32>
  %s:3 = call @search(%xa, %ua, %xb, %ub, %xp, %bp) : (tensor<8xf32>, tensor<8xf32>, tensor<6xf32>, tensor<6xf32>, tensor<1x8xf32>, tensor<1x6xf32>)
    -> (tensor<8xf32>, tensor<6xf32>, tensor<1x8xi8>)
  %sa = tensor.cast %s#0 : tensor<8xf32> to tensor<?xf32>
  %sb = tensor.cast %s#1 : tensor<6xf32> to tensor<?xf32>
  %fp = tensor.collapse_shape %s#2 [[0, 1]] : tensor<1x8xi8> into tensor<8xi8>
  %sp = tensor.cast %fp : tensor<8xi8> to tensor<?xi8>
  call @print_f32(%sa) : (tensor<?xf32>) -> ()
  call @print_f32(%sb) : (tensor<?xf32>) -> ()
  call @print_codes(%sp) : (tensor<?xi8>) -> ()

  %xu = arith.constant dense<[[0.3, 2.0, 7.7, 12.1, 0.0, 5.5], [1.1, 3.9, 9.0, 0.6, 14.0, 6.2]]> : tensor<2x6xf32>
  %uu = arith.constant dense<[0.5, 1.0, 2.0, 2.5, 4.0, 5.0]> : tensor<6xf32>
  %fu = call @fit_unipolar(%xu, %uu) : (tensor<2x6xf32>, tensor<6xf32>) -> tensor<6xf32>
  %du = tensor.cast %fu : tensor<6xf32> to tensor<?xf32>
  call @print_f32(%du) : (tensor<?xf32>) -> ()
  return
}

// decode, basis 1..128: code 0 -> -255, 255 -> 255, 200 -> 200 - 55 = 145,
// 1 -> 1 - 254 = -253 (codes are unsigned bytes).
// CHECK: [-255,  255,  145,  -253]
// project nearest over 32 levels (channel 0: odd multiples of 0.5 up to
// +-15.5): -20 and +-1e10 clamp to the extremes, 0.1 -> 0.5 (code 16),
// -3.2 -> -3.5 (code 12).
// CHECK: [0,  12,  16,  18,  31,  31,  16,  2,  31,  15,  22,  0]
// CHECK: [
// The search cases, expected from a brute-force scan in numpy (float32
// distances; a tie takes the larger level, equal levels the lowest code):
// 256 levels 0, 0.25, ..., 63.75 (0.125 and 10.375 are exact ties).
// CHECK: [0,  0.25,  0,  10.5,  63.75,  63.75,  nan,  7.25]
// 64 levels with duplicates (basis 1, 1, 2, 0, 4, 4; 2.5 and 0.5 ties).
// CHECK: [3,  6,  12,  0,  1,  7]
// Bipolar 64 codes on 13 integer levels -6..6 (most repeated): the lowest
// code of each; NaN gives code 0.
// CHECK: [21,  7,  21,  63,  0,  0,  29,  5]
// The unipolar 6-bit fit (lowered: scattered histograms; folded: the
// numerics library), compared by the diff above.
// CHECK: [
