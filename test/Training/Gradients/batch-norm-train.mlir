// Gradient of dq.batch_norm_train (batch statistics) in input, gamma, beta.
// REQUIRES: numpy
// RUN: %gradcheck %s | FileCheck %s
// CHECK: gradcheck: 2 functions, 0 failed

func.func @nhwc(%x: tensor<3x2x2x4xf32>, %gamma: tensor<4xf32>, %beta: tensor<4xf32>) -> tensor<3x2x2x4xf32> {
  %y, %m, %v = dq.batch_norm_train %x, %gamma, %beta axis = 3 epsilon = 1.0e-5 : (tensor<3x2x2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<3x2x2x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %y : tensor<3x2x2x4xf32>
}

// Squared output so the gradient does not vanish by symmetry.
func.func @squared(%x: tensor<5x3xf32>, %gamma: tensor<3xf32>, %beta: tensor<3xf32>) -> tensor<5x3xf32> {
  %y, %m, %v = dq.batch_norm_train %x, %gamma, %beta axis = 1 epsilon = 1.0e-5 : (tensor<5x3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<5x3xf32>, tensor<3xf32>, tensor<3xf32>)
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %y, %y, %shift : (tensor<5x3xf32>, tensor<5x3xf32>, tensor<1xi8>) -> tensor<5x3xf32>
  return %sq : tensor<5x3xf32>
}
