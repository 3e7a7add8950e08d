// RUN: dq-opt %s --dq-quantize | FileCheck %s
// RUN: dq-opt %s --dq-quantize="keep-first-last=false" | FileCheck %s --check-prefix=ALL

// By default the first convolution and the last matmul keep full precision
// (weights and input); the convolution in between is quantized.

// CHECK-LABEL: func.func @net
// CHECK: %[[Y0:.*]] = tosa.conv2d %arg0, %{{.*}} :
// CHECK: %[[R0:.*]] = tosa.clamp %[[Y0]]
// CHECK: %[[Q1:.*]] = dq.quantize_act %[[R0]]
// CHECK: %[[W1:.*]] = dq.decode_weights
// CHECK: tosa.conv2d %[[Q1]], %[[W1]]
// CHECK-NOT: dq.
// CHECK: tosa.matmul
// CHECK-NOT: dq.
// CHECK: return

// ALL-LABEL: func.func @net
// ALL-COUNT-3: dq.decode_weights
// ALL-NOT: dq.decode_weights
func.func @net(%x: tensor<1x4x4x1xf32>) -> tensor<1x1x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w0 = "tosa.const"() <{values = dense<0.3> : tensor<2x3x3x1xf32>}> : () -> tensor<2x3x3x1xf32>
  %b0 = "tosa.const"() <{values = dense<0.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %y0 = tosa.conv2d %x, %w0, %b0, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x1xf32>, tensor<2x3x3x1xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32>
  %r0 = tosa.clamp %y0 {min_val = 0.0 : f32, max_val = 3.4e38 : f32} : (tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
  %w1 = "tosa.const"() <{values = dense<-0.2> : tensor<2x3x3x2xf32>}> : () -> tensor<2x3x3x2xf32>
  %y1 = tosa.conv2d %r0, %w1, %b0, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<2x3x3x2xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32>
  %s = tosa.const_shape {values = dense<[1, 1, 32]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %f = tosa.reshape %y1, %s : (tensor<1x4x4x2xf32>, !tosa.shape<3>) -> tensor<1x1x32xf32>
  %w2 = "tosa.const"() <{values = dense<0.1> : tensor<1x32x3xf32>}> : () -> tensor<1x32x3xf32>
  %o = tosa.matmul %f, %w2, %zp, %zp : (tensor<1x1x32xf32>, tensor<1x32x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x3xf32>
  return %o : tensor<1x1x3xf32>
}
