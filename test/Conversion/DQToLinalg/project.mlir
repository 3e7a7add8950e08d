// RUN: dq-opt %s --convert-dq-to-linalg | FileCheck %s

// Nearest: each channel's level range is computed once ([4] tensors) and
// read per element along the channel axis.
// CHECK-LABEL: func.func @nearest
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x4xf32>)
// CHECK: %[[MIN:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf32>)
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf32>)
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[MIN]], %[[MAX]] : tensor<4x3xf32>, tensor<4xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<4x3xi8>)
// CHECK:   arith.index_castui %{{.*}} : index to i8
// CHECK-NOT: dq.
func.func @nearest(%w: tensor<4x3xf32>, %v: tensor<4x2xf32>) -> tensor<4x3xi8> {
  %c = dq.project %w, %v axis = 0 bipolar nearest : (tensor<4x3xf32>, tensor<4x2xf32>) -> tensor<4x3xi8>
  return %c : tensor<4x3xi8>
}

// Stochastic rounding hashes (seed, counter, linear index) with mix32:
// its two multipliers appear as i32 constants (0x7feb352d, 0x846ca68b).
// CHECK-LABEL: func.func @stochastic
// CHECK-SAME: %[[STEP:[a-z0-9]*]]: i64
// CHECK-DAG: arith.constant 2146121005 : i32
// CHECK-DAG: arith.constant -2073254261 : i32
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<4x3xf32>) outs(%{{.*}} : tensor<4x3xi8>)
// CHECK:   arith.trunci %[[STEP]] : i64 to i32
// CHECK:   arith.muli
// CHECK:   arith.uitofp
// CHECK-NOT: dq.
func.func @stochastic(%w: tensor<4x3xf32>, %v: tensor<4x2xf32>, %step: i64) -> tensor<4x3xi8> {
  %c = dq.project %w, %v counter %step axis = 0 bipolar stochastic seed = 7 : (tensor<4x3xf32>, tensor<4x2xf32>, i64) -> tensor<4x3xi8>
  return %c : tensor<4x3xi8>
}

// Above 16 codes (K >= 5) each channel's table is sorted once, with the
// lowest code of each level, and each element binary-searches its channel's
// row (5 gathers for 32 codes) and takes that code; NaN gives code 0.
// CHECK-LABEL: func.func @nearest_wide
// CHECK: %[[TABLEW:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x32xf32>)
// CHECK: %[[RANKSW:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x32xi32>) attrs =  {dq.keep_scalar}
// CHECK: %[[SORTEDW:.*]] = linalg.generic {{.*}} ins(%[[TABLEW]], %[[RANKSW]] : {{.*}}) outs(%{{.*}} : tensor<4x32xf32>) attrs =  {dq.keep_scalar}
// CHECK: %[[CODESW:.*]] = linalg.generic {{.*}} ins(%[[SORTEDW]], %[[TABLEW]] : {{.*}}) outs(%{{.*}} : tensor<4x32xi32>) attrs =  {dq.keep_scalar}
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x3xi8>)
// CHECK:   %[[CH:.*]] = linalg.index 0 : index
// CHECK-COUNT-5: tensor.extract %[[SORTEDW]][%[[CH]], %{{.*}}] : tensor<4x32xf32>
// CHECK:   arith.cmpf uno
// CHECK:   tensor.extract %[[CODESW]][%[[CH]], %{{.*}}] : tensor<4x32xi32>
// CHECK-NOT: scf.for
// CHECK-NOT: dq.{{[a-z_]+ }}
func.func @nearest_wide(%w: tensor<4x3xf32>, %v: tensor<4x5xf32>) -> tensor<4x3xi8> {
  %c = dq.project %w, %v axis = 0 bipolar nearest : (tensor<4x3xf32>, tensor<4x5xf32>) -> tensor<4x3xi8>
  return %c : tensor<4x3xi8>
}
