// RUN: dq-opt %s --convert-dq-to-linalg | FileCheck %s

// quantize_act: a [2^K] unipolar level table and its smallest and largest
// level (computed once), then per element a clamp at 0, a clamp into the
// level range and an unrolled nearest scan (ties to the larger level); NaN
// passes.

// CHECK-LABEL: func.func @act
// CHECK: %[[TABLE:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf32>)
// CHECK: %[[MIN:.*]] = linalg.generic {{.*}} iterator_types = ["reduction"]} ins(%[[TABLE]] : tensor<4xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK:   arith.minimumf
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["reduction"]} ins(%[[TABLE]] : tensor<4xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK:   arith.maximumf
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[MIN]], %[[MAX]] : tensor<2x3xf32>, tensor<f32>, tensor<f32>) outs(%{{.*}} : tensor<2x3xf32>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[LO:.*]]: f32, %[[HI:.*]]: f32, %{{.*}}: f32):
// CHECK:   arith.cmpf olt, %[[X]]
// CHECK:   arith.maximumf %{{.*}}, %[[LO]]
// CHECK:   arith.minimumf %{{.*}}, %[[HI]]
// CHECK-COUNT-4: tensor.extract %[[TABLE]]
// CHECK:   arith.cmpf uno, %[[X]], %[[X]]
// CHECK:   linalg.yield
// CHECK-NOT: dq.
func.func @act(%x: tensor<2x3xf32>, %u: tensor<2xf32>) -> tensor<2x3xf32> {
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 1 : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
  return %q : tensor<2x3xf32>
}

// Above 16 levels the table is sorted once (rank counting, scalar loops)
// and each element binary-searches it: 8 gathers for 256 levels, then the
// nearer of the two neighbours (ties to the larger).
// CHECK-LABEL: func.func @act8
// CHECK: %[[TABLE8:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<256xf32>)
// CHECK: %[[RANKS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[TABLE8]], %[[TABLE8]] : {{.*}}) outs(%{{.*}} : tensor<256xi32>) attrs =  {dq.keep_scalar}
// CHECK: %[[SORTED:.*]] = linalg.generic {{.*}} ins(%[[TABLE8]], %[[RANKS]] : {{.*}}) outs(%{{.*}} : tensor<256xf32>) attrs =  {dq.keep_scalar}
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3xf32>)
// CHECK-COUNT-8: tensor.extract %[[SORTED]]
// CHECK: arith.minui
// CHECK-COUNT-2: tensor.extract %[[SORTED]]
// CHECK: arith.cmpf ole
// CHECK-NOT: scf.for
// CHECK-NOT: dq.{{[a-z_]+ }}
func.func @act8(%x: tensor<2x3xf32>, %u: tensor<8xf32>) -> tensor<2x3xf32> {
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 8, scheme = lqnets> axis = 1 : (tensor<2x3xf32>, tensor<8xf32>) -> tensor<2x3xf32>
  return %q : tensor<2x3xf32>
}

// A quantizer and the nearest projection of max(x, 0) on the same basis (the
// activation fit of a training step) share one search: one generic yields
// the level and the code, and no second search is left for the projection.
#id2 = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @act8_with_fit
// CHECK: %[[SORTED8:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<256xf32>) attrs =  {dq.keep_scalar}
// CHECK: %[[BOTH:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<2x3xf32>, tensor<2x3xi8>)
// CHECK-COUNT-8: tensor.extract %[[SORTED8]]
// CHECK: linalg.yield %{{.*}}, %{{.*}} : f32, i8
// CHECK-NOT: tensor.extract %[[SORTED8]]
// CHECK: return %[[BOTH]]#0, %[[BOTH]]#1
func.func @act8_with_fit(%x: tensor<2x3xf32>, %u: tensor<8xf32>) -> (tensor<2x3xf32>, tensor<2x3xi8>) {
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 8, scheme = dq> axis = 1 : (tensor<2x3xf32>, tensor<8xf32>) -> tensor<2x3xf32>
  %e = tensor.empty() : tensor<2x3xf32>
  %c = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  %codes = dq.project %c, %u axis = 1 unipolar nearest : (tensor<2x3xf32>, tensor<8xf32>) -> tensor<2x3xi8>
  return %q, %codes : tensor<2x3xf32>, tensor<2x3xi8>
}

// The projection of x itself (no clamp at 0) or on another basis is not the
// quantizer's search: each keeps its own.
// CHECK-LABEL: func.func @act_fit_not_shared
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3xf32>)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3xi8>)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3xi8>)
// CHECK-NOT: dq.{{[a-z_]+ }}
func.func @act_fit_not_shared(%x: tensor<2x3xf32>, %u: tensor<2xf32>, %v: tensor<2xf32>) -> (tensor<2x3xf32>, tensor<2x3xi8>, tensor<2x3xi8>) {
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 1 : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
  %e = tensor.empty() : tensor<2x3xf32>
  %c = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  %raw = dq.project %x, %u axis = 1 unipolar nearest : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xi8>
  %other = dq.project %c, %v axis = 1 unipolar nearest : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xi8>
  return %q, %raw, %other : tensor<2x3xf32>, tensor<2x3xi8>, tensor<2x3xi8>
}
