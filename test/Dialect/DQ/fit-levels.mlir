// RUN: dq-opt %s | FileCheck %s
// RUN: dq-opt %s | dq-opt | FileCheck %s

// CHECK-LABEL: func.func @per_channel
// CHECK: dq.fit_levels %{{.*}}, %{{.*}}, %{{.*}} axis = 0 bipolar ridge = 1.000000e-04 : (tensor<16x72xi8>, tensor<16x72xf32>, tensor<16x2xf32>) -> tensor<16x2xf32>
func.func @per_channel(%c: tensor<16x72xi8>, %t: tensor<16x72xf32>, %v: tensor<16x2xf32>) -> tensor<16x2xf32> {
  %r = dq.fit_levels %c, %t, %v axis = 0 bipolar ridge = 1.0e-4 : (tensor<16x72xi8>, tensor<16x72xf32>, tensor<16x2xf32>) -> tensor<16x2xf32>
  return %r : tensor<16x2xf32>
}

// CHECK-LABEL: func.func @weighted_layer
// CHECK: dq.fit_levels %{{.*}}, %{{.*}}, %{{.*}} weights %{{.*}} axis = 3 unipolar ridge = 1.000000e-04 : (tensor<8x4x4x16xi8>, tensor<8x4x4x16xf32>, tensor<2xf32>, tensor<16xf32>) -> tensor<2xf32>
func.func @weighted_layer(%c: tensor<8x4x4x16xi8>, %x: tensor<8x4x4x16xf32>, %u: tensor<2xf32>, %w: tensor<16xf32>) -> tensor<2xf32> {
  %r = dq.fit_levels %c, %x, %u weights %w axis = 3 unipolar ridge = 1.0e-4 : (tensor<8x4x4x16xi8>, tensor<8x4x4x16xf32>, tensor<2xf32>, tensor<16xf32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}
