// RUN: dq-opt %s -split-input-file -verify-diagnostics

func.func @basis_rank(%c: tensor<4x3xi8>, %v: tensor<8xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{bipolar basis must be [channels x bits] (rank 2), got rank 1}}
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<4x3xi8>, tensor<8xf32>) -> tensor<4x3xf32>
  return %w : tensor<4x3xf32>
}

// -----

func.func @channels(%c: tensor<4x3xi8>, %v: tensor<5x2xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{basis has 5 channels but dimension 0 has 4}}
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<4x3xi8>, tensor<5x2xf32>) -> tensor<4x3xf32>
  return %w : tensor<4x3xf32>
}

// -----

func.func @too_many_bits(%c: tensor<4x3xi16>, %v: tensor<4x9xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{basis has 9 bits; expected 1 to 8}}
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<4x3xi16>, tensor<4x9xf32>) -> tensor<4x3xf32>
  return %w : tensor<4x3xf32>
}

// -----

func.func @narrow_codes(%c: tensor<4x3xi2>, %v: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{code element type 'i2' cannot hold 3-bit codes}}
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<4x3xi2>, tensor<4x3xf32>) -> tensor<4x3xf32>
  return %w : tensor<4x3xf32>
}

// -----

func.func @axis(%c: tensor<4x3xi8>, %v: tensor<4x2xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{axis 2 is out of range for codes of rank 2}}
  %w = dq.decode_weights %c, %v axis = 2 : (tensor<4x3xi8>, tensor<4x2xf32>) -> tensor<4x3xf32>
  return %w : tensor<4x3xf32>
}

// -----

func.func @config_bits(%c: tensor<4x3xi8>, %v: tensor<4x2xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{config has 3 bits but the basis has 2}}
  %w = dq.decode_weights %c, %v config = #dq.weight_quant<bits = 3, scheme = dq> axis = 0 : (tensor<4x3xi8>, tensor<4x2xf32>) -> tensor<4x3xf32>
  return %w : tensor<4x3xf32>
}

// -----

func.func @result_shape(%c: tensor<4x3xi8>, %v: tensor<4x2xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{codes and result differ in dimension 1 (3 vs 4)}}
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<4x3xi8>, tensor<4x2xf32>) -> tensor<4x4xf32>
  return %w : tensor<4x4xf32>
}

// -----

func.func @float_codes(%c: tensor<4x3xf32>, %v: tensor<4x2xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of signless integer values}}
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<4x3xf32>, tensor<4x2xf32>) -> tensor<4x3xf32>
  return %w : tensor<4x3xf32>
}
