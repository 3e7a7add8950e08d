// RUN: dq-opt %s -split-input-file -verify-diagnostics

func.func @bits(%x: tensor<4x3xf32>, %u: tensor<3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{config has 2 bits but the basis has 3}}
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 1 : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %q : tensor<4x3xf32>
}

// -----

func.func @basis_rank(%x: tensor<4x3xf32>, %u: tensor<3x2xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{unipolar basis must have rank 1, got rank 2}}
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 1 : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x3xf32>
  return %q : tensor<4x3xf32>
}

// -----

func.func @axis(%x: tensor<4x3xf32>, %u: tensor<2xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{axis -1 is out of range for input of rank 2}}
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = -1 : (tensor<4x3xf32>, tensor<2xf32>) -> tensor<4x3xf32>
  return %q : tensor<4x3xf32>
}

// -----

func.func @result_type(%x: tensor<4x3xf32>, %u: tensor<2xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{all of {input, result} have same type}}
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 1 : (tensor<4x3xf32>, tensor<2xf32>) -> tensor<4x4xf32>
  return %q : tensor<4x4xf32>
}

// -----

func.func @dynamic_bits(%x: tensor<4x3xf32>, %u: tensor<?xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{basis must have a static number of bits}}
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 1 : (tensor<4x3xf32>, tensor<?xf32>) -> tensor<4x3xf32>
  return %q : tensor<4x3xf32>
}
