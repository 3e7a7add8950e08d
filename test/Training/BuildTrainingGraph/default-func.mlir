// Without func=, the model is the only public function with a body, whatever
// its name; with several, the one named @model (issue 17: a single-function
// module needs no func=).
// RUN: dq-opt %s -split-input-file --dq-build-training-graph | FileCheck %s
// RUN: not dq-opt %s -split-input-file --dq-differentiate 2>/dev/null | FileCheck %s --check-prefix=VJP
// RUN: not dq-opt %s -split-input-file --dq-differentiate 2>&1 >/dev/null | FileCheck %s --check-prefix=VJPERR

// (The images' shape tells which function the step trains.)
// CHECK-LABEL: func.func @net(
// CHECK:       func.func @train_step(%{{.*}}: tensor<2x5xf32>, %{{.*}}: tensor<2xi32>
// CHECK:       func.func @predict(%{{.*}}: tensor<2x5xf32>)
// VJP-LABEL:   func.func @net(
// VJP:         func.func @net_vjp(%{{.*}}: tensor<2x5xf32>, %{{.*}}: tensor<2x5xf32>)
// dq-differentiate has no @model fallback: two public functions are an error.
// VJPERR:      error: dq-differentiate: the module has 2 public functions with a body (@model, @other); set func=<name>
func.func @net(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  return %x : tensor<2x5xf32>
}
func.func private @helper(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  return %x : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @model(
// CHECK:       func.func @train_step(%{{.*}}: tensor<2x4xf32>,
func.func @model(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  return %x : tensor<2x4xf32>
}
func.func @other(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  return %x : tensor<2x3xf32>
}
