// RUN: dq-opt %s | FileCheck %s
// RUN: dq-opt %s | dq-opt | FileCheck %s

// CHECK-LABEL: func.func @ops
// CHECK: dq.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} axis = 3 epsilon = 1.000000e-05 : (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x4x8xf32>
// CHECK: dq.batch_norm_train %{{.*}}, %{{.*}}, %{{.*}} axis = 3 epsilon = 1.000000e-03 : (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>)
// CHECK: dq.softmax_cross_entropy %{{.*}}, %{{.*}} : (tensor<2x10xf32>, tensor<2xi32>) -> tensor<f32>
// CHECK: dq.count_correct %{{.*}}, %{{.*}} : (tensor<2x10xf32>, tensor<2xi32>) -> tensor<i32>
// CHECK: dq.channel_weights %{{.*}}, %{{.*}} axis = 3 trim = 2.500000e-01 epsilon = 1.000000e-08 : (tensor<2x4x4x8xf32>, tensor<2xf32>) -> tensor<8xf32>
func.func @ops(%x: tensor<2x4x4x8xf32>, %c: tensor<8xf32>, %z: tensor<2x10xf32>, %l: tensor<2xi32>, %u: tensor<2xf32>)
    -> (tensor<2x4x4x8xf32>, tensor<2x4x4x8xf32>, tensor<f32>, tensor<i32>, tensor<8xf32>) {
  %0 = dq.batch_norm %x, %c, %c, %c, %c axis = 3 epsilon = 1.0e-5 : (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x4x8xf32>
  %1:3 = dq.batch_norm_train %x, %c, %c axis = 3 epsilon = 1.0e-3 : (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>)
  %2 = dq.softmax_cross_entropy %z, %l : (tensor<2x10xf32>, tensor<2xi32>) -> tensor<f32>
  %3 = dq.count_correct %z, %l : (tensor<2x10xf32>, tensor<2xi32>) -> tensor<i32>
  %4 = dq.channel_weights %x, %u axis = 3 trim = 0.25 epsilon = 1.0e-8 : (tensor<2x4x4x8xf32>, tensor<2xf32>) -> tensor<8xf32>
  return %0, %1#0, %2, %3, %4 : tensor<2x4x4x8xf32>, tensor<2x4x4x8xf32>, tensor<f32>, tensor<i32>, tensor<8xf32>
}
