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

// Above 16 levels the scan is an scf.for over the codes.
// CHECK-LABEL: func.func @act8
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK-NOT: dq.
func.func @act8(%x: tensor<2x3xf32>, %u: tensor<8xf32>) -> tensor<2x3xf32> {
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 8, scheme = lqnets> axis = 1 : (tensor<2x3xf32>, tensor<8xf32>) -> tensor<2x3xf32>
  return %q : tensor<2x3xf32>
}
