// Per-layer bit widths (layer-bits=LAYER=W or LAYER=W:A, LAYER as in
// keep-fp): the layer's weights and the quantizer of its input.
// RUN: dq-opt %s --dq-quantize="layer-bits=block.conv1=4:3" | FileCheck %s --check-prefix=MIXED
// RUN: dq-opt %s --dq-quantize="w-bits=2 a-bits=2 layer-bits=block.conv2=8 summary" 2>&1 >/dev/null | FileCheck %s --check-prefix=SUMMARY
// RUN: dq-opt %s --dq-quantize="layer-bits=block.conv1=4,block.conv1=3:1" | FileCheck %s --check-prefix=LAST
// RUN: dq-opt %s --dq-quantize="force-quantize=stem layer-bits=stem=8:8" | FileCheck %s --check-prefix=STEM
// RUN: not dq-opt %s --dq-quantize="layer-bits=stem=4" 2>&1 | FileCheck %s --check-prefix=FULL --implicit-check-not="see current operation"
// RUN: not dq-opt %s --dq-quantize="layer-bits=block.conv9=4" 2>&1 | FileCheck %s --check-prefix=NOMATCH
// RUN: not dq-opt %s --dq-quantize="layer-bits=block.conv1=9" 2>&1 | FileCheck %s --check-prefix=MALFORMED
// RUN: not dq-opt %s --dq-quantize="layer-bits=block.conv1" 2>&1 | FileCheck %s --check-prefix=MALFORMED
// RUN: not dq-opt %s --dq-quantize="layer-bits=block.conv1=2:0" 2>&1 | FileCheck %s --check-prefix=MALFORMED
// RUN: not dq-opt %s --dq-quantize="layer-bits=block.conv1=two" 2>&1 | FileCheck %s --check-prefix=MALFORMED

// block.conv1: 4-bit weights, its input (the stem's output) quantized to 3
// bits; block.conv2 keeps w-bits=2 and a-bits=2.
// MIXED-LABEL: func.func @net
// MIXED:       dq.quantize_act {{.*}}config = #dq.act_quant<bits = 3, scheme = dq{{.*}}> axis = 3
// MIXED:       dq.decode_weights {{.*}}config = #dq.weight_quant<bits = 4, scheme = dq> axis = 0
// MIXED:       tosa.conv2d {{.*}}dq.name = "block.conv1"
// MIXED:       dq.quantize_act {{.*}}config = #dq.act_quant<bits = 2, scheme = dq{{.*}}> axis = 3
// MIXED:       dq.decode_weights {{.*}}config = #dq.weight_quant<bits = 2, scheme = dq> axis = 0
// MIXED:       tosa.conv2d {{.*}}dq.name = "block.conv2"

// SUMMARY: dq-quantize: @net: w-bits=2 (dq), a-bits=2 (dq)
// SUMMARY: block.conv1 {{.*}} quantized{{$}}
// SUMMARY: block.conv2 {{.*}} quantized (w-bits=8, a-bits=2, layer-bits)

// The last matching entry wins.
// LAST:       dq.quantize_act {{.*}}config = #dq.act_quant<bits = 1,
// LAST:       dq.decode_weights {{.*}}config = #dq.weight_quant<bits = 3,
// LAST:       tosa.conv2d {{.*}}dq.name = "block.conv1"

// A layer forced into quantization takes its own bits too.
// STEM:       dq.decode_weights {{.*}}config = #dq.weight_quant<bits = 8,
// STEM:       tosa.conv2d {{.*}}dq.name = "stem"

// FULL: error: dq-quantize: option layer-bits entry 'stem' designates only layers kept in full precision (add force-quantize=stem, or keep-first-last=false)
// NOMATCH: error: dq-quantize: option layer-bits entry 'block.conv9' matches no layer (layers: stem, block.conv1, block.conv2, head)
// MALFORMED: error: dq-quantize: option layer-bits entry '{{.*}}' must be LAYER=W or LAYER=W:A
func.func @net(%x: tensor<1x4x4x1xf32>) -> tensor<1x1x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %b = "tosa.const"() <{values = dense<0.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %w0 = "tosa.const"() <{values = dense<0.3> : tensor<2x3x3x1xf32>}> : () -> tensor<2x3x3x1xf32>
  %w1 = "tosa.const"() <{values = dense<0.2> : tensor<2x3x3x2xf32>}> : () -> tensor<2x3x3x2xf32>
  %w2 = "tosa.const"() <{values = dense<-0.2> : tensor<2x3x3x2xf32>}> : () -> tensor<2x3x3x2xf32>
  %w3 = "tosa.const"() <{values = dense<0.1> : tensor<1x32x3xf32>}> : () -> tensor<1x32x3xf32>
  %y0 = tosa.conv2d %x, %w0, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x1xf32>, tensor<2x3x3x1xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32> loc(fused["stem", "layer-bits.mlir":30:8])
  %y1 = tosa.conv2d %y0, %w1, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<2x3x3x2xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32> loc("block.conv1")
  %y2 = tosa.conv2d %y1, %w2, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<2x3x3x2xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x2xf32> loc("block.conv2")
  %s = tosa.const_shape {values = dense<[1, 1, 32]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %f = tosa.reshape %y2, %s : (tensor<1x4x4x2xf32>, !tosa.shape<3>) -> tensor<1x1x32xf32>
  %o = tosa.matmul %f, %w3, %zp, %zp : (tensor<1x1x32xf32>, tensor<1x32x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x3xf32> loc("head")
  return %o : tensor<1x1x3xf32>
}
