// RUN: dq-opt %s --split-input-file --dq-pads-as-destinations | FileCheck %s
// RUN: dq-opt %s --split-input-file --dq-pads-as-destinations --eliminate-empty-tensors | FileCheck %s --check-prefix=ELIM

// A zero pad of an elementwise result: the border fills go before the
// producer, one slab per side (rows, then the interior rows' columns), the
// insert right after it, and the other reader (the return) reads the padded
// tensor's interior. Two identical pads become one.
// CHECK-LABEL: func.func @relu_then_pad
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<1x6x6x4xf32>
// CHECK: %[[TOP:.*]] = tensor.extract_slice %[[EMPTY]][0, 0, 0, 0] [1, 1, 6, 4] [1, 1, 1, 1]
// CHECK: %[[TOPF:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[TOP]] : tensor<1x1x6x4xf32>)
// CHECK: %[[B1:.*]] = tensor.insert_slice %[[TOPF]] into %[[EMPTY]][0, 0, 0, 0] [1, 1, 6, 4] [1, 1, 1, 1]
// CHECK: tensor.extract_slice %[[B1]][0, 5, 0, 0] [1, 1, 6, 4] [1, 1, 1, 1]
// CHECK: %[[B2:.*]] = tensor.insert_slice %{{.*}}[0, 5, 0, 0] [1, 1, 6, 4] [1, 1, 1, 1]
// CHECK: tensor.extract_slice %[[B2]][0, 1, 0, 0] [1, 4, 1, 4] [1, 1, 1, 1]
// CHECK: %[[B3:.*]] = tensor.insert_slice %{{.*}}[0, 1, 0, 0] [1, 4, 1, 4] [1, 1, 1, 1]
// CHECK: tensor.extract_slice %[[B3]][0, 1, 5, 0] [1, 4, 1, 4] [1, 1, 1, 1]
// CHECK: %[[FILL:.*]] = tensor.insert_slice %{{.*}}[0, 1, 5, 0] [1, 4, 1, 4] [1, 1, 1, 1]
// CHECK-NOT: linalg.fill
// CHECK: %[[Y:.*]] = linalg.generic
// CHECK: %[[PADDED:.*]] = tensor.insert_slice %[[Y]] into %[[FILL]][0, 1, 1, 0] [1, 4, 4, 4] [1, 1, 1, 1]
// CHECK: %[[INTERIOR:.*]] = tensor.extract_slice %[[PADDED]][0, 1, 1, 0] [1, 4, 4, 4] [1, 1, 1, 1]
// CHECK-NOT: tensor.pad
// CHECK: return %[[PADDED]], %[[PADDED]], %[[INTERIOR]]

// The producer then writes into the padded tensor's interior.
// ELIM-LABEL: func.func @relu_then_pad
// ELIM: %[[FILL:.*]] = tensor.insert_slice %{{.*}}[0, 1, 5, 0] [1, 4, 1, 4] [1, 1, 1, 1]
// ELIM: %[[SLOT:.*]] = tensor.extract_slice %[[FILL]][0, 1, 1, 0] [1, 4, 4, 4] [1, 1, 1, 1]
// ELIM: linalg.generic {{.*}} outs(%[[SLOT]] : tensor<1x4x4x4xf32>)
func.func @relu_then_pad(%x: tensor<1x4x4x4xf32>) -> (tensor<1x6x6x4xf32>, tensor<1x6x6x4xf32>, tensor<1x4x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(n, h, w, c) -> (n, h, w, c)>, affine_map<(n, h, w, c) -> (n, h, w, c)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x4x4xf32>) outs(%e : tensor<1x4x4x4xf32>) {
  ^bb0(%a: f32, %out: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4x4xf32>
  %p = tensor.pad %y low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x4x4xf32> to tensor<1x6x6x4xf32>
  %q = tensor.pad %y low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x4x4xf32> to tensor<1x6x6x4xf32>
  return %p, %q, %y : tensor<1x6x6x4xf32>, tensor<1x6x6x4xf32>, tensor<1x4x4x4xf32>
}

// -----

// Different widths or values are different pads; a pad of a function
// argument gets its fill at the start of the body.
// CHECK-LABEL: func.func @argument_pads
// CHECK-COUNT-4: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<{{1x3|1x1}}xf32>)
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[1, 1] [1, 1] [1, 1] : tensor<1x1xf32> into tensor<3x3xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x5xf32>)
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x5xf32>)
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x2xf32>)
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x2xf32>)
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[2, 2] [1, 1] [1, 1] : tensor<1x1xf32> into tensor<5x5xf32>
// CHECK-NOT: tensor.pad
func.func @argument_pads(%x: tensor<1x1xf32>) -> (tensor<3x3xf32>, tensor<5x5xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %p = tensor.pad %x low[1, 1] high[1, 1] {
  ^bb0(%i: index, %j: index):
    tensor.yield %zero : f32
  } : tensor<1x1xf32> to tensor<3x3xf32>
  %q = tensor.pad %x low[2, 2] high[2, 2] {
  ^bb0(%i: index, %j: index):
    tensor.yield %one : f32
  } : tensor<1x1xf32> to tensor<5x5xf32>
  return %p, %q : tensor<3x3xf32>, tensor<5x5xf32>
}

