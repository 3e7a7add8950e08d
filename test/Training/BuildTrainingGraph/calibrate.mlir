// RUN: dq-opt %s --dq-quantize --dq-build-training-graph="calibration=true" | FileCheck %s
// RUN: dq-opt %s --dq-quantize --dq-build-training-graph | FileCheck %s --check-prefix=OFF
// RUN: dq-opt %s --dq-quantize --dq-build-training-graph="calibration=true" | dq-opt --dq-verify-training-module > /dev/null

// @calibrate (docs/TrainingGraph.md): inference mode, and at the
// quantizer, a loop of `iterations` projection/fit alternations from the
// state's basis (a run-time trip count: LLVM would unroll a constant one),
// their running average with weight 1 / (batches + 1), and the quantizer
// using that average, which the function returns. Its values against the
// PyTorch reference: test/Python/train-step.test. Off by default.

// CHECK-LABEL: func.func @calibrate(
// CHECK-SAME: %[[U:[a-z0-9]+]]: tensor<2xf32> {dq.role = "act_basis", dq.state = "body.input.basis"}
// CHECK-SAME: %{{[a-z0-9]+}}: tensor<2x4x4x2xf32>, %[[N:[a-z0-9]+]]: i64, %[[I:[a-z0-9]+]]: i64)
// CHECK-SAME: -> (tensor<4x3x3x2xf32> {dq.role = "param", dq.state = "stem.weight"}
// CHECK: %[[IX:.*]] = arith.index_cast %[[I]] : i64 to index
// CHECK: %[[C1I:.*]] = arith.constant 1 : i64
// CHECK: %[[N1:.*]] = arith.addi %[[N]], %[[C1I]] : i64
// CHECK: %[[NF:.*]] = arith.sitofp %[[N1]] : i64 to f32
// CHECK: %[[W:.*]] = arith.divf %{{.*}}, %[[NF]] : f32
// CHECK: %[[WT:.*]] = tensor.from_elements %[[W]] : tensor<f32>
// CHECK-NOT: batch_norm_train
// CHECK: %[[X:.*]] = tosa.clamp
// CHECK: %[[XP:.*]] = linalg.generic {{.*}} ins(%[[X]] :
// CHECK: arith.maximumf
// CHECK: %[[FIT:.*]] = scf.for %{{.*}} = %{{.*}} to %[[IX]] step %{{.*}} iter_args(%[[UI:.*]] = %[[U]]) -> (tensor<2xf32>)
// CHECK: %[[C:.*]] = dq.project %[[XP]], %[[UI]] axis = 3 unipolar nearest
// CHECK: %[[OMEGA:.*]] = dq.channel_weights %[[XP]], %[[UI]] axis = 3
// CHECK: %[[F:.*]] = dq.fit_levels %[[C]], %[[X]], %[[UI]] weights %[[OMEGA]]
// CHECK: scf.yield %[[F]]
// CHECK-NOT: dq.fit_levels
// CHECK: %[[AVG:.*]] = linalg.generic {{.*}} ins(%[[U]], %[[FIT]], %[[WT]] : tensor<2xf32>, tensor<2xf32>, tensor<f32>)
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: dq.quantize_act %[[X]], %[[AVG]]
// CHECK: return {{.*}}, %[[AVG]], {{.*}} : tensor<4x3x3x2xf32>,

// OFF-NOT: func.func @calibrate
// OFF-LABEL: func.func @predict(
// OFF-NOT: func.func @calibrate

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
