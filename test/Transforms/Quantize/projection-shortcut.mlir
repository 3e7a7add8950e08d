// RUN: dq-opt %s --dq-quantize="keep-first-last=false" | FileCheck %s
// RUN: dq-opt %s --dq-quantize="keep-first-last=false keep-shortcuts=false" | FileCheck %s --check-prefix=NOKEEP

// A residual block whose shortcut is a 1x1 convolution followed by batch
// norm (mul/add with constants) into the residual add: the shortcut keeps
// full precision and reads the unquantized block input; the 3x3 main-path
// convolution is quantized.

// CHECK-LABEL: func.func @block
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x4x2xf32>)
// CHECK: %[[XQ:.*]] = dq.quantize_act %[[X]]
// CHECK: %[[W:.*]] = dq.decode_weights {{.*}} : (tensor<4x3x3x2xi8>, tensor<4x2xf32>)
// CHECK: %[[MAIN:.*]] = tosa.conv2d %[[XQ]], %[[W]]
// CHECK: %[[SC:.*]] = tosa.conv2d %[[X]], {{.*}} : (tensor<1x4x4x2xf32>, tensor<4x1x1x2xf32>
// CHECK: tosa.mul %[[SC]]
// CHECK: tosa.add %[[MAIN]]
// CHECK-NOT: dq.decode_weights

// NOKEEP-LABEL: func.func @block
// NOKEEP-COUNT-2: dq.decode_weights
func.func @block(%x: tensor<1x4x4x2xf32>) -> tensor<1x4x4x4xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %b = "tosa.const"() <{values = dense<0.0> : tensor<4xf32>}> : () -> tensor<4xf32>
  %w = "tosa.const"() <{values = dense<0.2> : tensor<4x3x3x2xf32>}> : () -> tensor<4x3x3x2xf32>
  %main = tosa.conv2d %x, %w, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<4x3x3x2xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x4xf32>
  %ws = "tosa.const"() <{values = dense<0.5> : tensor<4x1x1x2xf32>}> : () -> tensor<4x1x1x2xf32>
  %sc = tosa.conv2d %x, %ws, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<4x1x1x2xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x4xf32>
  %scale = "tosa.const"() <{values = dense<1.5> : tensor<1x1x1x4xf32>}> : () -> tensor<1x1x1x4xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %bn = tosa.mul %sc, %scale, %shift : (tensor<1x4x4x4xf32>, tensor<1x1x1x4xf32>, tensor<1xi8>) -> tensor<1x4x4x4xf32>
  %sum = tosa.add %main, %bn : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %sum : tensor<1x4x4x4xf32>
}

// The last 1x1 convolution of a main branch (MobileNetV2's linear
// bottleneck) also reaches a residual add, but it reads a value nothing else
// uses: it is quantized; only a 1x1 convolution of the shared block input is
// a shortcut.

// CHECK-LABEL: func.func @linear_bottleneck
// CHECK: dq.decode_weights {{.*}} : (tensor<4x1x1x2xi8>
// CHECK: dq.decode_weights {{.*}} : (tensor<2x1x1x4xi8>
// CHECK: tosa.add
func.func @linear_bottleneck(%x: tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %b4 = "tosa.const"() <{values = dense<0.0> : tensor<4xf32>}> : () -> tensor<4xf32>
  %b2 = "tosa.const"() <{values = dense<0.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %we = "tosa.const"() <{values = dense<0.3> : tensor<4x1x1x2xf32>}> : () -> tensor<4x1x1x2xf32>
  %expand = tosa.conv2d %x, %we, %b4, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<4x1x1x2xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x4xf32>
  %relu = tosa.clamp %expand {min_val = 0.0 : f32, max_val = 6.0 : f32} : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %wp = "tosa.const"() <{values = dense<0.4> : tensor<2x1x1x4xf32>}> : () -> tensor<2x1x1x4xf32>
  %project = tosa.conv2d %relu, %wp, %b2, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>} : (tensor<1x4x4x4xf32>, tensor<2x1x1x4xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32>
  %sum = tosa.add %project, %x : (tensor<1x4x4x2xf32>, tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
  return %sum : tensor<1x4x4x2xf32>
}
