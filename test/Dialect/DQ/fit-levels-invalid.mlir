// RUN: dq-opt %s -split-input-file -verify-diagnostics

func.func @ridge(%c: tensor<4x3xi8>, %t: tensor<4x3xf32>, %v: tensor<4x2xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{ridge must be a finite number > 0, got 0}}
  %r = dq.fit_levels %c, %t, %v axis = 0 bipolar ridge = 0.0 : (tensor<4x3xi8>, tensor<4x3xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}

// -----

func.func @targets_shape(%c: tensor<4x3xi8>, %t: tensor<4x5xf32>, %v: tensor<4x2xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{codes and targets differ in dimension 1 (3 vs 5)}}
  %r = dq.fit_levels %c, %t, %v axis = 0 bipolar ridge = 1.0e-4 : (tensor<4x3xi8>, tensor<4x5xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}

// -----

func.func @weights(%c: tensor<4x3xi8>, %t: tensor<4x3xf32>, %u: tensor<2xf32>, %w: tensor<4xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{weights must have one value per channel (3 along axis 1), got 'tensor<4xf32>'}}
  %r = dq.fit_levels %c, %t, %u weights %w axis = 1 unipolar ridge = 1.0e-4 : (tensor<4x3xi8>, tensor<4x3xf32>, tensor<2xf32>, tensor<4xf32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// -----

func.func @previous_channels(%c: tensor<4x3xi8>, %t: tensor<4x3xf32>, %v: tensor<3x2xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{previous basis has 3 channels but dimension 0 has 4}}
  %r = dq.fit_levels %c, %t, %v axis = 0 bipolar ridge = 1.0e-4 : (tensor<4x3xi8>, tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

func.func @result(%c: tensor<4x3xi8>, %t: tensor<4x3xf32>, %v: tensor<4x2xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{all of {previous, result} have same type}}
  %r = dq.fit_levels %c, %t, %v axis = 0 bipolar ridge = 1.0e-4 : (tensor<4x3xi8>, tensor<4x3xf32>, tensor<4x2xf32>) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
