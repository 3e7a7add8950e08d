// RUN: dq-opt %s -split-input-file -verify-diagnostics

// Every float attribute of the dialect is a finite number in its range:
// NaN and infinities are refused.

func.func @bn_nan(%x: tensor<2x8xf32>, %c: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{epsilon must be a finite number > 0, got nan}}
  %0 = dq.batch_norm %x, %c, %c, %c, %c axis = 1 epsilon = 0x7FF8000000000000 : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @bn_inf(%x: tensor<2x8xf32>, %c: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{epsilon must be a finite number > 0, got INF}}
  %0 = dq.batch_norm %x, %c, %c, %c, %c axis = 1 epsilon = 0x7FF0000000000000 : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @bn_train_inf(%x: tensor<2x8xf32>, %c: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{epsilon must be a finite number > 0, got INF}}
  %0:3 = dq.batch_norm_train %x, %c, %c axis = 1 epsilon = 0x7FF0000000000000 : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>)
  return %0#0 : tensor<2x8xf32>
}

// -----

func.func @fit_ridge_inf(%c: tensor<4x6xi8>, %t: tensor<4x6xf32>, %v: tensor<4x2xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{ridge must be a finite number > 0, got INF}}
  %0 = dq.fit_levels %c, %t, %v axis = 0 bipolar ridge = 0x7FF0000000000000 : (tensor<4x6xi8>, tensor<4x6xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @fit_ridge_nan(%c: tensor<4x6xi8>, %t: tensor<4x6xf32>, %v: tensor<4x2xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{ridge must be a finite number > 0, got nan}}
  %0 = dq.fit_levels %c, %t, %v axis = 0 bipolar ridge = 0x7FF8000000000000 : (tensor<4x6xi8>, tensor<4x6xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @channel_weights_eps(%x: tensor<2x8xf32>, %u: tensor<2xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{epsilon must be a finite number > 0, got INF}}
  %0 = dq.channel_weights %x, %u axis = 1 trim = 0.0 epsilon = 0x7FF0000000000000 : (tensor<2x8xf32>, tensor<2xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

func.func @channel_weights_trim(%x: tensor<2x8xf32>, %u: tensor<2xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{trim must be in [0, 1), got nan}}
  %0 = dq.channel_weights %x, %u axis = 1 trim = 0x7FF8000000000000 epsilon = 1.0e-8 : (tensor<2x8xf32>, tensor<2xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// expected-error @+1 {{trim must be in [0, 1), got nan}}
func.func @act_trim() attributes {q = #dq.act_quant<bits = 2, scheme = dq, trim = 0x7FF8000000000000>} {
  return
}
