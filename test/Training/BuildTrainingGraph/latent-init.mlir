// Fine-tuning from fp32: with latent-init=fp32 the latent weights start at
// the model's own weights, by default at the decoded (1-bit) ones; dq-lean
// has no latent weights; the fp32 copy does not stay in the training module.
// RUN: dq-opt %s --dq-quantize="w-bits=1 keep-first-last=false latent-init=fp32" | FileCheck %s --check-prefix=QUANT
// RUN: dq-opt %s --dq-quantize="w-bits=1 keep-first-last=false latent-init=fp32" --dq-build-training-graph | FileCheck %s --check-prefix=FP32
// RUN: dq-opt %s --dq-quantize="w-bits=1 keep-first-last=false w-scheme=lqnets latent-init=fp32" --dq-build-training-graph | FileCheck %s --check-prefix=FP32
// RUN: dq-opt %s --dq-quantize="w-bits=1 keep-first-last=false" --dq-build-training-graph | FileCheck %s --check-prefix=DECODED
// RUN: dq-opt %s --dq-quantize="w-bits=1 keep-first-last=false w-scheme=dq-lean latent-init=fp32" | FileCheck %s --check-prefix=LEAN

// QUANT: dq.decode_weights {{.*}} {dq.latent_init = dense<{{\[\[\[}}1.000000e-01, -0.699999988], [5.000000e-01, 2.000000e-01], [-3.000000e-01, 0.899999976]]]> : tensor<1x3x2xf32>}

// FP32-NOT:    dq.latent_init
// FP32-LABEL:  func.func @init_state()
// FP32-SAME:     tensor<1x3x2xf32> {dq.role = "latent", dq.state = "fc.weight.latent"}
// FP32:          %[[LATENT:.*]] = arith.constant dense<{{\[\[\[}}1.000000e-01, -0.699999988], [5.000000e-01, 2.000000e-01], [-3.000000e-01, 0.899999976]]]> : tensor<1x3x2xf32>
// FP32:          return {{.*}}%[[LATENT]],
// FP32-NOT:    dq.latent_init

// DECODED-LABEL: func.func @init_state()
// DECODED:         %[[CODES:.*]] = arith.constant {{.*}} : tensor<1x3x2xi8>
// DECODED:         %[[BASIS:.*]] = arith.constant {{.*}} : tensor<2x1xf32>
// DECODED:         %[[LATENT:.*]] = dq.decode_weights %[[CODES]], %[[BASIS]]
// DECODED:         return {{.*}}%[[LATENT]],

// LEAN-NOT: dq.latent_init

func.func @model(%x: tensor<2x3xf32>) -> tensor<2x2xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w = "tosa.const"() <{values = dense<[[[0.1, -0.7], [0.5, 0.2], [-0.3, 0.9]]]> : tensor<1x3x2xf32>}> : () -> tensor<1x3x2xf32>
  %s = tosa.const_shape {values = dense<[1, 2, 3]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %x3 = tosa.reshape %x, %s : (tensor<2x3xf32>, !tosa.shape<3>) -> tensor<1x2x3xf32>
  %y = tosa.matmul %x3, %w, %zp, %zp : (tensor<1x2x3xf32>, tensor<1x3x2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x2xf32> loc("fc")
  %s2 = tosa.const_shape {values = dense<[2, 2]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %y2 = tosa.reshape %y, %s2 : (tensor<1x2x2xf32>, !tosa.shape<2>) -> tensor<2x2xf32>
  return %y2 : tensor<2x2xf32>
}
