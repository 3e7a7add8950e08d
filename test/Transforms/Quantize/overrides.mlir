// RUN: dq-opt %s --dq-quantize="keep-fp=block.conv2" | FileCheck %s --check-prefix=KEEP
// RUN: dq-opt %s --dq-quantize="force-quantize=stem,head" | FileCheck %s --check-prefix=FORCE
// RUN: dq-opt %s --dq-quantize="force-quantize=overrides.mlir:30" | FileCheck %s --check-prefix=LINE

// Layers are named by NameLoc (as dq-import and torch exporters attach
// them); overrides take names or file:line.

// By default only block.conv1 and block.conv2 are quantized; keep-fp
// removes block.conv2.
// KEEP-LABEL: func.func @net
// KEEP-COUNT-1: dq.decode_weights
// KEEP-NOT: dq.decode_weights

// force-quantize overrides the first/last rule.
// FORCE-LABEL: func.func @net
// FORCE-COUNT-4: dq.decode_weights
// FORCE-NOT: dq.decode_weights

// By source line: the stem (line 30) joins the two block convolutions.
// LINE-LABEL: func.func @net
// LINE-COUNT-3: dq.decode_weights
// LINE-NOT: dq.decode_weights
func.func @net(%x: tensor<1x4x4x1xf32>) -> tensor<1x1x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %b = "tosa.const"() <{values = dense<0.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %w0 = "tosa.const"() <{values = dense<0.3> : tensor<2x3x3x1xf32>}> : () -> tensor<2x3x3x1xf32>
  %w1 = "tosa.const"() <{values = dense<0.2> : tensor<2x3x3x2xf32>}> : () -> tensor<2x3x3x2xf32>
  %w2 = "tosa.const"() <{values = dense<-0.2> : tensor<2x3x3x2xf32>}> : () -> tensor<2x3x3x2xf32>
  %w3 = "tosa.const"() <{values = dense<0.1> : tensor<1x32x3xf32>}> : () -> tensor<1x32x3xf32>
  %y0 = tosa.conv2d %x, %w0, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x1xf32>, tensor<2x3x3x1xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32> loc(fused["stem", "overrides.mlir":30:8])
  %y1 = tosa.conv2d %y0, %w1, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<2x3x3x2xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32> loc("block.conv1")
  %y2 = tosa.conv2d %y1, %w2, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<2x3x3x2xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32> loc("block.conv2")
  %s = tosa.const_shape {values = dense<[1, 1, 32]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %f = tosa.reshape %y2, %s : (tensor<1x4x4x2xf32>, !tosa.shape<3>) -> tensor<1x1x32xf32>
  %o = tosa.matmul %f, %w3, %zp, %zp : (tensor<1x1x32xf32>, tensor<1x32x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x3xf32> loc("head")
  return %o : tensor<1x1x3xf32>
}
