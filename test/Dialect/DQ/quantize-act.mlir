// RUN: dq-opt %s | FileCheck %s
// RUN: dq-opt %s | dq-opt | FileCheck %s

// CHECK-LABEL: func.func @nhwc
// CHECK: dq.quantize_act %{{.*}}, %{{.*}} config = #dq.act_quant<bits = 2, scheme = dq> axis = 3 : (tensor<1x8x8x16xf32>, tensor<2xf32>) -> tensor<1x8x8x16xf32>
func.func @nhwc(%x: tensor<1x8x8x16xf32>, %u: tensor<2xf32>) -> tensor<1x8x8x16xf32> {
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 3
         : (tensor<1x8x8x16xf32>, tensor<2xf32>) -> tensor<1x8x8x16xf32>
  return %q : tensor<1x8x8x16xf32>
}

// CHECK-LABEL: func.func @lqnets_dynamic
// CHECK: dq.quantize_act {{.*}} config = #dq.act_quant<bits = 4, scheme = lqnets> axis = 1 : (tensor<?x64xf32>, tensor<4xf32>) -> tensor<?x64xf32>
func.func @lqnets_dynamic(%x: tensor<?x64xf32>, %u: tensor<4xf32>) -> tensor<?x64xf32> {
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 4, scheme = lqnets> axis = 1
         : (tensor<?x64xf32>, tensor<4xf32>) -> tensor<?x64xf32>
  return %q : tensor<?x64xf32>
}
