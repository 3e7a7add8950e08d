// RUN: dq-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{bits must be in [1, 8], got 0}}
func.func @f() attributes {w = #dq.weight_quant<bits = 0, scheme = dq>} { return }

// -----

// expected-error @+1 {{bits must be in [1, 8], got 9}}
func.func @f() attributes {w = #dq.weight_quant<bits = 9, scheme = dq>} { return }

// -----

// expected-error @+1 {{bits must be in [1, 8], got 0}}
func.func @f() attributes {a = #dq.act_quant<bits = 0, scheme = dq>} { return }

// -----

// expected-error @+1 {{trim must be in [0, 1), got 1}}
func.func @f() attributes {a = #dq.act_quant<bits = 2, scheme = dq, trim = 1.0>} { return }

// -----

// expected-error @+1 {{trim requires weighting = energy}}
func.func @f() attributes {a = #dq.act_quant<bits = 2, scheme = lqnets, trim = 0.5>} { return }

// -----

// expected-error @+1 {{unknown activation scheme 'dq_lean' (expected dq or lqnets)}}
func.func @f() attributes {a = #dq.act_quant<bits = 2, scheme = dq_lean>} { return }

// -----

// expected-error @+1 {{unknown act_quant parameter 'bit'}}
func.func @f() attributes {a = #dq.act_quant<bit = 2, scheme = dq>} { return }

// -----

// expected-error @+1 {{act_quant needs 'bits' and 'scheme'}}
func.func @f() attributes {a = #dq.act_quant<bits = 2>} { return }

// -----

// expected-error @+1 {{unknown channel weighting 'loud' (expected uniform or energy)}}
func.func @f() attributes {a = #dq.act_quant<bits = 2, scheme = dq, weighting = loud>} { return }

// -----

// expected-error @+2 {{expected ::mlir::dq::WeightScheme to be one of: dq, dq_lean, lqnets}}
// expected-error @+1 {{failed to parse DQ_WeightQuantAttr parameter 'scheme'}}
func.func @f() attributes {w = #dq.weight_quant<bits = 2, scheme = fancy>} { return }
