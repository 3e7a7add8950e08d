// RUN: dq-opt %s --split-input-file --dq-fuse-elementwise | FileCheck %s
// RUN: dq-opt %s --split-input-file --dq-fuse-elementwise="max-recomputed-ops=0" | FileCheck %s --check-prefix=ZERO
// RUN: dq-opt %s --split-input-file --dq-fuse-elementwise="max-shared-ops=0" | FileCheck %s --check-prefix=SHARED

// A table lookup (the decode of weight codes) feeding a contraction that
// reads each weight once per row of the input stays unfused: fused, it
// would run once per multiply-add.

#id = affine_map<(d0, d1) -> (d0, d1)>
#lhs = affine_map<(m, n, k) -> (m, k)>
#rhs = affine_map<(m, n, k) -> (k, n)>
#out = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @lookup_into_contraction
// CHECK: %[[W:.*]] = linalg.generic
// CHECK: tensor.extract
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[W]] :
// CHECK-NOT: tensor.extract
// CHECK: return
func.func @lookup_into_contraction(%x: tensor<8x16xf32>, %codes: tensor<16x4xi8>,
                                   %table: tensor<4xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<16x4xf32>
  %w = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%codes : tensor<16x4xi8>) outs(%e : tensor<16x4xf32>) {
  ^bb0(%c: i8, %o: f32):
    %i = arith.index_castui %c : i8 to index
    %v = tensor.extract %table[%i] : tensor<4xf32>
    linalg.yield %v : f32
  } -> tensor<16x4xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<8x4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e2 : tensor<8x4xf32>) -> tensor<8x4xf32>
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<8x16xf32>, tensor<16x4xf32>) outs(%acc : tensor<8x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// The same lookup feeding an elementwise consumer (one read per element)
// fuses.

#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @lookup_into_elementwise
// CHECK: linalg.generic
// CHECK: tensor.extract
// CHECK: arith.mulf
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @lookup_into_elementwise(%x: tensor<16x4xf32>, %codes: tensor<16x4xi8>,
                                   %table: tensor<4xf32>) -> tensor<16x4xf32> {
  %e = tensor.empty() : tensor<16x4xf32>
  %w = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%codes : tensor<16x4xi8>) outs(%e : tensor<16x4xf32>) {
  ^bb0(%c: i8, %o: f32):
    %i = arith.index_castui %c : i8 to index
    %v = tensor.extract %table[%i] : tensor<4xf32>
    linalg.yield %v : f32
  } -> tensor<16x4xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %w : tensor<16x4xf32>, tensor<16x4xf32>) outs(%e : tensor<16x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<16x4xf32>
  return %y : tensor<16x4xf32>
}

// -----

// A cheap producer (a ReLU: one op) fuses into the contraction; with
// max-recomputed-ops=0 it does not.

#id = affine_map<(d0, d1) -> (d0, d1)>
#lhs = affine_map<(m, n, k) -> (m, k)>
#rhs = affine_map<(m, n, k) -> (k, n)>
#out = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @cheap_into_contraction
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK-NOT: linalg.generic
// CHECK: return
// ZERO-LABEL: func.func @cheap_into_contraction
// ZERO: %[[R:.*]] = linalg.generic
// ZERO: arith.maximumf
// ZERO: linalg.generic {{.*}} ins(%[[R]], %{{.*}} :
func.func @cheap_into_contraction(%x: tensor<8x16xf32>, %w: tensor<16x4xf32>) -> tensor<8x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<8x16xf32>
  %e2 = tensor.empty() : tensor<8x4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e2 : tensor<8x4xf32>) -> tensor<8x4xf32>
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%r, %w : tensor<8x16xf32>, tensor<16x4xf32>) outs(%acc : tensor<8x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// A cheap elementwise producer read once per element by two consumers (an
// elementwise op and a reduction, as a batch norm's normalized values are
// by its gradient) is copied into both and fused there: its tensor is not
// written. With max-shared-ops=0 it stays shared.
// CHECK-LABEL: func.func @shared_cheap
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
// SHARED-LABEL: func.func @shared_cheap
// SHARED-COUNT-3: linalg.generic
func.func @shared_cheap(%x: tensor<8x16xf32>, %dy: tensor<8x16xf32>, %m: tensor<16xf32>) -> (tensor<8x16xf32>, tensor<16xf32>) {
  %e = tensor.empty() : tensor<8x16xf32>
  %xhat = linalg.generic {indexing_maps = [affine_map<(i, c) -> (i, c)>, affine_map<(i, c) -> (c)>, affine_map<(i, c) -> (i, c)>],
                          iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<8x16xf32>, tensor<16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8x16xf32>
  %prod = linalg.generic {indexing_maps = [affine_map<(i, c) -> (i, c)>, affine_map<(i, c) -> (i, c)>, affine_map<(i, c) -> (i, c)>],
                          iterator_types = ["parallel", "parallel"]}
      ins(%xhat, %dy : tensor<8x16xf32>, tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8x16xf32>
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<16xf32>) -> tensor<16xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(i, c) -> (i, c)>, affine_map<(i, c) -> (c)>],
                         iterator_types = ["reduction", "parallel"]}
      ins(%xhat : tensor<8x16xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%a: f32, %out: f32):
    %r = arith.addf %a, %out : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  return %prod, %sum : tensor<8x16xf32>, tensor<16xf32>
}
