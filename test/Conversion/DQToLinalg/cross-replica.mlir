// RUN: dq-opt %s --convert-dq-to-linalg | FileCheck %s

// cross_replica: the batch statistics are all-reduced between the
// per-process sums and what is computed from them; dq.all_reduce itself
// is left for bufferization.

// CHECK-LABEL: func.func @batch_norm
// The processes' sums all-reduced, then divided by the count, so that the
// mean rounds once, as one process's with the whole batch: the mean, then
// the variance about it.
// CHECK: %[[SUM:.*]] = dq.all_reduce %{{.*}} mean : tensor<8xf32>
// CHECK: %[[MEAN:.*]] = linalg.generic {{.*}} ins(%[[SUM]] : tensor<8xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.mulf
// CHECK: tosa.reshape %[[MEAN]]
// CHECK: %[[SQUARES:.*]] = dq.all_reduce %{{.*}} mean : tensor<8xf32>
// CHECK: %[[VAR:.*]] = linalg.generic {{.*}} ins(%[[SQUARES]] : tensor<8xf32>)
// CHECK: return %{{.*}}, %[[MEAN]], %[[VAR]]
func.func @batch_norm(%x: tensor<2x4x4x8xf32>, %c: tensor<8xf32>)
    -> (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %y, %m, %v = dq.batch_norm_train %x, %c, %c axis = 3 epsilon = 1.0e-5 cross_replica
      : (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>)
  return %y, %m, %v : tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>
}

// CHECK-LABEL: func.func @local_batch_norm
// CHECK-NOT: dq.all_reduce
// CHECK: return
func.func @local_batch_norm(%x: tensor<2x4x4x8xf32>, %c: tensor<8xf32>)
    -> (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %y, %m, %v = dq.batch_norm_train %x, %c, %c axis = 3 epsilon = 1.0e-5
      : (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>)
  return %y, %m, %v : tensor<2x4x4x8xf32>, tensor<8xf32>, tensor<8xf32>
}

// The channel energies and (with trim) the quantization errors.
// CHECK-LABEL: func.func @channel_weights
// CHECK-COUNT-2: dq.all_reduce %{{.*}} mean : tensor<8xf32>
// CHECK-NOT: dq.all_reduce
// CHECK: return
func.func @channel_weights(%x: tensor<2x4x4x8xf32>, %u: tensor<2xf32>) -> tensor<8xf32> {
  %w = dq.channel_weights %x, %u axis = 3 trim = 0.25 epsilon = 1.0e-8 cross_replica
      : (tensor<2x4x4x8xf32>, tensor<2xf32>) -> tensor<8xf32>
  return %w : tensor<8xf32>
}

// The per-code histograms, summed before the solve.
// CHECK-LABEL: func.func @fit_levels
// CHECK: %[[HIST:.*]]:2 = linalg.generic
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0] [4] [1]
// CHECK: %[[JOINT:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[4] [4] [1]
// CHECK: %[[BOTH:.*]] = dq.all_reduce %[[JOINT]] sum : tensor<8xf64>
// CHECK: tensor.extract_slice %[[BOTH]][0] [4] [1]
// CHECK: tensor.extract_slice %[[BOTH]][4] [4] [1]
func.func @fit_levels(%k: tensor<2x4x4x8xi8>, %x: tensor<2x4x4x8xf32>, %u: tensor<2xf32>) -> tensor<2xf32> {
  %f = dq.fit_levels %k, %x, %u axis = 3 unipolar ridge = 1.0e-4 cross_replica
      : (tensor<2x4x4x8xi8>, tensor<2x4x4x8xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %f : tensor<2xf32>
}
