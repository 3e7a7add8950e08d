// RUN: dq-opt %s -split-input-file -verify-diagnostics

func.func @mean_of_integers(%c: tensor<i32>) -> tensor<i32> {
  // expected-error @+1 {{a mean all-reduce takes float tensors, not 'tensor<i32>'}}
  %0 = dq.all_reduce %c mean : tensor<i32>
  return %0 : tensor<i32>
}

// -----

func.func @unknown_reduction(%g: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'reduction' [sum, mean]}}
  %0 = dq.all_reduce %g max : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @element_type(%g: tensor<4xi8>) -> tensor<4xi8> {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 64-bit float or 32-bit signless integer values}}
  %0 = dq.all_reduce %g sum : tensor<4xi8>
  return %0 : tensor<4xi8>
}
