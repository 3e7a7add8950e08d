// RUN: dq-opt %s | FileCheck %s
// RUN: dq-opt %s | dq-opt | FileCheck %s

// Quantizer configuration attributes round-trip; defaults are elided.

// CHECK-LABEL: func.func @weight_configs
// CHECK-SAME: w.dq = #dq.weight_quant<bits = 2, scheme = dq>
// CHECK-SAME: w.lean = #dq.weight_quant<bits = 1, scheme = dq_lean>
// CHECK-SAME: w.lq = #dq.weight_quant<bits = 8, scheme = lqnets>
func.func @weight_configs() attributes {
  w.dq = #dq.weight_quant<bits = 2, scheme = dq>,
  w.lean = #dq.weight_quant<bits = 1, scheme = dq_lean>,
  w.lq = #dq.weight_quant<scheme = lqnets, bits = 8>
} {
  return
}

// CHECK-LABEL: func.func @act_configs
// CHECK-SAME: a.default_dq = #dq.act_quant<bits = 2, scheme = dq>
// CHECK-SAME: a.default_lq = #dq.act_quant<bits = 3, scheme = lqnets>
// CHECK-SAME: a.trimmed = #dq.act_quant<bits = 4, scheme = dq, trim = 1.250000e-01>
// CHECK-SAME: a.uniform_dq = #dq.act_quant<bits = 2, scheme = dq, weighting = uniform>
// CHECK-SAME: a.weighted_lq = #dq.act_quant<bits = 2, scheme = lqnets, weighting = energy>
func.func @act_configs() attributes {
  a.default_dq = #dq.act_quant<bits = 2, scheme = dq>,
  a.default_lq = #dq.act_quant<bits = 3, scheme = lqnets>,
  a.trimmed = #dq.act_quant<bits = 4, scheme = dq, weighting = energy, trim = 0.125>,
  a.uniform_dq = #dq.act_quant<bits = 2, scheme = dq, weighting = uniform>,
  a.weighted_lq = #dq.act_quant<bits = 2, scheme = lqnets, weighting = energy>
} {
  return
}
