// RUN: dq-opt %s --dq-quantize="keep-first-last=false w-scheme=dq-lean a-scheme=lqnets w-bits=1 a-bits=3" | FileCheck %s --check-prefix=LEAN
// RUN: dq-opt %s --dq-quantize="keep-first-last=false w-scheme=lqnets w-bits=4 a-bits=4 trim=0.25" | FileCheck %s --check-prefix=LQ

// The schemes and bits are recorded on the quantizer ops for the training
// graph.

// LEAN: dq.quantize_act {{.*}} config = #dq.act_quant<bits = 3, scheme = lqnets>
// LEAN: dq.decode_weights {{.*}} config = #dq.weight_quant<bits = 1, scheme = dq_lean> {{.*}} -> tensor<8x3xf32>
// LQ: dq.quantize_act {{.*}} config = #dq.act_quant<bits = 4, scheme = dq, trim = 2.500000e-01>
// LQ: dq.decode_weights {{.*}} config = #dq.weight_quant<bits = 4, scheme = lqnets> {{.*}} : (tensor<8x3xi8>, tensor<3x4xf32>)
func.func @matmul(%x: tensor<2x8xf32>, %init: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<[[0.1, -0.2, 0.3], [0.4, -0.5, 0.6], [0.7, -0.8, 0.9], [1.0, -1.1, 1.2], [0.15, -0.25, 0.35], [0.45, -0.55, 0.65], [0.75, -0.85, 0.95], [1.05, -1.15, 1.25]]> : tensor<8x3xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x8xf32>, tensor<8x3xf32>) outs(%init : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
