// RUN: dq-opt %s | FileCheck %s
// RUN: dq-opt %s | dq-opt | FileCheck %s

// CHECK-LABEL: func.func @nearest
// CHECK: dq.project %{{.*}}, %{{.*}} axis = 0 bipolar nearest : (tensor<16x72xf32>, tensor<16x2xf32>) -> tensor<16x72xi8>
func.func @nearest(%w: tensor<16x72xf32>, %v: tensor<16x2xf32>) -> tensor<16x72xi8> {
  %c = dq.project %w, %v axis = 0 bipolar nearest : (tensor<16x72xf32>, tensor<16x2xf32>) -> tensor<16x72xi8>
  return %c : tensor<16x72xi8>
}

// CHECK-LABEL: func.func @stochastic
// CHECK: dq.project %{{.*}}, %{{.*}} counter %{{.*}} axis = 0 bipolar stochastic seed = 7 : (tensor<16x72xf32>, tensor<16x2xf32>, i64) -> tensor<16x72xi8>
func.func @stochastic(%w: tensor<16x72xf32>, %v: tensor<16x2xf32>, %step: i64) -> tensor<16x72xi8> {
  %c = dq.project %w, %v counter %step axis = 0 bipolar stochastic seed = 7 : (tensor<16x72xf32>, tensor<16x2xf32>, i64) -> tensor<16x72xi8>
  return %c : tensor<16x72xi8>
}

// CHECK-LABEL: func.func @unipolar
// CHECK: dq.project {{.*}} axis = 3 unipolar nearest : (tensor<2x4x4x8xf32>, tensor<3xf32>) -> tensor<2x4x4x8xi8>
func.func @unipolar(%x: tensor<2x4x4x8xf32>, %u: tensor<3xf32>) -> tensor<2x4x4x8xi8> {
  %c = dq.project %x, %u axis = 3 unipolar nearest : (tensor<2x4x4x8xf32>, tensor<3xf32>) -> tensor<2x4x4x8xi8>
  return %c : tensor<2x4x4x8xi8>
}
