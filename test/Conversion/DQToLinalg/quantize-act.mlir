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
