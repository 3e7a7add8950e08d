// RUN: dq-opt %s -split-input-file -verify-diagnostics

func.func @f(%c: tensor<4x70xi8>) {
  // expected-error @+1 {{must have ceil(70 / 64) = 2 words per plane, got 1}}
  %p = dq.pack_bits %c bits = 2 : (tensor<4x70xi8>) -> tensor<4x2x1xi64>
  return
}

// -----

func.func @f(%c: tensor<4x8xi8>) {
  // expected-error @+1 {{must be the number of bits (3), got 2}}
  %p = dq.pack_bits %c bits = 3 : (tensor<4x8xi8>) -> tensor<4x2x1xi64>
  return
}

// -----

func.func @f(%c: tensor<4x8xi8>) {
  // expected-error @+1 {{bits has 9 bits; expected 1 to 8}}
  %p = dq.pack_bits %c bits = 9 : (tensor<4x8xi8>) -> tensor<4x9x1xi64>
  return
}

// -----

func.func @f(%a: tensor<1x4x4x2x1xi64>, %w: tensor<8x3x3x2x2xi64>, %v: tensor<8x2xf32>, %u: tensor<2xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{input and weight must have the same number of words per plane, got 1 and 2}}
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [1, 1, 1, 1] stride = [1, 1] dilation = [1, 1] : (tensor<1x4x4x2x1xi64>, tensor<8x3x3x2x2xi64>, tensor<8x2xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  return
}

// -----

func.func @f(%a: tensor<1x4x4x2x1xi64>, %w: tensor<8x3x3x2x1xi64>, %v: tensor<8x3xf32>, %u: tensor<2xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{weight_basis must be [8 x 2] (output channels x weight bits)}}
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [1, 1, 1, 1] stride = [1, 1] dilation = [1, 1] : (tensor<1x4x4x2x1xi64>, tensor<8x3x3x2x1xi64>, tensor<8x3xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  return
}

// -----

func.func @f(%a: tensor<1x4x4x2x1xi64>, %w: tensor<8x3x3x2x1xi64>, %v: tensor<8x2xf32>, %u: tensor<3xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{act_basis must have 2 elements (the input's planes)}}
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [1, 1, 1, 1] stride = [1, 1] dilation = [1, 1] : (tensor<1x4x4x2x1xi64>, tensor<8x3x3x2x1xi64>, tensor<8x2xf32>, tensor<3xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  return
}

// -----

func.func @f(%a: tensor<1x4x4x2x1xi64>, %w: tensor<8x3x3x2x1xi64>, %v: tensor<8x2xf32>, %u: tensor<2xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{result dimension 1 must be 2, got 4}}
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [0, 0, 0, 0] stride = [1, 1] dilation = [1, 1] : (tensor<1x4x4x2x1xi64>, tensor<8x3x3x2x1xi64>, tensor<8x2xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  return
}

// -----

func.func @f(%a: tensor<1x4x4x2x1xi64>, %w: tensor<8x3x3x2x1xi64>, %v: tensor<8x2xf32>, %u: tensor<2xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{stride and dilation values must be in [1, 2^31]}}
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [1, 1, 1, 1] stride = [0, 1] dilation = [1, 1] : (tensor<1x4x4x2x1xi64>, tensor<8x3x3x2x1xi64>, tensor<8x2xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  return
}

// -----

func.func @f(%a: tensor<1x4x4x2x1xi64>, %w: tensor<8x5x5x2x1xi64>, %v: tensor<8x2xf32>, %u: tensor<2xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{the kernel does not fit the padded input along H}}
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [0, 0, 0, 0] stride = [1, 1] dilation = [1, 1] : (tensor<1x4x4x2x1xi64>, tensor<8x5x5x2x1xi64>, tensor<8x2xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<1x1x1x8xf32>
  return
}

// -----

func.func @f(%a: tensor<1x4x4x2x1xi64>, %w: tensor<8x3x3x2x1xi64>, %v: tensor<8x2xf32>, %u: tensor<2xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{pad values must be in [0, 2^31]}}
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [9223372036854775807, 1, 1, 1] stride = [1, 1] dilation = [1, 1] : (tensor<1x4x4x2x1xi64>, tensor<8x3x3x2x1xi64>, tensor<8x2xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  return
}

// -----

func.func @f(%c: tensor<4x8xi8>) {
  // expected-error @+1 {{window needs codes [N, H, W, C], got rank 2}}
  %p = dq.pack_bits %c bits = 2 window = [3, 1, 1, 1] : (tensor<4x8xi8>) -> tensor<4x2x1xi64>
  return
}

// -----

func.func @f(%c: tensor<1x4x4x8xi8>) {
  // expected-error @+1 {{window must be [KW, padLeft, padRight, dilation], got 3 values}}
  %p = dq.pack_bits %c bits = 2 window = [3, 1, 1] : (tensor<1x4x4x8xi8>) -> tensor<1x4x4x2x1xi64>
  return
}

// -----

func.func @f(%c: tensor<1x4x4x8xi8>) {
  // expected-error @+1 {{window [3, -1, 1, 1] must have KW >= 1, pads >= 0 and dilation >= 1}}
  %p = dq.pack_bits %c bits = 2 window = [3, -1, 1, 1] : (tensor<1x4x4x8xi8>) -> tensor<1x4x4x2x1xi64>
  return
}

// -----

func.func @f(%c: tensor<1x4x2x8xi8>) {
  // expected-error @+1 {{window [5, 0, 0, 1] is wider than the padded row (2 columns)}}
  %p = dq.pack_bits %c bits = 2 window = [5, 0, 0, 1] : (tensor<1x4x2x8xi8>) -> tensor<1x4x1x2x1xi64>
  return
}

// -----

func.func @f(%c: tensor<1x4x4x8xi8>) {
  // expected-error @+1 {{result dimension 2 must be the 4 window columns, got 3}}
  %p = dq.pack_bits %c bits = 2 window = [3, 1, 1, 1] : (tensor<1x4x4x8xi8>) -> tensor<1x4x3x2x1xi64>
  return
}

// -----

func.func @f(%c: tensor<1x4x4x30xi8>) {
  // expected-error @+1 {{result must have ceil(90 / 64) = 2 words per plane, got 1}}
  %p = dq.pack_bits %c bits = 2 window = [3, 1, 1, 1] : (tensor<1x4x4x30xi8>) -> tensor<1x4x4x2x1xi64>
  return
}
