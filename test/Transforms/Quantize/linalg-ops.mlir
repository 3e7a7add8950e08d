// RUN: dq-opt %s -split-input-file --dq-quantize="w-bits=2 a-bits=4 keep-first-last=false" | FileCheck %s

// linalg named ops: the output-channel dimension of each weight layout.

// CHECK-LABEL: func.func @fhwc
// CHECK: %[[XQ:.*]] = dq.quantize_act {{.*}} config = #dq.act_quant<bits = 4, scheme = dq> axis = 3
// CHECK: %[[W:.*]] = dq.decode_weights {{.*}} axis = 0 : (tensor<4x3x3x2xi8>, tensor<4x2xf32>)
// CHECK: linalg.conv_2d_nhwc_fhwc{{.*}}ins(%[[XQ]], %[[W]] :
func.func @fhwc(%x: tensor<1x6x6x2xf32>, %init: tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32> {
  %w = arith.constant dense<0.2> : tensor<4x3x3x2xf32>
  %y = linalg.conv_2d_nhwc_fhwc ins(%x, %w : tensor<1x6x6x2xf32>, tensor<4x3x3x2xf32>) outs(%init : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @hwcf
// CHECK: dq.decode_weights {{.*}} axis = 3 : (tensor<3x3x2x4xi8>, tensor<4x2xf32>)
// CHECK: linalg.conv_2d_nhwc_hwcf
func.func @hwcf(%x: tensor<1x6x6x2xf32>, %init: tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32> {
  %w = arith.constant dense<0.2> : tensor<3x3x2x4xf32>
  %y = linalg.conv_2d_nhwc_hwcf ins(%x, %w : tensor<1x6x6x2xf32>, tensor<3x3x2x4xf32>) outs(%init : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @depthwise
// CHECK: dq.decode_weights {{.*}} axis = 2 : (tensor<3x3x2xi8>, tensor<2x2xf32>)
// CHECK: linalg.depthwise_conv_2d_nhwc_hwc
func.func @depthwise(%x: tensor<1x6x6x2xf32>, %init: tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32> {
  %w = arith.constant dense<0.2> : tensor<3x3x2xf32>
  %y = linalg.depthwise_conv_2d_nhwc_hwc ins(%x, %w : tensor<1x6x6x2xf32>, tensor<3x3x2xf32>) outs(%init : tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
  return %y : tensor<1x4x4x2xf32>
}

// -----

// CHECK-LABEL: func.func @matmul
// CHECK: %[[XQ:.*]] = dq.quantize_act {{.*}} axis = 1 : (tensor<2x8xf32>, tensor<4xf32>)
// CHECK: %[[W:.*]] = dq.decode_weights {{.*}} axis = 1 : (tensor<8x3xi8>, tensor<3x2xf32>)
// CHECK: linalg.matmul ins(%[[XQ]], %[[W]] :
func.func @matmul(%x: tensor<2x8xf32>, %init: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<0.1> : tensor<8x3xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x8xf32>, tensor<8x3xf32>) outs(%init : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @batch_matmul
// CHECK: dq.decode_weights {{.*}} axis = 2 : (tensor<2x8x3xi8>, tensor<3x2xf32>)
// CHECK: linalg.batch_matmul
func.func @batch_matmul(%x: tensor<2x4x8xf32>, %init: tensor<2x4x3xf32>) -> tensor<2x4x3xf32> {
  %w = arith.constant dense<0.1> : tensor<2x8x3xf32>
  %y = linalg.batch_matmul ins(%x, %w : tensor<2x4x8xf32>, tensor<2x8x3xf32>) outs(%init : tensor<2x4x3xf32>) -> tensor<2x4x3xf32>
  return %y : tensor<2x4x3xf32>
}
