// RUN: dq-opt %s --dq-quantize --dq-build-training-graph="optimizer=adam" | FileCheck %s --check-prefixes=STATE,ADAM
// RUN: dq-opt %s --dq-quantize --dq-build-training-graph="optimizer=adamw weight-decay=0.01" | FileCheck %s --check-prefixes=STATE,ADAMW
// RUN: dq-opt %s --dq-quantize --dq-build-training-graph | FileCheck %s --check-prefix=SGD

// Adam keeps a second moment after every momentum, zero at the start, for
// full-precision parameters, batch norm's affine parameters and quantized
// weights alike (docs/TrainingGraph.md). Its values against
// torch.optim.Adam / AdamW and the PyTorch reference are checked in
// test/Python (training-reference.test, train-step.test).

// STATE-LABEL: func.func @init_state()
// STATE-SAME: {dq.role = "param", dq.state = "stem.weight"}
// STATE-SAME: {dq.role = "momentum", dq.state = "stem.weight.momentum"}
// STATE-SAME: {dq.role = "second_moment", dq.state = "stem.weight.second_moment"}
// STATE-SAME: {dq.role = "param", dq.state = "bn.gamma"}
// STATE-SAME: {dq.role = "momentum", dq.state = "bn.gamma.momentum"}
// STATE-SAME: {dq.role = "second_moment", dq.state = "bn.gamma.second_moment"}
// STATE-SAME: {dq.role = "param", dq.state = "bn.beta"}
// STATE-SAME: {dq.role = "momentum", dq.state = "bn.beta.momentum"}
// STATE-SAME: {dq.role = "second_moment", dq.state = "bn.beta.second_moment"}
// STATE-SAME: {dq.role = "running_mean", dq.state = "bn.running_mean"}
// STATE-SAME: tensor<4x3x3x4xf32> {dq.role = "latent", dq.state = "body.weight.latent"}
// STATE-SAME: tensor<4x3x3x4xf32> {dq.role = "momentum", dq.state = "body.weight.momentum"}
// STATE-SAME: tensor<4x3x3x4xf32> {dq.role = "second_moment", dq.state = "body.weight.second_moment"}
// STATE-SAME: {dq.role = "param", dq.state = "fc.weight"}
// STATE-SAME: {dq.role = "momentum", dq.state = "fc.weight.momentum"}
// STATE-SAME: {dq.role = "second_moment", dq.state = "fc.weight.second_moment"}

// The bias corrections are scalars of the step counter, computed once.
// STATE-LABEL: func.func @train_step(
// STATE: %[[ONE:.*]] = arith.constant 1 : i64
// STATE: %[[T1:.*]] = arith.addi %{{.*}}, %[[ONE]] : i64
// STATE: %[[T:.*]] = arith.sitofp %[[T1]] : i64 to f64
// STATE: math.powf %{{.*}}, %[[T]] : f64
// STATE: math.powf %{{.*}}, %[[T]] : f64
// STATE: math.sqrt %{{.*}} : f64
// Adam folds the L2 term into the gradient; AdamW decays the weights after
// the step (lr * weight-decay * p).
// ADAM: arith.constant 5.000000e-04 : f32
// ADAMW-NOT: arith.constant 5.000000e-04 : f32
// ADAMW: arith.constant 0.00999999977 : f32
// STATE: math.sqrt %{{.*}} : f32
// STATE: return

// SGD has no second moments and no bias corrections.
// SGD-NOT: second_moment
// SGD-NOT: math.powf

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
