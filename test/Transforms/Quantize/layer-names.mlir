// RUN: dq-opt %s --dq-quantize="keep-first-last=false" | FileCheck %s
// RUN: dq-opt %s --dq-quantize="keep-first-last=false" | dq-opt --dq-build-training-graph | FileCheck %s --check-prefix=TRAIN

// --dq-quantize keeps the layer names of the locations as dq.name
// attributes on the ops that own state (here the matmul and its bias add):
// printed without locations, the module still names its state after them.

// CHECK: tosa.matmul {{.*}}{dq.name = "fc"}
// CHECK: tosa.add {{.*}}{dq.name = "fc"}
// TRAIN: func.func @init_state()
// TRAIN-SAME: dq.state = "fc.input.basis"
// TRAIN-SAME: dq.state = "fc.weight.codes"
// TRAIN-SAME: dq.state = "fc.bias"
// TRAIN-NOT: matmul_0
func.func @model(%x: tensor<2x4xf32>) -> tensor<1x2x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w = "tosa.const"() <{values = dense<[[[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [0.7, -0.8, 0.9], [1.0, 1.1, -1.2]]]> : tensor<1x4x3xf32>}> : () -> tensor<1x4x3xf32>
  %b = "tosa.const"() <{values = dense<0.5> : tensor<1x1x3xf32>}> : () -> tensor<1x1x3xf32>
  %s = tosa.const_shape {values = dense<[1, 2, 4]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %x3 = tosa.reshape %x, %s : (tensor<2x4xf32>, !tosa.shape<3>) -> tensor<1x2x4xf32>
  %y = tosa.matmul %x3, %w, %zp, %zp : (tensor<1x2x4xf32>, tensor<1x4x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x3xf32> loc("fc"("model.py":3:4))
  %z = tosa.add %y, %b : (tensor<1x2x3xf32>, tensor<1x1x3xf32>) -> tensor<1x2x3xf32> loc("fc"("model.py":3:4))
  return %z : tensor<1x2x3xf32>
}
