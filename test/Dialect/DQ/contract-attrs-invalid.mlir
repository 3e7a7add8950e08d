// RUN: dq-opt %s -split-input-file -verify-diagnostics

// The contract attributes are checked wherever they appear: dq.state and
// dq.role on function arguments and results, dq.name on ops. The error
// names the function and the argument or result.

func.func @train_step(
    // expected-error @+1 {{@train_step argument 0 ('fc.weight'): dq.role "bogus" is not a role (one of codes, basis, latent, momentum, second_moment, act_basis, param, running_mean, running_var)}}
    %w: tensor<2x4xf32> {dq.role = "bogus", dq.state = "fc.weight"}) {
  return
}

// -----

func.func @predict(
    %x: tensor<3x4xf32>,
    // expected-error @+1 {{@predict argument 1 ('fc.weight.codes'): role 'codes' needs a static tensor of i8, got 'tensor<2x4xf32>'}}
    %c: tensor<2x4xf32> {dq.role = "codes", dq.state = "fc.weight.codes"}) {
  return
}

// -----

// expected-error @+1 {{@init_state result 0 ('fc.weight'): role 'param' needs a static tensor of f32, got 'tensor<2x4xi8>'}}
func.func @init_state() -> (tensor<2x4xi8> {dq.role = "param", dq.state = "fc.weight"}) {
  %c = arith.constant dense<0> : tensor<2x4xi8>
  return %c : tensor<2x4xi8>
}

// -----

// expected-error @+1 {{@init_state result 0: dq.role without dq.state (a role belongs to a named state tensor)}}
func.func @init_state() -> (tensor<2xf32> {dq.role = "param"}) {
  %c = arith.constant dense<0.0> : tensor<2xf32>
  return %c : tensor<2xf32>
}

// -----

// An external declaration: the error is on the function.
// expected-error @+1 {{@f argument 0: dq.state must be a non-empty string naming the state tensor, got 3 : i64}}
func.func private @f(tensor<2xf32> {dq.state = 3})

// -----

// expected-error @+1 {{@f result 0 ('b'): dq.role 7 : i64 is not a role}}
func.func private @f() -> (tensor<2xf32> {dq.role = 7, dq.state = "b"})

// -----

func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'tosa.abs' op dq.name must be a non-empty string (the layer's name), got ""}}
  %y = tosa.abs %x {dq.name = ""} : (tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// dq.latent_init (the fp32 weights of a fine-tuned layer) belongs on a
// dq.decode_weights, with its decoded type and finite values.
func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'tosa.abs' op dq.latent_init belongs on a dq.decode_weights (the initial latent weights of its codes)}}
  %y = tosa.abs %x {dq.latent_init = dense<0.0> : tensor<2xf32>} : (tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

func.func @f(%c: tensor<2x3xi8>, %v: tensor<2x1xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'dq.decode_weights' op dq.latent_init must be dense f32 elements of the decoded type 'tensor<2x3xf32>'}}
  %w = dq.decode_weights %c, %v config = #dq.weight_quant<bits = 1, scheme = dq> axis = 0 {dq.latent_init = dense<0.0> : tensor<3x2xf32>} : (tensor<2x3xi8>, tensor<2x1xf32>) -> tensor<2x3xf32>
  return %w : tensor<2x3xf32>
}

// -----

func.func @f(%c: tensor<2x3xi8>, %v: tensor<2x1xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'dq.decode_weights' op dq.latent_init has a NaN or infinite value}}
  %w = dq.decode_weights %c, %v config = #dq.weight_quant<bits = 1, scheme = dq> axis = 0 {dq.latent_init = dense<[[0.0, 1.0, 0x7FC00000], [0.0, 0.0, 0.0]]> : tensor<2x3xf32>} : (tensor<2x3xi8>, tensor<2x1xf32>) -> tensor<2x3xf32>
  return %w : tensor<2x3xf32>
}