// -----

// A pad whose value depends on the position stays a pad.
// CHECK-LABEL: func.func @computed_padding
// CHECK: tensor.pad
func.func @computed_padding(%x: tensor<2xf32>) -> tensor<4xf32> {
  %p = tensor.pad %x low[1] high[1] {
  ^bb0(%i: index):
    %v = arith.index_cast %i : index to i32
    %f = arith.sitofp %v : i32 to f32
    tensor.yield %f : f32
  } : tensor<2xf32> to tensor<4xf32>
  return %p : tensor<4xf32>
}

// -----

// Canonicalization pads a unit-dims-dropped view of a producer's result
// and restores the unit dimension by inserting into an empty tensor: the
// producer's own result is padded (zero width on the unit dimension), the
// restore is the padded tensor itself, and the producer then writes into
// it.
// CHECK-LABEL: func.func @unit_dims_view
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x1x1xf32>)
// CHECK: %[[FILL:.*]] = tensor.insert_slice %{{.*}}[0, 5, 0] [2, 1, 1] [1, 1, 1] : tensor<2x1x1xf32> into tensor<2x6x1xf32>
// CHECK: %[[Y:.*]] = linalg.generic
// CHECK: %[[PADDED:.*]] = tensor.insert_slice %[[Y]] into %[[FILL]][0, 1, 0] [2, 4, 1] [1, 1, 1] : tensor<2x4x1xf32> into tensor<2x6x1xf32>
// CHECK-NOT: tensor.pad
// CHECK: return %[[PADDED]]
// ELIM-LABEL: func.func @unit_dims_view
// ELIM: %[[FILL:.*]] = tensor.insert_slice %{{.*}}[0, 5, 0] [2, 1, 1] [1, 1, 1]
// ELIM: %[[SLOT:.*]] = tensor.extract_slice %[[FILL]][0, 1, 0] [2, 4, 1] [1, 1, 1]
// ELIM: linalg.generic {{.*}} outs(%[[SLOT]] : tensor<2x4x1xf32>)
func.func @unit_dims_view(%x: tensor<2x4x1xf32>) -> tensor<2x6x1xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x1xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, c)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x4x1xf32>) outs(%e : tensor<2x4x1xf32>) {
  ^bb0(%a: f32, %out: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<2x4x1xf32>
  %v = tensor.extract_slice %y[0, 0, 0] [2, 4, 1] [1, 1, 1] : tensor<2x4x1xf32> to tensor<2x4xf32>
  %p = tensor.pad %v low[0, 1] high[0, 1] {
  ^bb0(%i: index, %j: index):
    tensor.yield %zero : f32
  } : tensor<2x4xf32> to tensor<2x6xf32>
  %e2 = tensor.empty() : tensor<2x6x1xf32>
  %r = tensor.insert_slice %p into %e2[0, 0, 0] [2, 6, 1] [1, 1, 1] : tensor<2x6xf32> into tensor<2x6x1xf32>
  return %r : tensor<2x6x1xf32>
}
