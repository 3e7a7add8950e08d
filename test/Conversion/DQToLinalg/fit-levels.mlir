// RUN: dq-opt %s --convert-dq-to-linalg | FileCheck %s

// fit_levels: per-code weighted histograms (f64) over element x code, then
// one ridge-regularized Cholesky solve per fit.

// CHECK-LABEL: func.func @per_channel
// CHECK: %[[HIST:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<4x3xi8>, tensor<4x3xf32>) outs(%{{.*}}, %{{.*}} : tensor<4x4xf64>, tensor<4x4xf64>)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x2xf32>)
// CHECK:   scf.for
// CHECK:     tensor.extract %[[HIST]]#0
// CHECK:     tensor.extract %[[HIST]]#1
// CHECK:   math.sqrt
// CHECK:   arith.truncf %{{.*}} : f64 to f32
// CHECK-NOT: dq.
func.func @per_channel(%c: tensor<4x3xi8>, %t: tensor<4x3xf32>, %v: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %r = dq.fit_levels %c, %t, %v axis = 0 bipolar ridge = 1.0e-4 : (tensor<4x3xi8>, tensor<4x3xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}

// Unipolar with channel weights: every element dimension is a reduction and
// the weights are read along the channel axis.
// CHECK-LABEL: func.func @weighted
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #[[WMAP:.*]], #{{.*}}, #{{.*}}], iterator_types = ["reduction", "reduction", "parallel"]} ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x5xi8>, tensor<2x5xf32>, tensor<5xf32>) outs(%{{.*}}, %{{.*}} : tensor<4xf64>, tensor<4xf64>)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2xf32>)
func.func @weighted(%c: tensor<2x5xi8>, %x: tensor<2x5xf32>, %u: tensor<2xf32>, %w: tensor<5xf32>) -> tensor<2xf32> {
  %r = dq.fit_levels %c, %x, %u weights %w axis = 1 unipolar ridge = 1.0e-4 : (tensor<2x5xi8>, tensor<2x5xf32>, tensor<2xf32>, tensor<5xf32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}
