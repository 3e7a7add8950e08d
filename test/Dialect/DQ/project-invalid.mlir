// RUN: dq-opt %s -split-input-file -verify-diagnostics

func.func @missing_counter(%w: tensor<4x3xf32>, %v: tensor<4x2xf32>) -> tensor<4x3xi8> {
  // expected-error @+1 {{stochastic rounding needs a counter operand and a seed attribute}}
  %c = dq.project %w, %v axis = 0 bipolar stochastic : (tensor<4x3xf32>, tensor<4x2xf32>) -> tensor<4x3xi8>
  return %c : tensor<4x3xi8>
}

// -----

func.func @nearest_with_seed(%w: tensor<4x3xf32>, %v: tensor<4x2xf32>) -> tensor<4x3xi8> {
  // expected-error @+1 {{nearest rounding takes no counter or seed}}
  %c = dq.project %w, %v axis = 0 bipolar nearest seed = 3 : (tensor<4x3xf32>, tensor<4x2xf32>) -> tensor<4x3xi8>
  return %c : tensor<4x3xi8>
}

// -----

func.func @codes_shape(%w: tensor<4x3xf32>, %v: tensor<4x2xf32>) -> tensor<4x2xi8> {
  // expected-error @+1 {{values and codes differ in dimension 1 (3 vs 2)}}
  %c = dq.project %w, %v axis = 0 bipolar nearest : (tensor<4x3xf32>, tensor<4x2xf32>) -> tensor<4x2xi8>
  return %c : tensor<4x2xi8>
}

// -----

func.func @unipolar_rank(%x: tensor<4x3xf32>, %u: tensor<4x2xf32>) -> tensor<4x3xi8> {
  // expected-error @+1 {{unipolar basis must have rank 1, got rank 2}}
  %c = dq.project %x, %u axis = 1 unipolar nearest : (tensor<4x3xf32>, tensor<4x2xf32>) -> tensor<4x3xi8>
  return %c : tensor<4x3xi8>
}

// -----

func.func @code_width(%w: tensor<4x3xf32>, %v: tensor<4x4xf32>) -> tensor<4x3xi3> {
  // expected-error @+1 {{code element type 'i3' cannot hold 4-bit codes}}
  %c = dq.project %w, %v axis = 0 bipolar nearest : (tensor<4x3xf32>, tensor<4x4xf32>) -> tensor<4x3xi3>
  return %c : tensor<4x3xi3>
}

// -----

func.func @unknown_rounding(%w: tensor<4x3xf32>, %v: tensor<4x2xf32>) -> tensor<4x3xi8> {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'rounding' [nearest, stochastic]}}
  %c = dq.project %w, %v axis = 0 bipolar round : (tensor<4x3xf32>, tensor<4x2xf32>) -> tensor<4x3xi8>
  return %c : tensor<4x3xi8>
}
