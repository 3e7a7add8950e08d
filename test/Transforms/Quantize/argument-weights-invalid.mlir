// RUN: dq-opt %s --dq-quantize="keep-first-last=false" -verify-diagnostics
// RUN: not dq-opt %s --dq-quantize="keep-first-last=false" 2>&1 | FileCheck %s
// CHECK: error: dq-quantize would change the signature
// CHECK-NOT: see current operation

// Changing the signature of a function that has callers would break them.

// expected-error @+1 {{dq-quantize would change the signature of 'conv' (argument weights become codes + basis) but it has callers}}
func.func @conv(%x: tensor<1x4x4x2xf32>, %w: tensor<3x3x3x2xf32>, %b: tensor<3xf32>) -> tensor<1x4x4x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %y = tosa.conv2d %x, %w, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<3x3x3x2xf32>, tensor<3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x3xf32>
  return %y : tensor<1x4x4x3xf32>
}

func.func @caller(%x: tensor<1x4x4x2xf32>, %w: tensor<3x3x3x2xf32>, %b: tensor<3xf32>) -> tensor<1x4x4x3xf32> {
  %y = func.call @conv(%x, %w, %b) : (tensor<1x4x4x2xf32>, tensor<3x3x3x2xf32>, tensor<3xf32>) -> tensor<1x4x4x3xf32>
  return %y : tensor<1x4x4x3xf32>
}
