// RUN: dq-opt %s --convert-dq-to-linalg | FileCheck %s

// decode_weights: a [channels x 2^K] level table built from the basis in
// bit order, then a gather of every code's level in its channel's row.

// CHECK-LABEL: func.func @decode
// CHECK-SAME: (%[[CODES:.*]]: tensor<4x3xi8>, %[[BASIS:.*]]: tensor<4x2xf32>)
// CHECK: %[[TABLE:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} outs(%{{.*}} : tensor<4x4xf32>)
// CHECK:   tensor.extract %[[BASIS]]
// CHECK:   arith.shrui
// CHECK:   tensor.extract %[[BASIS]]
// CHECK: linalg.generic {{.*}} ins(%[[CODES]] : tensor<4x3xi8>) outs(%{{.*}} : tensor<4x3xf32>)
// CHECK:   %[[CODE:.*]] = arith.index_castui %{{.*}} : i8 to index
// CHECK:   %[[CH:.*]] = linalg.index 0 : index
// CHECK:   tensor.extract %[[TABLE]][%[[CH]], %[[CODE]]] : tensor<4x4xf32>
// CHECK-NOT: dq.
func.func @decode(%c: tensor<4x3xi8>, %v: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<4x3xi8>, tensor<4x2xf32>) -> tensor<4x3xf32>
  return %w : tensor<4x3xf32>
}

// Channels on another axis: the gather row is that dimension's index.
// CHECK-LABEL: func.func @decode_axis3
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK:   %[[CH:.*]] = linalg.index 3 : index
// CHECK:   tensor.extract %{{.*}}[%[[CH]], %{{.*}}] : tensor<5x8xf32>
func.func @decode_axis3(%c: tensor<3x3x2x5xi8>, %v: tensor<5x3xf32>) -> tensor<3x3x2x5xf32> {
  %w = dq.decode_weights %c, %v axis = 3 : (tensor<3x3x2x5xi8>, tensor<5x3xf32>) -> tensor<3x3x2x5xf32>
  return %w : tensor<3x3x2x5xf32>
}
