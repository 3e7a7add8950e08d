// RUN: dq-opt %s --dq-build-training-graph | FileCheck %s

// State collection uses the one table of layer ops (dq/Contract/Layers.h)
// that --dq-quantize uses: a linalg layer's constant weight is trained like
// a TOSA layer's, through the gradient rules of the linalg named ops
// (lib/Training/LinalgGradients.cpp); the explicit pad and the reshape
// between the layers have theirs.
func.func @model(%x: tensor<2x6x6x1xf32>) -> tensor<2x3xf32> {
  %cst = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %cst : f32
  } : tensor<2x6x6x1xf32> to tensor<2x8x8x1xf32>
  %k = arith.constant dense<0.1> : tensor<4x3x3x1xf32>
  %zc = arith.constant dense<0.0> : tensor<2x6x6x4xf32>
  %c = linalg.conv_2d_nhwc_fhwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%p, %k : tensor<2x8x8x1xf32>, tensor<4x3x3x1xf32>) outs(%zc : tensor<2x6x6x4xf32>) -> tensor<2x6x6x4xf32>
  %f = tensor.collapse_shape %c [[0], [1, 2, 3]] : tensor<2x6x6x4xf32> into tensor<2x144xf32>
  %w = arith.constant dense<0.01> : tensor<144x3xf32>
  %z = arith.constant dense<0.0> : tensor<2x3xf32>
  %y = linalg.matmul ins(%f, %w : tensor<2x144xf32>, tensor<144x3xf32>) outs(%z : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @init_state()
// CHECK-SAME: tensor<4x3x3x1xf32> {dq.role = "param", dq.state = "[[CONV:conv_2d_nhwc_fhwc_0]].weight"}
// CHECK-SAME: tensor<4x3x3x1xf32> {dq.role = "momentum", dq.state = "[[CONV]].weight.momentum"}
// CHECK-SAME: tensor<144x3xf32> {dq.role = "param", dq.state = "[[FC:matmul_0]].weight"}
// CHECK-SAME: tensor<144x3xf32> {dq.role = "momentum", dq.state = "[[FC]].weight.momentum"}

// The step reads both weights from the state and returns them updated.
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[K:[a-z0-9]+]]: tensor<4x3x3x1xf32> {dq.role = "param"
// CHECK-SAME: %[[W:[a-z0-9]+]]: tensor<144x3xf32> {dq.role = "param"
// CHECK: linalg.conv_2d_nhwc_fhwc {{.*}}ins(%{{.*}}, %[[K]] :
// CHECK: linalg.matmul ins(%{{.*}}, %[[W]] :
// The fc weight's gradient: the flattened input times the output gradient,
// summed over the batch.
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel", "parallel"]{{.*}} outs(%{{.*}} : tensor<144x3xf32>)
// The conv weight's gradient reads the padded input.
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %padded{{.*}} : tensor<2x6x6x4xf32>, tensor<2x8x8x1xf32>) outs(%{{.*}} : tensor<4x3x3x1xf32>)
// CHECK: return
// CHECK-LABEL: func.func @predict(
