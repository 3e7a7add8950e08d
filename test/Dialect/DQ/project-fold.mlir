// RUN: dq-opt %s -canonicalize | FileCheck %s

// v = (0.5, 2): levels by code 0..3 are -2.5, -1.5, 1.5, 2.5.
// -3 -> 0; -2 ties -2.5/-1.5 -> up, code 1; 0 ties -1.5/1.5 -> code 2;
// 2 ties 1.5/2.5 -> code 3; 1.9 -> code 2.
// CHECK-LABEL: func.func @nearest
// CHECK: arith.constant dense<[0, 1, 2, 3, 2]> : tensor<5xi8>
// CHECK-NOT: dq.project
func.func @nearest() -> tensor<5xi8> {
  %x = arith.constant dense<[-3.0, -2.0, 0.0, 2.0, 1.9]> : tensor<5xf32>
  %v = arith.constant dense<[[0.5, 2.0]]> : tensor<1x2xf32>
  %x2 = tensor.expand_shape %x [[0, 1]] output_shape [1, 5] : tensor<5xf32> into tensor<1x5xf32>
  %c = dq.project %x2, %v axis = 0 bipolar nearest : (tensor<1x5xf32>, tensor<1x2xf32>) -> tensor<1x5xi8>
  %c1 = tensor.collapse_shape %c [[0, 1]] : tensor<1x5xi8> into tensor<5xi8>
  return %c1 : tensor<5xi8>
}

// Stochastic rounding of values on a level or beyond the extremes is
// deterministic: on a level it stays, beyond it takes the extreme.
// CHECK-LABEL: func.func @stochastic
// CHECK: arith.constant dense<[0, 1, 2, 3, 3]> : tensor<5xi8>
// CHECK-NOT: dq.project
func.func @stochastic() -> tensor<5xi8> {
  %x = arith.constant dense<[-9.0, 1.0, 2.0, 3.0, 9.0]> : tensor<5xf32>
  %u = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %step = arith.constant 12 : i64
  %c = dq.project %x, %u counter %step axis = 0 unipolar stochastic seed = 5 : (tensor<5xf32>, tensor<2xf32>, i64) -> tensor<5xi8>
  return %c : tensor<5xi8>
}
