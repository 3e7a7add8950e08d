// RUN: dq-opt %s -split-input-file --dq-build-training-graph -verify-diagnostics

// An op on the path from a trained value to the loss without a gradient
// rule is an error naming it.
func.func @model(%x: tensor<2x4xf32>) -> tensor<1x2x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w = "tosa.const"() <{values = dense<0.1> : tensor<1x4x3xf32>}> : () -> tensor<1x4x3xf32>
  %s = tosa.const_shape {values = dense<[1, 2, 4]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %x3 = tosa.reshape %x, %s : (tensor<2x4xf32>, !tosa.shape<3>) -> tensor<1x2x4xf32>
  %y = tosa.matmul %x3, %w, %zp, %zp : (tensor<1x2x4xf32>, tensor<1x4x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x3xf32>
  // expected-error @+1 {{no gradient rule for 'tosa.tanh' on the path from the trained values to the loss}}
  %t = tosa.tanh %y : (tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
  return %t : tensor<1x2x3xf32>
}

// -----

// expected-error @+1 {{dq-build-training-graph: the model's result must be [N x K] or [1 x N x K] logits with N = 2 (the image batch), got 'tensor<2x3x1xf32>'}}
func.func @model(%x: tensor<2x3x1xf32>) -> tensor<2x3x1xf32> {
  return %x : tensor<2x3x1xf32>
}

// -----

// Without func=, several public functions and none named @model: which
// one is the model is not guessed.
// expected-error @+1 {{dq-build-training-graph: the module has 2 public functions with a body (@net, @other); set func=<name>}}
module {
  func.func @net(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    return %x : tensor<2x3xf32>
  }
  func.func @other(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    return %x : tensor<2x3xf32>
  }
}

// -----

// expected-error @+1 {{dq-build-training-graph: the module has no public function with a body}}
module {
  func.func private @net(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    return %x : tensor<2x3xf32>
  }
}

// -----

func.func @model(%x: tensor<2x4xf32>) -> tensor<1x2x3xf32> {
  %c0 = arith.constant dense<1> : tensor<1x4x3xi8>
  %c = tosa.abs %c0 : (tensor<1x4x3xi8>) -> tensor<1x4x3xi8>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %v = "tosa.const"() <{values = dense<0.1> : tensor<3x2xf32>}> : () -> tensor<3x2xf32>
  // expected-error @+1 {{the training graph needs constant codes and basis (weights passed as arguments or computed are not supported yet)}}
  %w = dq.decode_weights %c, %v config = #dq.weight_quant<bits = 2, scheme = dq> axis = 2 : (tensor<1x4x3xi8>, tensor<3x2xf32>) -> tensor<1x4x3xf32>
  %s = tosa.const_shape {values = dense<[1, 2, 4]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %x3 = tosa.reshape %x, %s : (tensor<2x4xf32>, !tosa.shape<3>) -> tensor<1x2x4xf32>
  %y = tosa.matmul %x3, %w, %zp, %zp : (tensor<1x2x4xf32>, tensor<1x4x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x3xf32>
  return %y : tensor<1x2x3xf32>
}
