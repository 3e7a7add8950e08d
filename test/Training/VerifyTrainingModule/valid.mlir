// RUN: dq-opt %s --dq-verify-training-module | FileCheck %s
// RUN: dq-opt %s --dq-verify-training-module --mlir-print-op-generic | dq-opt --dq-verify-training-module | FileCheck %s

// A module that keeps the contract passes unchanged: three state tensors in
// the same order in every entry point, then the images, labels, learning
// rate and step.

// CHECK-LABEL: func.func @init_state()
// CHECK-SAME: {dq.role = "codes", dq.state = "fc.weight.codes"}
// CHECK-LABEL: func.func @train_step
// CHECK-LABEL: func.func @predict
module {
  func.func @init_state() -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
                              tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
                              tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"}) {
    %c = arith.constant dense<0> : tensor<2x4xi8>
    %v = arith.constant dense<1.0> : tensor<2x1xf32>
    %b = arith.constant dense<0.0> : tensor<2xf32>
    return %c, %v, %b : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>
  }
  func.func @train_step(%c: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
                        %v: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
                        %b: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
                        %x: tensor<3x4xf32>, %labels: tensor<3xi32>, %lr: f32, %step: i64)
      -> (tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
          tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
          tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
          tensor<f32>, tensor<i32>) {
    %loss = arith.constant dense<0.0> : tensor<f32>
    %n = arith.constant dense<0> : tensor<i32>
    return %c, %v, %b, %loss, %n : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>
  }
  func.func @predict(%c: tensor<2x4xi8> {dq.role = "codes", dq.state = "fc.weight.codes"},
                     %v: tensor<2x1xf32> {dq.role = "basis", dq.state = "fc.weight.basis"},
                     %b: tensor<2xf32> {dq.role = "param", dq.state = "fc.bias"},
                     %x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %l = arith.constant dense<0.0> : tensor<3x2xf32>
    return %l : tensor<3x2xf32>
  }
}
