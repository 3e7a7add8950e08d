// Weights held in dense_resource blobs (how dq-import writes large
// parameters) are quantized like dense ones, and the training graph reads
// their initial values.
// RUN: dq-opt %s --dq-quantize="w-bits=1 a-bits=2 keep-first-last=false" | FileCheck %s
// RUN: dq-opt %s --dq-quantize="w-bits=1 a-bits=2 keep-first-last=false" --dq-build-training-graph | FileCheck %s --check-prefix=TRAIN

// CHECK-LABEL: func.func @model
// CHECK-DAG: %[[CODES:.*]] = arith.constant dense<{{\[\[\[\[}}1, 0, 1]]], {{\[\[\[}}0, 1, 1]]], {{\[\[\[}}0, 1, 0]]], {{\[\[\[}}1, 1, 0]]]]> : tensor<4x1x1x3xi8>
// CHECK-DAG: %[[BASIS:.*]] = arith.constant dense<{{\[\[}}5.000000e-01], [0.541666687], [5.000000e-01], [0.458333343]]> : tensor<4x1xf32>
// CHECK: %[[W:.*]] = dq.decode_weights %[[CODES]], %[[BASIS]]
// CHECK: tosa.conv2d %{{.*}}, %[[W]],
// CHECK-NOT: dense_resource<conv.weight>

// The bias stays a trainable constant: its initial value is copied out of
// the blob.
// TRAIN-LABEL: func.func @init_state
// TRAIN: dense<[1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01]> : tensor<4xf32>

func.func @model(%x: tensor<1x1x1x3xf32>) -> tensor<1x4xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w = "tosa.const"() <{values = dense_resource<conv.weight> : tensor<4x1x1x3xf32>}> : () -> tensor<4x1x1x3xf32>
  %b = "tosa.const"() <{values = dense_resource<conv.bias> : tensor<4xf32>}> : () -> tensor<4xf32>
  %y = tosa.conv2d %x, %w, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>} : (tensor<1x1x1x3xf32>, tensor<4x1x1x3xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x1x4xf32> loc("conv")
  %s = tosa.const_shape {values = dense<[1, 4]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %r = tosa.reshape %y, %s : (tensor<1x1x1x4xf32>, !tosa.shape<2>) -> tensor<1x4xf32>
  return %r : tensor<1x4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      conv.weight: "0x040000000000003F000080BE0000403F000080BF0000003E0000003F000000BF0000803E000040BF0000803F0000803E000000BE",
      conv.bias: "0x04000000CDCCCC3DCDCC4C3E9A99993ECDCCCC3E"
    }
  }
#-}
