// Gradient of dq.softmax_cross_entropy in the logits.
// REQUIRES: numpy
// RUN: %gradcheck %s | FileCheck %s
// CHECK: gradcheck: 1 functions, 0 failed

func.func @loss(%logits: tensor<4x5xf32>) -> tensor<f32> {
  %labels = arith.constant dense<[0, 3, 4, 1]> : tensor<4xi32>
  %l = dq.softmax_cross_entropy %logits, %labels : (tensor<4x5xf32>, tensor<4xi32>) -> tensor<f32>
  return %l : tensor<f32>
}
