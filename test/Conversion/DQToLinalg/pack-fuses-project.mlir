// RUN: dq-opt %s --convert-dq-to-linalg | FileCheck %s
// RUN: dq-opt %s --convert-dq-to-linalg="bitserial-rows=false" | FileCheck %s --check-prefix=WHOLE

// An inference model's activation codes (dq.project, nearest and unipolar
// on a constant basis: a step function) packed by the CPU row packing: the
// codes are computed from the floats in the packing loop, by the compares
// of the step function on vectors, so no tensor of i8 codes is written and
// read back. The padded zeros of the window take code 0 (the basis's first
// step is above 0).
// CHECK-LABEL: func.func @fused
// CHECK-NOT: dq.project
// CHECK-NOT: -> tensor<1x4x6x3xi8>
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 0] high[0, 0, 1, 0]
// CHECK: } : tensor<1x4x6x3xf32> to tensor<1x4x8x3xf32>
// CHECK: scf.forall
// CHECK: vector.transfer_read {{.*}} : tensor<1x4x8x3xf32>, vector<3xf32>
// CHECK: arith.cmpf oge, {{.*}} : vector<3xf32>
// CHECK: arith.select {{.*}} : vector<3xi1>, vector<3xi8>
// The GPU form packs a tensor of codes (the generics map onto threads).
// WHOLE-LABEL: func.func @fused
// WHOLE: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x6x3xi8>)
func.func @fused(%x: tensor<1x4x6x3xf32>) -> tensor<1x4x6x2x1xi64> {
  %basis = arith.constant dense<[0.25, 0.5]> : tensor<2xf32>
  %codes = dq.project %x, %basis axis = 3 unipolar nearest : (tensor<1x4x6x3xf32>, tensor<2xf32>) -> tensor<1x4x6x3xi8>
  %p = dq.pack_bits %codes bits = 2 window = [3, 1, 1, 1] : (tensor<1x4x6x3xi8>) -> tensor<1x4x6x2x1xi64>
  return %p : tensor<1x4x6x2x1xi64>
}

// A negative basis puts a level below 0: a padded zero would not take code
// 0, so the codes are computed first and packed as they are.
// CHECK-LABEL: func.func @negative_level
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x6x3xi8>)
// CHECK: vector.transfer_read {{.*}} : tensor<1x4x8x3xi8>, vector<3xi8>
func.func @negative_level(%x: tensor<1x4x6x3xf32>) -> tensor<1x4x6x2x1xi64> {
  %basis = arith.constant dense<[-0.25, 0.5]> : tensor<2xf32>
  %codes = dq.project %x, %basis axis = 3 unipolar nearest : (tensor<1x4x6x3xf32>, tensor<2xf32>) -> tensor<1x4x6x3xi8>
  %p = dq.pack_bits %codes bits = 2 window = [3, 1, 1, 1] : (tensor<1x4x6x3xi8>) -> tensor<1x4x6x2x1xi64>
  return %p : tensor<1x4x6x2x1xi64>
}

// Codes read by something else too are still written as a tensor for it
// (the packing computes its own from the floats).
// CHECK-LABEL: func.func @shared_codes
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x6x3xi8>)
func.func @shared_codes(%x: tensor<1x4x6x3xf32>) -> (tensor<1x4x6x2x1xi64>, tensor<1x4x6x3xi8>) {
  %basis = arith.constant dense<[0.25, 0.5]> : tensor<2xf32>
  %codes = dq.project %x, %basis axis = 3 unipolar nearest : (tensor<1x4x6x3xf32>, tensor<2xf32>) -> tensor<1x4x6x3xi8>
  %p = dq.pack_bits %codes bits = 2 window = [3, 1, 1, 1] : (tensor<1x4x6x3xi8>) -> tensor<1x4x6x2x1xi64>
  return %p, %codes : tensor<1x4x6x2x1xi64>, tensor<1x4x6x3xi8>
}
