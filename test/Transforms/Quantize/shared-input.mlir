// RUN: dq-opt %s --dq-quantize="keep-first-last=false keep-shortcuts=false" | FileCheck %s

// Two layers reading the same activation share one quantizer (one basis).
// CHECK-LABEL: func.func @branches
// CHECK-COUNT-1: dq.quantize_act
// CHECK-NOT: dq.quantize_act
// CHECK: linalg.matmul ins(%[[Q:.*]], %{{.*}} :
// CHECK: linalg.matmul ins(%[[Q]], %{{.*}} :
func.func @branches(%x: tensor<2x8xf32>, %init: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %w1 = arith.constant dense<0.1> : tensor<8x3xf32>
  %w2 = arith.constant dense<-0.3> : tensor<8x3xf32>
  %y1 = linalg.matmul ins(%x, %w1 : tensor<2x8xf32>, tensor<8x3xf32>) outs(%init : tensor<2x3xf32>) -> tensor<2x3xf32>
  %y2 = linalg.matmul ins(%x, %w2 : tensor<2x8xf32>, tensor<8x3xf32>) outs(%init : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y1, %y2 : tensor<2x3xf32>, tensor<2x3xf32>
}
