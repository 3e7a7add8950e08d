// RUN: dq-opt %s | FileCheck %s
// RUN: dq-opt %s | dq-opt | FileCheck %s
// RUN: dq-opt %s --canonicalize --cse | FileCheck %s --check-prefix=KEPT

// dq.all_reduce and the cross_replica forms of the batch-statistics ops
// round-trip.

// CHECK-LABEL: func.func @all_reduce
// CHECK: dq.all_reduce %{{.*}} mean : tensor<16x3xf32>
// CHECK: dq.all_reduce %{{.*}} sum : tensor<i32>
// CHECK: dq.all_reduce %{{.*}} sum : tensor<4xf64>
// It communicates: neither a duplicate nor an unused one is removed.
// KEPT-LABEL: func.func @all_reduce
// KEPT-COUNT-4: dq.all_reduce
func.func @all_reduce(%g: tensor<16x3xf32>, %c: tensor<i32>, %h: tensor<4xf64>)
    -> (tensor<16x3xf32>, tensor<i32>, tensor<16x3xf32>) {
  %0 = dq.all_reduce %g mean : tensor<16x3xf32>
  %1 = dq.all_reduce %c sum : tensor<i32>
  %2 = dq.all_reduce %h sum : tensor<4xf64>
  %3 = dq.all_reduce %g mean : tensor<16x3xf32>
  return %0, %1, %3 : tensor<16x3xf32>, tensor<i32>, tensor<16x3xf32>
}

// CHECK-LABEL: func.func @cross_replica
// CHECK: dq.batch_norm_train %{{.*}} axis = 3 epsilon = 1.000000e-05 cross_replica :
// CHECK: dq.channel_weights %{{.*}} trim = 0.000000e+00 epsilon = 1.000000e-08 cross_replica :
// CHECK: dq.fit_levels %{{.*}} unipolar ridge = 1.000000e-04 cross_replica :
func.func @cross_replica(%x: tensor<2x4x4x8xf32>, %c: tensor<8xf32>, %u: tensor<2xf32>, %k: tensor<2x4x4x8xi8>)
    -> (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<2xf32>) {
  %y, %m, %v = dq.batch_norm_train %x, %c, %c axis = 3 epsilon = 1.0e-5 cross_replica
      : (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>)
  %w = dq.channel_weights %x, %u axis = 3 trim = 0.0 epsilon = 1.0e-8 cross_replica
      : (tensor<2x4x4x8xf32>, tensor<2xf32>) -> tensor<8xf32>
  %f = dq.fit_levels %k, %x, %u weights %w axis = 3 unipolar ridge = 1.0e-4 cross_replica
      : (tensor<2x4x4x8xi8>, tensor<2x4x4x8xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<2xf32>
  return %y, %w, %f : tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<2xf32>
}
