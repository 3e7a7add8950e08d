// RUN: dq-opt %s -split-input-file --dq-quantize="keep-first-last=false" -verify-diagnostics | FileCheck %s

// Depthwise weights [KH, KW, C, 1]: one basis row per channel (dimension 2).
// CHECK-LABEL: func.func @depthwise
// CHECK: dq.quantize_act {{.*}} axis = 3
// CHECK: dq.decode_weights %{{.*}}, %{{.*}} config = #dq.weight_quant<bits = 2, scheme = dq> axis = 2 : (tensor<3x3x4x1xi8>, tensor<4x2xf32>) -> tensor<3x3x4x1xf32>
// CHECK: tosa.depthwise_conv2d
func.func @depthwise(%x: tensor<1x5x5x4xf32>, %w: tensor<3x3x4x1xf32>) -> tensor<1x5x5x4xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %wc = "tosa.const"() <{values = dense<0.3> : tensor<3x3x4x1xf32>}> : () -> tensor<3x3x4x1xf32>
  %b = "tosa.const"() <{values = dense<0.0> : tensor<4xf32>}> : () -> tensor<4xf32>
  %y = tosa.depthwise_conv2d %x, %wc, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x5x5x4xf32>, tensor<3x3x4x1xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x5x5x4xf32>
  return %y : tensor<1x5x5x4xf32>
}

// -----

// A channel multiplier above 1 is not supported: a clear error.
func.func @multiplier(%x: tensor<1x5x5x2xf32>) -> tensor<1x5x5x4xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %wc = "tosa.const"() <{values = dense<0.3> : tensor<3x3x2x2xf32>}> : () -> tensor<3x3x2x2xf32>
  %b = "tosa.const"() <{values = dense<0.0> : tensor<4xf32>}> : () -> tensor<4xf32>
  // expected-error @+1 {{dq-quantize cannot quantize this layer: depthwise channel multiplier 2 (only 1 is supported) (keep it in full precision with keep-fp)}}
  %y = tosa.depthwise_conv2d %x, %wc, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x5x5x2xf32>, tensor<3x3x2x2xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x5x5x4xf32>
  return %y : tensor<1x5x5x4xf32>
}
