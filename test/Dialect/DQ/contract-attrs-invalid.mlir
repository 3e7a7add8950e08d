// RUN: dq-opt %s -split-input-file -verify-diagnostics

// The contract attributes are checked wherever they appear: dq.state and
// dq.role on function arguments and results, dq.name on ops. The error
// names the function and the argument or result.

func.func @train_step(
    // expected-error @+1 {{@train_step argument 0 ('fc.weight'): dq.role "bogus" is not a role (one of codes, basis, latent, momentum, act_basis, param, running_mean, running_var)}}
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
