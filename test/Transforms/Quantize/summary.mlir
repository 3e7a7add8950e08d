// RUN: dq-opt %s --dq-quantize="summary" -o /dev/null 2>&1 | FileCheck %s

// The summary names every layer, its weight shape and what happened to it.
// CHECK: dq-quantize: @net: w-bits=2 (dq), a-bits=2 (dq)
// CHECK-NEXT: stem {{ *}}tosa.conv2d {{ *}}2x3x3x1 {{ *}}full precision (first convolution)
// CHECK-NEXT: body {{ *}}tosa.conv2d {{ *}}2x3x3x2 {{ *}}quantized
// CHECK-NEXT: <unnamed> {{ *}}tosa.matmul {{ *}}1x32x3 {{ *}}full precision (last matmul)
func.func @net(%x: tensor<1x4x4x1xf32>) -> tensor<1x1x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %b = "tosa.const"() <{values = dense<0.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %w0 = "tosa.const"() <{values = dense<0.3> : tensor<2x3x3x1xf32>}> : () -> tensor<2x3x3x1xf32>
  %w1 = "tosa.const"() <{values = dense<0.2> : tensor<2x3x3x2xf32>}> : () -> tensor<2x3x3x2xf32>
  %w2 = "tosa.const"() <{values = dense<0.1> : tensor<1x32x3xf32>}> : () -> tensor<1x32x3xf32>
  %y0 = tosa.conv2d %x, %w0, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x1xf32>, tensor<2x3x3x1xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32> loc("stem")
  %y1 = tosa.conv2d %y0, %w1, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<2x3x3x2xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32> loc("body")
  %s = tosa.const_shape {values = dense<[1, 1, 32]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %f = tosa.reshape %y1, %s : (tensor<1x4x4x2xf32>, !tosa.shape<3>) -> tensor<1x1x32xf32>
  %o = tosa.matmul %f, %w2, %zp, %zp : (tensor<1x1x32xf32>, tensor<1x32x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x3xf32>
  return %o : tensor<1x1x3xf32>
}
