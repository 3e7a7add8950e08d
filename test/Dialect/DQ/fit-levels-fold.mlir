// RUN: dq-opt %s -canonicalize | FileCheck %s

// One bit, bipolar: the fitted level is the mean of sign(code) * target.
// Channel 0: codes 1,1,0,0 targets 1,3,-2,-2 -> (1+3+2+2)/4 = 2.
// Channel 1: codes 1,0,1,0 targets 1,-1,1,-1 -> 1.
// CHECK-LABEL: func.func @bipolar
// CHECK: arith.constant dense<{{\[}}[2.000000e+00], [1.000000e+00]]> : tensor<2x1xf32>
// CHECK-NOT: dq.fit_levels
func.func @bipolar() -> tensor<2x1xf32> {
  %c = arith.constant dense<[[1, 1, 0, 0], [1, 0, 1, 0]]> : tensor<2x4xi8>
  %t = arith.constant dense<[[1.0, 3.0, -2.0, -2.0], [1.0, -1.0, 1.0, -1.0]]> : tensor<2x4xf32>
  %v = arith.constant dense<0.0> : tensor<2x1xf32>
  %r = dq.fit_levels %c, %t, %v axis = 0 bipolar ridge = 1.0e-12 : (tensor<2x4xi8>, tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  return %r : tensor<2x1xf32>
}

// Unipolar with channel weights 3 and 1: (3*1 + 1*3) / 4 = 1.5.
// CHECK-LABEL: func.func @weighted
// CHECK: arith.constant dense<1.500000e+00> : tensor<1xf32>
func.func @weighted() -> tensor<1xf32> {
  %c = arith.constant dense<[[1, 1]]> : tensor<1x2xi8>
  %x = arith.constant dense<[[1.0, 3.0]]> : tensor<1x2xf32>
  %u = arith.constant dense<0.0> : tensor<1xf32>
  %w = arith.constant dense<[3.0, 1.0]> : tensor<2xf32>
  %r = dq.fit_levels %c, %x, %u weights %w axis = 1 unipolar ridge = 1.0e-12 : (tensor<1x2xi8>, tensor<1x2xf32>, tensor<1xf32>, tensor<2xf32>) -> tensor<1xf32>
  return %r : tensor<1xf32>
}

// With no element in the fit the ridge keeps the previous basis.
// CHECK-LABEL: func.func @zero_weight
// CHECK: arith.constant dense<[2.500000e-01, 5.000000e-01]> : tensor<2xf32>
func.func @zero_weight() -> tensor<2xf32> {
  %c = arith.constant dense<[[3]]> : tensor<1x1xi8>
  %x = arith.constant dense<[[7.0]]> : tensor<1x1xf32>
  %u = arith.constant dense<[0.25, 0.5]> : tensor<2xf32>
  %w = arith.constant dense<0.0> : tensor<1xf32>
  %r = dq.fit_levels %c, %x, %u weights %w axis = 1 unipolar ridge = 1.0e-4 : (tensor<1x1xi8>, tensor<1x1xf32>, tensor<2xf32>, tensor<1xf32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}
