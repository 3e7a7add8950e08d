// RUN: dq-opt %s --dq-quantize="w-bits=3 a-bits=2 keep-first-last=false" | FileCheck %s

// tosa.matmul b [N, C, W]: output channels are the last dimension; the
// activation channels of a [N, H, C] are its last dimension too.

// CHECK-LABEL: func.func @fc
// CHECK: %[[XQ:.*]] = dq.quantize_act %{{.*}}, %{{.*}} config = #dq.act_quant<bits = 2, scheme = dq> axis = 2 : (tensor<1x1x8xf32>, tensor<2xf32>)
// CHECK: %[[W:.*]] = dq.decode_weights %{{.*}}, %{{.*}} config = #dq.weight_quant<bits = 3, scheme = dq> axis = 2 : (tensor<1x8x4xi8>, tensor<4x3xf32>) -> tensor<1x8x4xf32>
// CHECK: tosa.matmul %[[XQ]], %[[W]]
func.func @fc(%x: tensor<1x1x8xf32>) -> tensor<1x1x4xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w = "tosa.const"() <{values = dense<[[[0.1, -0.2, 0.3, 0.4], [0.5, -0.6, 0.7, 0.8], [-0.1, 0.2, -0.3, 0.4], [0.05, 0.15, -0.25, 0.35], [0.1, -0.2, 0.3, 0.4], [0.5, -0.6, 0.7, 0.8], [-0.1, 0.2, -0.3, 0.4], [0.05, 0.15, -0.25, 0.35]]]> : tensor<1x8x4xf32>}> : () -> tensor<1x8x4xf32>
  %y = tosa.matmul %x, %w, %zp, %zp : (tensor<1x1x8xf32>, tensor<1x8x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x4xf32>
  return %y : tensor<1x1x4xf32>
}
