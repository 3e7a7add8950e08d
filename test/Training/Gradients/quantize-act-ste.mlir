// dq.quantize_act's gradient is the clipped straight-through estimator
// (not the derivative of the step function): dy where x <= the top level
// (sum of the positive basis values), 0 above.
// RUN: dq-opt %s --dq-differentiate="func=q" | FileCheck %s
// CHECK-LABEL: func.func @q_vjp
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[U:.*]]: tensor<2xf32>, %[[DY:.*]]: tensor<2x3xf32>)
// CHECK: %[[POS:.*]] = linalg.generic {{.*}} ins(%[[U]] : tensor<2xf32>)
// CHECK:   arith.maximumf
// CHECK: %[[TOP:.*]] = linalg.generic {{.*}} ins(%[[POS]] : tensor<2xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[DY]], %[[TOP]] : tensor<2x3xf32>, tensor<2x3xf32>, tensor<f32>)
// CHECK:   arith.cmpf ole
// CHECK:   arith.select
// The basis gets no gradient (it is refitted, not descended).
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<2xf32>
// CHECK: return %[[DX]], %[[ZERO]]
func.func @q(%x: tensor<2x3xf32>, %u: tensor<2xf32>) -> tensor<2x3xf32> {
  %y = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 1 : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
