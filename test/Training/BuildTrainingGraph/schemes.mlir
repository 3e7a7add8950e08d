// RUN: dq-opt %s --dq-quantize="w-scheme=lqnets a-scheme=lqnets" --dq-build-training-graph | FileCheck %s --check-prefix=LQ
// RUN: dq-opt %s --dq-quantize="w-scheme=dq-lean" --dq-build-training-graph="seed=41" | FileCheck %s --check-prefix=LEAN

// lqnets: nearest codes of the updated latent weights and a moving-average
// basis; uniform activation fit (no channel weights).
// LQ-LABEL: func.func @train_step(
// LQ: dq.project {{.*}} bipolar nearest
// LQ: dq.fit_levels {{.*}} bipolar
// LQ: dq.project {{.*}} unipolar nearest
// LQ-NOT: dq.channel_weights
// LQ: dq.fit_levels {{.*}} axis = 3 unipolar
// LQ-LABEL: func.func @predict(

// dq_lean: no latent weights; stochastic rounding seeded per layer and
// counted by the step argument.
// LEAN-LABEL: func.func @init_state()
// LEAN-NOT: dq.state = "body.weight.latent"
// LEAN-LABEL: func.func @train_step(
// LEAN-SAME: %[[STEP:[a-z0-9]+]]: i64)
// LEAN: dq.project %{{.*}}, %{{.*}} counter %[[STEP]] axis = 0 bipolar stochastic seed = 41
func.func @model(%x: tensor<2x4x4x2xf32>) -> tensor<2x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w0 = "tosa.const"() <{values = dense<0.3> : tensor<4x3x3x2xf32>}> : () -> tensor<4x3x3x2xf32>
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
