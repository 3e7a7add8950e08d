// RUN: dq-opt %s --dq-quantize --dq-build-training-graph="data-parallel=true calibration=true" | FileCheck %s
// RUN: dq-opt %s --dq-quantize --dq-build-training-graph="data-parallel=true calibration=true" | dq-opt --dq-verify-training-module > /dev/null
// RUN: dq-opt %s --dq-quantize --dq-build-training-graph | FileCheck %s --check-prefix=OFF
// RUN: dq-opt %s --dq-quantize --dq-build-training-graph="data-parallel=true replica-batch=1" | FileCheck %s --check-prefix=REPLICA
// RUN: dq-opt %s --dq-quantize --dq-build-training-graph="data-parallel=true replica-batch=2" | FileCheck %s --check-prefix=WHOLE
// RUN: not dq-opt %s --dq-quantize --dq-build-training-graph="replica-batch=1" 2>&1 | FileCheck %s --check-prefix=NEEDS-DP
// RUN: not dq-opt %s --dq-quantize --dq-build-training-graph="data-parallel=true replica-batch=3" 2>&1 | FileCheck %s --check-prefix=NOT-SHARES

// replica-batch=S: the module says it (dq-block-batch-sums sums its batch in
// blocks of S when it is compiled); S = the batch is one block, nothing to
// say. Refused without data-parallel=true, and when S does not cut the
// batch into a power-of-two number of shares.
// REPLICA: module attributes {dq.data_parallel, dq.replica_batch = 1 : i64}
// WHOLE: module attributes {dq.data_parallel} {
// NEEDS-DP: error: dq-build-training-graph: replica-batch=1 needs data-parallel=true and must divide the batch of 2 into a power-of-two number of shares
// NOT-SHARES: error: dq-build-training-graph: replica-batch=3 must divide the batch of 2 into a power-of-two number of shares

// data-parallel=true (docs/Runtime.md, "Data parallelism"): the module is
// marked, the batch norm is synchronized (its gradient's channel means
// all-reduced too), every gradient is a mean all-reduce before the
// updates, the activation fit and its channel weights are cross_replica,
// the running variance is unbiased over the whole batch (the process count
// is an all-reduced 1), and the loss and correct count are the whole
// batch's.

// CHECK: module attributes {dq.data_parallel}
// CHECK-LABEL: func.func @train_step(
// CHECK: dq.batch_norm_train %{{.*}} cross_replica
// CHECK: %[[LOSS:.*]] = dq.softmax_cross_entropy
// CHECK: %[[CORRECT:.*]] = dq.count_correct
// The batch norm's gradient: the means of dy and dy * x_hat, in one call.
// CHECK: dq.all_reduce %{{.*}} mean : tensor<8xf32>
// The gradients (body weights 144 and bias 4, stem weights 72 and bias 4,
// fc 192, gamma and beta 4 + 4) and the loss, in one call; then the
// correct count.
// CHECK: %[[JOINT:.*]] = dq.all_reduce %{{.*}} mean : tensor<425xf32>
// CHECK: %[[LOSS_SLICE:.*]] = tensor.extract_slice %[[JOINT]][424] [1] [1]
// CHECK: %[[LOSS_ALL:.*]] = tosa.reshape %[[LOSS_SLICE]]
// CHECK: %[[CORRECT_ALL:.*]] = dq.all_reduce %[[CORRECT]] sum : tensor<i32>
// CHECK: dq.channel_weights {{.*}} cross_replica
// CHECK: dq.fit_levels {{.*}} unipolar ridge = {{.*}} cross_replica
// CHECK: %[[N:.*]] = dq.all_reduce %{{.*}} sum : tensor<f32>
// CHECK: linalg.generic {{.*}} ins(%[[N]] : tensor<f32>)
// CHECK: return {{.*}}, %[[LOSS_ALL]], %[[CORRECT_ALL]] : {{.*}}, tensor<f32>, tensor<i32>
// The calibration fits are the whole batch's too.
// CHECK-LABEL: func.func @calibrate(
// CHECK: dq.fit_levels {{.*}} cross_replica

// OFF-NOT: dq.data_parallel
// OFF-NOT: dq.all_reduce
// OFF-NOT: cross_replica

func.func @model(%x: tensor<2x4x4x2xf32>) -> tensor<2x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w0 = "tosa.const"() <{values = dense<0.5> : tensor<4x3x3x2xf32>}> : () -> tensor<4x3x3x2xf32>
  %b0 = "tosa.const"() <{values = dense<0.0> : tensor<4xf32>}> : () -> tensor<4xf32>
  %y0 = tosa.conv2d %x, %w0, %b0, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<2x4x4x2xf32>, tensor<4x3x3x2xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x4x4xf32> loc("stem")
  %g = "tosa.const"() <{values = dense<1.0> : tensor<4xf32>}> : () -> tensor<4xf32>
  %be = "tosa.const"() <{values = dense<0.0> : tensor<4xf32>}> : () -> tensor<4xf32>
  %mn = "tosa.const"() <{values = dense<0.0> : tensor<4xf32>}> : () -> tensor<4xf32>
  %vr = "tosa.const"() <{values = dense<1.0> : tensor<4xf32>}> : () -> tensor<4xf32>
  %bn = dq.batch_norm %y0, %g, %be, %mn, %vr axis = 3 epsilon = 1.0e-5 : (tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x4x4xf32> loc("bn")
  %r0 = tosa.clamp %bn {min_val = 0.0 : f32, max_val = 3.4e38 : f32} : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %w1 = "tosa.const"() <{values = dense<-0.2> : tensor<4x3x3x4xf32>}> : () -> tensor<4x3x3x4xf32>
  %y1 = tosa.conv2d %r0, %w1, %b0, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<2x4x4x4xf32>, tensor<4x3x3x4xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x4x4xf32> loc("body")
  %s = tosa.const_shape {values = dense<[1, 2, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %f = tosa.reshape %y1, %s : (tensor<2x4x4x4xf32>, !tosa.shape<3>) -> tensor<1x2x64xf32>
  %w2 = "tosa.const"() <{values = dense<0.1> : tensor<1x64x3xf32>}> : () -> tensor<1x64x3xf32>
  %o = tosa.matmul %f, %w2, %zp, %zp : (tensor<1x2x64xf32>, tensor<1x64x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x3xf32> loc("fc")
  %s2 = tosa.const_shape {values = dense<[2, 3]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %o2 = tosa.reshape %o, %s2 : (tensor<1x2x3xf32>, !tosa.shape<2>) -> tensor<2x3xf32>
  return %o2 : tensor<2x3xf32>
}
