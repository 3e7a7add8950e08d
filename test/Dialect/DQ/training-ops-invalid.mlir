// RUN: dq-opt %s -split-input-file -verify-diagnostics

func.func @bn_channels(%x: tensor<2x4x4x8xf32>, %c: tensor<8xf32>, %d: tensor<4xf32>) -> tensor<2x4x4x8xf32> {
  // expected-error @+1 {{var must have one value per channel (8 along axis 3), got 'tensor<4xf32>'}}
  %0 = dq.batch_norm %x, %c, %c, %c, %d axis = 3 epsilon = 1.0e-5 : (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<4xf32>) -> tensor<2x4x4x8xf32>
  return %0 : tensor<2x4x4x8xf32>
}

// -----

func.func @bn_epsilon(%x: tensor<2x8xf32>, %c: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{epsilon must be a finite number > 0, got 0}}
  %0:3 = dq.batch_norm_train %x, %c, %c axis = 1 epsilon = 0.0 : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>)
  return %0#0 : tensor<2x8xf32>
}

// -----

func.func @ce_rank(%z: tensor<2x10x1xf32>, %l: tensor<2xi32>) -> tensor<f32> {
  // expected-error @+1 {{logits must be [batch x classes], got 'tensor<2x10x1xf32>'}}
  %0 = dq.softmax_cross_entropy %z, %l : (tensor<2x10x1xf32>, tensor<2xi32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @ce_labels(%z: tensor<2x10xf32>, %l: tensor<3xi32>) -> tensor<i32> {
  // expected-error @+1 {{labels must be [batch] with batch 2, got 'tensor<3xi32>'}}
  %0 = dq.count_correct %z, %l : (tensor<2x10xf32>, tensor<3xi32>) -> tensor<i32>
  return %0 : tensor<i32>
}

// -----

func.func @cw_trim(%x: tensor<2x8xf32>, %u: tensor<2xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{trim must be in [0, 1), got 1}}
  %0 = dq.channel_weights %x, %u axis = 1 trim = 1.0 epsilon = 1.0e-8 : (tensor<2x8xf32>, tensor<2xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

func.func @cw_result(%x: tensor<2x8xf32>, %u: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{result must have one weight per channel (8), got 'tensor<2xf32>'}}
  %0 = dq.channel_weights %x, %u axis = 1 trim = 0.0 epsilon = 1.0e-8 : (tensor<2x8xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
