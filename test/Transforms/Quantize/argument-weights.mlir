// RUN: dq-opt %s --dq-quantize="keep-first-last=false w-bits=3" | FileCheck %s
// RUN: dq-opt %s --dq-quantize="keep-first-last=false w-bits=3" | dq-opt | FileCheck %s

// A weight passed as a function argument becomes weight state arguments:
// its codes and its basis, named after the layer.

// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x4x2xf32>,
// CHECK-SAME: %[[C:.*]]: tensor<3x3x3x2xi8> {dq.state = "layer1.conv.codes"},
// CHECK-SAME: %[[V:.*]]: tensor<3x3xf32> {dq.state = "layer1.conv.basis"},
// CHECK-SAME: %[[B:.*]]: tensor<3xf32>)
// CHECK: %[[W:.*]] = dq.decode_weights %[[C]], %[[V]] config = #dq.weight_quant<bits = 3, scheme = dq> axis = 0
// CHECK: tosa.conv2d %{{.*}}, %[[W]], %[[B]]
func.func @conv(%x: tensor<1x4x4x2xf32>, %w: tensor<3x3x3x2xf32>, %b: tensor<3xf32>) -> tensor<1x4x4x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %y = tosa.conv2d %x, %w, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<3x3x3x2xf32>, tensor<3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x3xf32> loc("layer1.conv")
  return %y : tensor<1x4x4x3xf32>
}
