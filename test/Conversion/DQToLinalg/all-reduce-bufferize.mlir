// RUN: dq-opt %s --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s

// On buffers: a copy into a fresh buffer, reduced in place by the model
// library's collective, seen as one dimension.
// CHECK: func.func private @dq_model_all_reduce_sum_i32(memref<?xi32>) attributes {llvm.emit_c_interface}
// CHECK: func.func private @dq_model_all_reduce_mean_f32(memref<?xf32>) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @on_buffers
// CHECK: %[[NEW:.*]] = memref.alloc() {{.*}} : memref<4x3xf32>
// CHECK: memref.copy %{{.*}}, %[[NEW]]
// CHECK: %[[FLAT:.*]] = memref.reinterpret_cast %[[NEW]] to offset: [0], sizes: [12], strides: [1]
// CHECK: %[[DYN:.*]] = memref.cast %[[FLAT]] : memref<12xf32> to memref<?xf32>
// CHECK: call @dq_model_all_reduce_mean_f32(%[[DYN]])
// CHECK: call @dq_model_all_reduce_sum_i32(
// CHECK: return %[[NEW]]
func.func @on_buffers(%g: tensor<4x3xf32>, %c: tensor<i32>) -> (tensor<4x3xf32>, tensor<i32>) {
  %0 = dq.all_reduce %g mean : tensor<4x3xf32>
  %1 = dq.all_reduce %c sum : tensor<i32>
  return %0, %1 : tensor<4x3xf32>, tensor<i32>
}
