// RUN: dq-opt %s --split-input-file --dq-fill-splat-destinations | FileCheck %s
// RUN: dq-opt %s --split-input-file --dq-fill-splat-destinations --eliminate-empty-tensors | FileCheck %s --check-prefix=ELIM

// Each writer of a splat constant gets a fill of its own, just before it;
// the dense constant and its read-only global are gone.
// CHECK-LABEL: func.func @accumulators
// CHECK-NOT: dense<
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK: %[[F1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E1]] : tensor<4x8xf32>)
// CHECK: %[[S1:.*]] = linalg.generic {{.*}} outs(%[[F1]] : tensor<4x8xf32>)
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK: %[[F2:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E2]] : tensor<4x8xf32>)
// CHECK: %[[S2:.*]] = linalg.generic {{.*}} outs(%[[F2]] : tensor<4x8xf32>)
// CHECK: return %[[S1]], %[[S2]]
func.func @accumulators(%a: tensor<4x8x3xf32>, %b: tensor<4x8x3xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %zero = arith.constant dense<0.0> : tensor<4x8xf32>
  %s1 = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> (i, j)>],
                        iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a : tensor<4x8x3xf32>) outs(%zero : tensor<4x8xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %s2 = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> (i, j)>],
                        iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%b : tensor<4x8x3xf32>) outs(%zero : tensor<4x8xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %s1, %s2 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A zero-extended gradient (a strided insert into zeros): the fill goes
// before the inserted value's producer, which then writes into it. The
// splat value is kept (1.5 here), and a splat that is only read stays a
// constant.
// CHECK-LABEL: func.func @spread
// CHECK: %[[READ:.*]] = arith.constant dense<2.000000e+00> : tensor<2x2xf32>
// CHECK: %[[V:.*]] = arith.constant 1.500000e+00 : f32
// CHECK: %[[E:.*]] = tensor.empty() : tensor<3x3xf32>
// CHECK: %[[F:.*]] = linalg.fill ins(%[[V]] : f32) outs(%[[E]] : tensor<3x3xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[READ]] : tensor<2x2xf32>, tensor<2x2xf32>)
// CHECK: tensor.insert_slice %[[Y]] into %[[F]][0, 0] [2, 2] [2, 2]
// ELIM-LABEL: func.func @spread
// ELIM: %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<3x3xf32>)
// ELIM: %[[SLOT:.*]] = tensor.extract_slice %[[F]][0, 0] [2, 2] [2, 2]
// ELIM: linalg.generic {{.*}} outs(%[[SLOT]] : tensor<2x2xf32>)
func.func @spread(%dy: tensor<2x2xf32>) -> tensor<3x3xf32> {
  %pad = arith.constant dense<1.5> : tensor<3x3xf32>
  %two = arith.constant dense<2.0> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%dy, %two : tensor<2x2xf32>, tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%x: f32, %t: f32, %out: f32):
    %r = arith.mulf %x, %t : f32
    linalg.yield %r : f32
  } -> tensor<2x2xf32>
  %s = tensor.insert_slice %y into %pad[0, 0] [2, 2] [2, 2] : tensor<2x2xf32> into tensor<3x3xf32>
  return %s : tensor<3x3xf32>
}
