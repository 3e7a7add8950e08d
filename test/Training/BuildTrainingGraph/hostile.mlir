// RUN: dq-opt %s -split-input-file --dq-build-training-graph -verify-diagnostics

// A model that calls itself would overflow the stack in the compiled step.
func.func @model(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{dq-build-training-graph: recursive call: @model -> @model (recursion is not supported: the call depth must be static)}}
  %y = func.call @model(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// The same through another function; the error names the cycle.
func.func @model(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = func.call @block(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
func.func private @block(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = func.call @inner(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
func.func private @inner(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{dq-build-training-graph: recursive call: @block -> @inner -> @block}}
  %y = func.call @block(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Codes outside [0, 2^K) index no level.
func.func @model(%x: tensor<2x4xf32>) -> tensor<1x2x3xf32> {
  %c = arith.constant dense<[[[0, 1, 2], [3, 4, 0], [1, -1, 2], [0, 0, 0]]]> : tensor<1x4x3xi8>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %v = "tosa.const"() <{values = dense<0.1> : tensor<3x2xf32>}> : () -> tensor<3x2xf32>
  // expected-error @+1 {{codes must be in [0, 4) for 2-bit weights; 2 of 12 are not (the first: 4 at index 4)}}
  %w = dq.decode_weights %c, %v config = #dq.weight_quant<bits = 2, scheme = dq> axis = 2 : (tensor<1x4x3xi8>, tensor<3x2xf32>) -> tensor<1x4x3xf32>
  %s = tosa.const_shape {values = dense<[1, 2, 4]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %x3 = tosa.reshape %x, %s : (tensor<2x4xf32>, !tosa.shape<3>) -> tensor<1x2x4xf32>
  %y = tosa.matmul %x3, %w, %zp, %zp : (tensor<1x2x4xf32>, tensor<1x4x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x3xf32>
  return %y : tensor<1x2x3xf32>
}

// -----

func.func @model(%x: tensor<2x4xf32>) -> tensor<1x2x3xf32> {
  %c = arith.constant dense<-3> : tensor<1x4x3xi8>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %v = "tosa.const"() <{values = dense<0.1> : tensor<3x1xf32>}> : () -> tensor<3x1xf32>
  // Codes are unsigned bytes: the i8 -3 is the code 253.
  // expected-error @+1 {{codes must be in [0, 2) for 1-bit weights, got the splat 253}}
  %w = dq.decode_weights %c, %v config = #dq.weight_quant<bits = 1, scheme = dq> axis = 2 : (tensor<1x4x3xi8>, tensor<3x1xf32>) -> tensor<1x4x3xf32>
  %s = tosa.const_shape {values = dense<[1, 2, 4]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %x3 = tosa.reshape %x, %s : (tensor<2x4xf32>, !tosa.shape<3>) -> tensor<1x2x4xf32>
  %y = tosa.matmul %x3, %w, %zp, %zp : (tensor<1x2x4xf32>, tensor<1x4x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x3xf32>
  return %y : tensor<1x2x3xf32>
}

// -----

// A constant slice past its input verifies in TOSA; its gradient would not
// (found by fuzzing: F5 in docs/Fuzzing.md).
func.func @model(%x: tensor<2x4xf32>) -> tensor<1x2x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w = "tosa.const"() <{values = dense<0.1> : tensor<1x4x4xf32>}> : () -> tensor<1x4x4xf32>
  %s = tosa.const_shape {values = dense<[1, 2, 4]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %x3 = tosa.reshape %x, %s : (tensor<2x4xf32>, !tosa.shape<3>) -> tensor<1x2x4xf32>
  %y = tosa.matmul %x3, %w, %zp, %zp : (tensor<1x2x4xf32>, tensor<1x4x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x4xf32>
  %start = tosa.const_shape {values = dense<[0, 0, 2]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %size = tosa.const_shape {values = dense<[1, 2, 3]> : tensor<3xindex>} : () -> !tosa.shape<3>
  // expected-error @+1 {{slice reads outside its input in dimension 2: start 2 and size 3 for a dimension of 4}}
  %r = tosa.slice %y, %start, %size : (tensor<1x2x4xf32>, !tosa.shape<3>, !tosa.shape<3>) -> tensor<1x2x3xf32>
  return %r : tensor<1x2x3xf32>
}
