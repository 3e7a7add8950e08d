// The compiled lowering of every dq op computes what its folder computes
// (both implement docs/Numerics.md): run once with the ops lowered by
// convert-dq-to-linalg, once with them folded to constants, and compare.
// Hand-computed values are checked too.
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

func.func @ops(%codes: tensor<2x6xi8>, %basis: tensor<2x2xf32>, %x: tensor<2x6xf32>, %u: tensor<2xf32>, %step: i64, %omega: tensor<6xf32>)
    -> (tensor<2x6xf32>, tensor<2x6xf32>, tensor<2x6xi8>, tensor<2x6xi8>, tensor<2x2xf32>, tensor<2xf32>) {
  %0 = dq.decode_weights %codes, %basis axis = 0 : (tensor<2x6xi8>, tensor<2x2xf32>) -> tensor<2x6xf32>
  %1 = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 1 : (tensor<2x6xf32>, tensor<2xf32>) -> tensor<2x6xf32>
  %2 = dq.project %x, %basis axis = 0 bipolar nearest : (tensor<2x6xf32>, tensor<2x2xf32>) -> tensor<2x6xi8>
  %3 = dq.project %x, %basis counter %step axis = 0 bipolar stochastic seed = 11 : (tensor<2x6xf32>, tensor<2x2xf32>, i64) -> tensor<2x6xi8>
  %4 = dq.fit_levels %2, %x, %basis axis = 0 bipolar ridge = 1.0e-4 : (tensor<2x6xi8>, tensor<2x6xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %5 = dq.fit_levels %codes, %x, %u weights %omega axis = 1 unipolar ridge = 1.0e-4 : (tensor<2x6xi8>, tensor<2x6xf32>, tensor<2xf32>, tensor<6xf32>) -> tensor<2xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<2x6xf32>, tensor<2x6xf32>, tensor<2x6xi8>, tensor<2x6xi8>, tensor<2x2xf32>, tensor<2xf32>
}

func.func @main() {
  %codes = arith.constant dense<[[0, 1, 2, 3, 1, 2], [3, 2, 1, 0, 0, 3]]> : tensor<2x6xi8>
  %basis = arith.constant dense<[[0.5, 2.0], [0.25, 1.0]]> : tensor<2x2xf32>
  %x = arith.constant dense<[[-3.0, -2.0, 0.0, 2.0, 1.9, 0.37], [0.5, 1.0e10, -1.0e10, 0.125, -0.6, 0.9]]> : tensor<2x6xf32>
  %u = arith.constant dense<[0.5, 1.0]> : tensor<2xf32>
  %step = arith.constant 3 : i64
  %omega = arith.constant dense<[1.0, 0.5, 2.0, 1.0, 0.25, 1.0]> : tensor<6xf32>
  %r:6 = call @ops(%codes, %basis, %x, %u, %step, %omega) : (tensor<2x6xi8>, tensor<2x2xf32>, tensor<2x6xf32>, tensor<2xf32>, i64, tensor<6xf32>)
    -> (tensor<2x6xf32>, tensor<2x6xf32>, tensor<2x6xi8>, tensor<2x6xi8>, tensor<2x2xf32>, tensor<2xf32>)
  %f0 = tensor.collapse_shape %r#0 [[0, 1]] : tensor<2x6xf32> into tensor<12xf32>
  %f1 = tensor.collapse_shape %r#1 [[0, 1]] : tensor<2x6xf32> into tensor<12xf32>
  %f2 = tensor.collapse_shape %r#2 [[0, 1]] : tensor<2x6xi8> into tensor<12xi8>
  %f3 = tensor.collapse_shape %r#3 [[0, 1]] : tensor<2x6xi8> into tensor<12xi8>
  %f4 = tensor.collapse_shape %r#4 [[0, 1]] : tensor<2x2xf32> into tensor<4xf32>
  %d0 = tensor.cast %f0 : tensor<12xf32> to tensor<?xf32>
  %d1 = tensor.cast %f1 : tensor<12xf32> to tensor<?xf32>
  %d2 = tensor.cast %f2 : tensor<12xi8> to tensor<?xi8>
  %d3 = tensor.cast %f3 : tensor<12xi8> to tensor<?xi8>
  %d4 = tensor.cast %f4 : tensor<4xf32> to tensor<?xf32>
  %d5 = tensor.cast %r#5 : tensor<2xf32> to tensor<?xf32>
  call @print_f32(%d0) : (tensor<?xf32>) -> ()
  call @print_f32(%d1) : (tensor<?xf32>) -> ()
  call @print_codes(%d2) : (tensor<?xi8>) -> ()
  call @print_codes(%d3) : (tensor<?xi8>) -> ()
  call @print_f32(%d4) : (tensor<?xf32>) -> ()
  call @print_f32(%d5) : (tensor<?xf32>) -> ()
  return
}

// decode: channel 0 levels -2.5 -1.5 1.5 2.5, channel 1 -1.25 -0.75 0.75 1.25
// CHECK: [-2.5,  -1.5,  1.5,  2.5,  -1.5,  1.5,  1.25,  0.75,  -0.75,  -1.25,  -1.25,  1.25]
// quantize_act, u = (0.5, 1): levels 0 0.5 1 1.5; ties go up, 1e10 -> 1.5.
// CHECK: [0,  0,  0,  1.5,  1.5,  0.5,  0.5,  1.5,  0,  0,  0,  1]
// project nearest: ties up; +-1e10 take the extremes.
// CHECK: [0,  1,  2,  3,  2,  2,  2,  3,  0,  2,  1,  2]
// CHECK: [
// CHECK: [
// CHECK: [
