// RUN: dq-opt %s --dq-quantize="w-bits=2 a-bits=2 keep-first-last=false" | FileCheck %s
// RUN: dq-opt %s --dq-quantize="w-bits=2 a-bits=2 keep-first-last=false" | dq-opt | FileCheck %s

// A constant conv weight becomes i8 codes + a [O x K] basis decoded in
// front of the conv; the input goes through an activation quantizer with
// the LQ-Nets initial basis u_k = 2^k * 0.6745 * 2 / 3.

// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x4x2xf32>)
// CHECK-DAG: %[[U:.*]] = arith.constant dense<[0.449666679, 0.899333357]> : tensor<2xf32>
// CHECK-DAG: %[[XQ:.*]] = dq.quantize_act %[[X]], %[[U]] config = #dq.act_quant<bits = 2, scheme = dq> axis = 3
// CHECK-DAG: %[[CODES:.*]] = arith.constant dense<{{.*}}> : tensor<3x3x3x2xi8>
// CHECK-DAG: %[[BASIS:.*]] = arith.constant dense<{{.*}}> : tensor<3x2xf32>
// CHECK: %[[W:.*]] = dq.decode_weights %[[CODES]], %[[BASIS]] config = #dq.weight_quant<bits = 2, scheme = dq> axis = 0 : (tensor<3x3x3x2xi8>, tensor<3x2xf32>) -> tensor<3x3x3x2xf32>
// CHECK: tosa.conv2d %[[XQ]], %[[W]]
// The fp32 weight is gone.
// CHECK-NOT: tensor<3x3x3x2xf32>}>
func.func @conv(%x: tensor<1x4x4x2xf32>) -> tensor<1x4x4x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w = "tosa.const"() <{values = dense<[[[[0.1, -0.2], [0.3, 0.05], [-0.4, 0.2]], [[0.1, 0.1], [-0.3, 0.25], [0.4, -0.1]], [[0.2, -0.2], [0.15, 0.05], [-0.05, 0.3]]], [[[0.1, -0.2], [0.3, 0.05], [-0.4, 0.2]], [[0.1, 0.1], [-0.3, 0.25], [0.4, -0.1]], [[0.2, -0.2], [0.15, 0.05], [-0.05, 0.3]]], [[[0.1, -0.2], [0.3, 0.05], [-0.4, 0.2]], [[0.1, 0.1], [-0.3, 0.25], [0.4, -0.1]], [[0.2, -0.2], [0.15, 0.05], [-0.05, 0.3]]]]> : tensor<3x3x3x2xf32>}> : () -> tensor<3x3x3x2xf32>
  %b = "tosa.const"() <{values = dense<0.0> : tensor<3xf32>}> : () -> tensor<3xf32>
  %y = tosa.conv2d %x, %w, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<3x3x3x2xf32>, tensor<3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x3xf32>
  return %y : tensor<1x4x4x3xf32>
}
