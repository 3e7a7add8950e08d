// RUN: not dq-opt %s --dq-quantize="keep-fp=block.conv3" 2>&1 | FileCheck %s --check-prefix=KEEP
// RUN: not dq-opt %s --dq-quantize="force-quantize=stem,head2,overrides-invalid.mlir:99" 2>&1 | FileCheck %s --check-prefix=FORCE
// RUN: dq-opt %s --dq-quantize="keep-fp=block.conv2,overrides-invalid.mlir:20 force-quantize=head" -o /dev/null

// An entry that designates no layer is an error listing the layers: a typo
// would otherwise silently keep a layer quantized.
// KEEP: error: dq-quantize: option keep-fp entry 'block.conv3' matches no layer (layers: stem, block.conv2, head)
// KEEP-NOT: see current operation
// FORCE-NOT: entry 'stem'
// FORCE: error: dq-quantize: option force-quantize entry 'head2' matches no layer (layers: stem, block.conv2, head)
// FORCE: error: dq-quantize: option force-quantize entry 'overrides-invalid.mlir:99' matches no layer
func.func @net(%x: tensor<1x4x4x1xf32>) -> tensor<1x1x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %b = "tosa.const"() <{values = dense<0.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %w0 = "tosa.const"() <{values = dense<0.3> : tensor<2x3x3x1xf32>}> : () -> tensor<2x3x3x1xf32>
  %w2 = "tosa.const"() <{values = dense<-0.2> : tensor<2x3x3x2xf32>}> : () -> tensor<2x3x3x2xf32>
  %w3 = "tosa.const"() <{values = dense<0.1> : tensor<1x32x3xf32>}> : () -> tensor<1x32x3xf32>
  %y0 = tosa.conv2d %x, %w0, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x1xf32>, tensor<2x3x3x1xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32> loc("stem")
  %r0 = tosa.clamp %y0 {min_val = 0.0 : f32, max_val = 3.4028235e+38 : f32} : (tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
  %y2 = tosa.conv2d %r0, %w2, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<2x3x3x2xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32> loc(fused["block.conv2", "overrides-invalid.mlir":20:8])
  %s = tosa.const_shape {values = dense<[1, 1, 32]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %f = tosa.reshape %y2, %s : (tensor<1x4x4x2xf32>, !tosa.shape<3>) -> tensor<1x1x32xf32>
  %y3 = tosa.matmul %f, %w3, %zp, %zp : (tensor<1x1x32xf32>, tensor<1x32x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x3xf32> loc("head")
  return %y3 : tensor<1x1x3xf32>
}
