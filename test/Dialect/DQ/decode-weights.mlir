// RUN: dq-opt %s | FileCheck %s
// RUN: dq-opt %s | dq-opt | FileCheck %s
// RUN: dq-opt %s -mlir-print-op-generic | dq-opt | FileCheck %s

// CHECK-LABEL: func.func @conv_weights
// CHECK: dq.decode_weights %{{.*}}, %{{.*}} config = #dq.weight_quant<bits = 2, scheme = dq> axis = 0 : (tensor<16x3x3x8xi8>, tensor<16x2xf32>) -> tensor<16x3x3x8xf32>
func.func @conv_weights(%c: tensor<16x3x3x8xi8>, %v: tensor<16x2xf32>) -> tensor<16x3x3x8xf32> {
  %w = dq.decode_weights %c, %v config = #dq.weight_quant<bits = 2, scheme = dq> axis = 0
         : (tensor<16x3x3x8xi8>, tensor<16x2xf32>) -> tensor<16x3x3x8xf32>
  return %w : tensor<16x3x3x8xf32>
}

// The config is optional; the channel axis may be any dimension.
// CHECK-LABEL: func.func @matmul_weights
// CHECK: dq.decode_weights %{{.*}}, %{{.*}} axis = 1 : (tensor<64x10xi8>, tensor<10x8xf32>) -> tensor<64x10xf32>
func.func @matmul_weights(%c: tensor<64x10xi8>, %v: tensor<10x8xf32>) -> tensor<64x10xf32> {
  %w = dq.decode_weights %c, %v axis = 1 : (tensor<64x10xi8>, tensor<10x8xf32>) -> tensor<64x10xf32>
  return %w : tensor<64x10xf32>
}

// Dynamic dimensions are accepted.
// CHECK-LABEL: func.func @dynamic
// CHECK: dq.decode_weights {{.*}} : (tensor<?x9xi8>, tensor<?x3xf32>) -> tensor<?x9xf32>
func.func @dynamic(%c: tensor<?x9xi8>, %v: tensor<?x3xf32>) -> tensor<?x9xf32> {
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<?x9xi8>, tensor<?x3xf32>) -> tensor<?x9xf32>
  return %w : tensor<?x9xf32>
}
