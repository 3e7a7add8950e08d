// RUN: dq-opt %s -canonicalize | FileCheck %s

// u = (1, 2): levels 0, 1, 2, 3. Negative values clamp to 0, a tie goes up
// (0.5 -> 1, 1.5 -> 2), values beyond the top take the top level.
// CHECK-LABEL: func.func @fold
// CHECK: %[[C:.*]] = arith.constant dense<[0.000000e+00, 0.000000e+00, 1.000000e+00, 0.000000e+00, 2.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<7xf32>
// CHECK-NOT: dq.quantize_act
// CHECK: return %[[C]]
func.func @fold() -> tensor<7xf32> {
  %x = arith.constant dense<[-1.0, 0.0, 0.5, 0.49, 1.5, 2.4, 7.0]> : tensor<7xf32>
  %u = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 0 : (tensor<7xf32>, tensor<2xf32>) -> tensor<7xf32>
  return %q : tensor<7xf32>
}
