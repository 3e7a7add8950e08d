// RUN: dq-opt %s --dq-quantize --dq-build-training-graph | FileCheck %s

// The state: fp stem conv (weight, bias + momenta), batch norm (gamma,
// beta + momenta, running statistics), the quantized conv (codes, basis,
// latent, momentum) with its input basis, the fp fc weight; one entry per
// use, in program order, the same in init_state, train_step and predict.

// CHECK-LABEL: func.func @init_state()
// CHECK-SAME: {dq.role = "param", dq.state = "stem.weight"}
// CHECK-SAME: {dq.role = "momentum", dq.state = "stem.weight.momentum"}
// CHECK-SAME: {dq.role = "param", dq.state = "stem.bias"}
// CHECK-SAME: {dq.role = "momentum", dq.state = "stem.bias.momentum"}
// CHECK-SAME: {dq.role = "param", dq.state = "bn.gamma"}
// CHECK-SAME: {dq.role = "momentum", dq.state = "bn.gamma.momentum"}
// CHECK-SAME: {dq.role = "param", dq.state = "bn.beta"}
// CHECK-SAME: {dq.role = "momentum", dq.state = "bn.beta.momentum"}
// CHECK-SAME: {dq.role = "running_mean", dq.state = "bn.running_mean"}
// CHECK-SAME: {dq.role = "running_var", dq.state = "bn.running_var"}
// CHECK-SAME: {dq.role = "act_basis", dq.state = "body.input.basis"}
// CHECK-SAME: tensor<4x3x3x4xi8> {dq.role = "codes", dq.state = "body.weight.codes"}
// CHECK-SAME: tensor<4x2xf32> {dq.role = "basis", dq.state = "body.weight.basis"}
// CHECK-SAME: tensor<4x3x3x4xf32> {dq.role = "latent", dq.state = "body.weight.latent"}
// CHECK-SAME: tensor<4x3x3x4xf32> {dq.role = "momentum", dq.state = "body.weight.momentum"}
// CHECK-SAME: {dq.role = "param", dq.state = "body.bias"}
// CHECK-SAME: {dq.role = "momentum", dq.state = "body.bias.momentum"}
// CHECK-SAME: {dq.role = "param", dq.state = "fc.weight"}
// CHECK-SAME: {dq.role = "momentum", dq.state = "fc.weight.momentum"}
// The latent weights start as the decoded quantized weights.
// CHECK: dq.decode_weights
// CHECK: return

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %{{.*}}: tensor<2x4x4x2xf32>, %{{.*}}: tensor<2xi32>, %{{.*}}: f32, %{{.*}}: i64)
// CHECK-SAME: -> ({{.*}}tensor<f32>, tensor<i32>)
// CHECK: dq.batch_norm_train
// CHECK: dq.softmax_cross_entropy
// CHECK: dq.count_correct
// dq scheme: nearest codes of the updated latent weights, basis fitted to
// the descended quantized weights; channel-aware activation fit.
// CHECK: dq.project {{.*}} bipolar nearest
// CHECK: dq.fit_levels {{.*}} bipolar
// CHECK: dq.project {{.*}} unipolar nearest
// CHECK: dq.channel_weights
// CHECK: dq.fit_levels {{.*}} weights {{.*}} unipolar

// CHECK-LABEL: func.func @predict(
// CHECK-SAME: -> tensor<2x3xf32>
// CHECK: dq.batch_norm %
// CHECK-NOT: dq.batch_norm_train
// CHECK: return
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
