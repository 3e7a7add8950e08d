// RUN: dq-opt %s -split-input-file --dq-verify-training-module -verify-diagnostics

// Each module breaks one rule of the training-module contract; the error
// names the function and the argument or result.

// A state tensor renamed only in @predict.
module {
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a0, %a1, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      // expected-error @+1 {{@predict argument 2 ('fc.bias2'): expected the state tensor 'fc.bias' of @init_state result 2 (every entry point has @init_state's state tensors, in its order)}}
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias2"},
      %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
}

// -----

// Renamed in @train_step's results.
module {
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  // expected-error @+1 {{@train_step result 2 ('fc.bias2'): expected the state tensor 'fc.bias' of @init_state result 2}}
  func.func @train_step(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias2"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a0, %a1, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
}

// -----

// The right state tensors in another order.
module {
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(
      // expected-error @+1 {{@train_step argument 0 ('fc.weight.basis'): expected the state tensor 'fc.weight.codes' of @init_state result 0}}
      %a0: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a1: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a1, %a0, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
}

// -----

// A state tensor without its role.
module {
  // expected-error @+1 {{@init_state result 1 ('fc.weight.basis'): a state tensor needs dq.role}}
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a0, %a1, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
}

// -----

// A role that differs between entry points.
module {
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a0, %a1, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      // expected-error @+1 {{@predict argument 2 ('fc.bias'): has role 'momentum' where the state tensor 'fc.bias' of @init_state result 2 has 'param'}}
      %a2: tensor<2xf32> {dq.role = "momentum", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
}

// -----

// A type that differs between entry points.
module {
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a0, %a1, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      // expected-error @+1 {{@predict argument 2 ('fc.bias'): is 'tensor<3xf32>' where the state tensor 'fc.bias' of @init_state result 2 is 'tensor<2xf32>'}}
      %a2: tensor<3xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
}

// -----

// Two state tensors with one name.
module {
  // expected-error @+1 {{@init_state result 2 ('fc.weight.basis'): the state name 'fc.weight.basis' is also result 1's (state names are unique)}}
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.weight.basis"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.weight.basis"},
      %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.weight.basis"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a0, %a1, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.weight.basis"},
      %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
}

// -----

// Labels of another batch than the images.
module {
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      // expected-error @+1 {{@train_step argument 4: the labels must be 'tensor<3xi32>', got 'tensor<4xi32>'}}
      %x: tensor<3x4xf32>, %labels: tensor<4xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a0, %a1, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
}

// -----

// No @predict.
// expected-error @+1 {{training module: no @predict with a body}}
module {
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a0, %a1, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
}

// -----

// @calibrate (optional) takes the batch count as i64.
module {
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a0, %a1, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
  func.func @calibrate(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      // expected-error @+1 {{@calibrate argument 4: the batch count must be 'i64', got 'i32'}}
      %x: tensor<3x4xf32>, %batches: i32, %iterations: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    return %a0, %a1, %a2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
}

// -----

// @calibrate returns the state, named as @init_state names it.
module {
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a0, %a1, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
  // expected-error @+1 {{@calibrate result 2 ('fc.bias.calibrated'): expected the state tensor 'fc.bias' of @init_state result 2}}
  func.func @calibrate(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>, %batches: i64, %iterations: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias.calibrated"}) {
    return %a0, %a1, %a2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
}

// -----

// A declared @calibrate has no body to call.
module {
  func.func @init_state() -> (
      tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %s0 = arith.constant dense<0> : tensor<2x4xi8>
    %s1 = arith.constant dense<0.0> : tensor<2x1xf32>
    %s2 = arith.constant dense<0.0> : tensor<2xf32>
    return %s0, %s1, %s2 : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %a0, %a1, %a2, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(
      %a0: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
      %a1: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
      %a2: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
      %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
  // expected-error @+1 {{@calibrate must be a func.func with a body (or absent)}}
  func.func private @calibrate(tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<3x4xf32>, i64, i64) -> (tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>)
}
