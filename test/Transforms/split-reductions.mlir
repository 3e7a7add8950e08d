// RUN: dq-opt %s --dq-split-reductions --split-input-file --verify-diagnostics | FileCheck %s
// RUN: dq-opt %s --dq-split-reductions="chunks=0" --split-input-file | FileCheck %s --check-prefix=OFF
// RUN: not dq-opt %s --dq-split-reductions="chunks=-1" 2>&1 | FileCheck %s --check-prefix=BAD

// A per-channel sum over the batch: partial sums over 16 chunks of 8
// images (a parallel loop), then the output plus the partials in order.
// CHECK-LABEL: func.func @channel_sum
// CHECK: %[[X:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2], [3], [4]] output_shape [16, 8, 28, 28, 16]
// CHECK: %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: %[[PARTIAL:.*]] = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction", "reduction", "reduction", "parallel"]
// CHECK-SAME: ins(%[[X]] : tensor<16x8x28x28x16xf32>) outs(%[[ZEROS]] : tensor<16x16xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic
// CHECK-SAME: iterator_types = ["reduction", "parallel"]
// CHECK-SAME: ins(%[[PARTIAL]] : tensor<16x16xf32>) outs(%arg1 : tensor<16xf32>)
// CHECK: arith.addf
// CHECK: return %[[SUM]]
// OFF-LABEL: func.func @channel_sum
// OFF-NOT: tensor.expand_shape
func.func @channel_sum(%x: tensor<128x28x28x16xf32>, %init: tensor<16xf32>) -> tensor<16xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, h, w, c) -> (n, h, w, c)>, affine_map<(n, h, w, c) -> (c)>],
      iterator_types = ["reduction", "reduction", "reduction", "parallel"]}
      ins(%x : tensor<128x28x28x16xf32>) outs(%init : tensor<16xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  return %r : tensor<16xf32>
}

// -----

// A level-fit histogram with two outputs; inputs that do not read the batch
// loop stay whole, loop indices move one place, and the batch index is
// rebuilt from the chunk and the index within it. The batch of 12 splits
// into 12 chunks (the largest divisor not above 16).
// CHECK-LABEL: func.func @histogram
// CHECK-DAG: tensor.expand_shape %arg0 {{\[}}[0, 1], [2], [3]] output_shape [12, 1, 60, 64]
// CHECK-DAG: tensor.expand_shape %arg1 {{\[}}[0, 1], [2], [3]] output_shape [12, 1, 60, 64]
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}}, %arg2 : tensor<12x1x60x64xi8>, tensor<12x1x60x64xf32>, tensor<64xf32>)
// CHECK-SAME: outs(%{{.*}}, %{{.*}} : tensor<12x4xf64>, tensor<12x4xf64>)
// CHECK: %[[LEVEL:.*]] = linalg.index 4 : index
// CHECK: %[[CHUNK:.*]] = linalg.index 0 : index
// CHECK: %[[REST:.*]] = linalg.index 1 : index
// CHECK: %[[START:.*]] = arith.muli %[[CHUNK]], %c1
// CHECK: arith.addi %[[START]], %[[REST]]
// CHECK: arith.cmpi eq, %{{.*}}, %[[LEVEL]]
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["reduction", "parallel"]
// CHECK-SAME: outs(%arg3, %arg3 : tensor<4xf64>, tensor<4xf64>)
func.func @histogram(%codes: tensor<12x60x64xi8>, %x: tensor<12x60x64xf32>, %scale: tensor<64xf32>, %init: tensor<4xf64>) -> (tensor<4xf64>, tensor<4xf64>) {
  %zero = arith.constant 0.0 : f64
  %r:2 = linalg.generic {
      indexing_maps = [affine_map<(n, h, c, l) -> (n, h, c)>, affine_map<(n, h, c, l) -> (n, h, c)>, affine_map<(n, h, c, l) -> (c)>, affine_map<(n, h, c, l) -> (l)>, affine_map<(n, h, c, l) -> (l)>],
      iterator_types = ["reduction", "reduction", "reduction", "parallel"]}
      ins(%codes, %x, %scale : tensor<12x60x64xi8>, tensor<12x60x64xf32>, tensor<64xf32>) outs(%init, %init : tensor<4xf64>, tensor<4xf64>) {
  ^bb0(%code: i8, %v: f32, %s: f32, %acc0: f64, %acc1: f64):
    %i = arith.index_castui %code : i8 to index
    %l = linalg.index 3 : index
    %n = linalg.index 0 : index
    %eq = arith.cmpi eq, %i, %l : index
    %vs = arith.divf %v, %s : f32
    %e = arith.extf %vs : f32 to f64
    %sel = arith.select %eq, %e, %zero : f64
    %a0 = arith.addf %acc0, %sel : f64
    %ni = arith.index_cast %n : index to i64
    %nf = arith.sitofp %ni : i64 to f64
    %sel1 = arith.select %eq, %nf, %zero : f64
    %a1 = arith.addf %sel1, %acc1 : f64
    linalg.yield %a0, %a1 : f64, f64
  } -> (tensor<4xf64>, tensor<4xf64>)
  return %r#0, %r#1 : tensor<4xf64>, tensor<4xf64>
}

// -----

// A sum fused with the elementwise value it sums (a residual gradient
// accumulated, then summed per channel): that output is written along the
// batch loop, so the partial op writes it in place (split like the inputs,
// then collapsed back) and only the sum gets a combine.
// CHECK-LABEL: func.func @fused_elementwise
// CHECK: %[[ACC:.*]] = tensor.expand_shape %arg1 {{\[}}[0, 1], [2], [3], [4]] output_shape [16, 8, 14, 14, 32]
// CHECK: %[[PARTS:.*]]:2 = linalg.generic
// CHECK-SAME: outs(%[[ACC]], %{{.*}} : tensor<16x8x14x14x32xf32>, tensor<16x1x1x1x32xf32>)
// CHECK: %[[WHOLE:.*]] = tensor.collapse_shape %[[PARTS]]#0 {{\[}}[0, 1], [2], [3], [4]] : tensor<16x8x14x14x32xf32> into tensor<128x14x14x32xf32>
// CHECK: %[[SUM:.*]] = linalg.generic
// CHECK-SAME: ins(%[[PARTS]]#1 : tensor<16x1x1x1x32xf32>) outs(%arg2 : tensor<1x1x1x32xf32>)
// CHECK: return %[[WHOLE]], %[[SUM]]
func.func @fused_elementwise(%x: tensor<128x14x14x32xf32>, %acc: tensor<128x14x14x32xf32>, %init: tensor<1x1x1x32xf32>) -> (tensor<128x14x14x32xf32>, tensor<1x1x1x32xf32>) {
  %r:2 = linalg.generic {
      indexing_maps = [affine_map<(n, h, w, c) -> (n, h, w, c)>, affine_map<(n, h, w, c) -> (n, h, w, c)>, affine_map<(n, h, w, c) -> (0, 0, 0, c)>],
      iterator_types = ["reduction", "reduction", "reduction", "parallel"]}
      ins(%x : tensor<128x14x14x32xf32>) outs(%acc, %init : tensor<128x14x14x32xf32>, tensor<1x1x1x32xf32>) {
  ^bb0(%in: f32, %out: f32, %sum: f32):
    %v = arith.addf %out, %in : f32
    %s = arith.addf %v, %sum : f32
    linalg.yield %v, %s : f32, f32
  } -> (tensor<128x14x14x32xf32>, tensor<1x1x1x32xf32>)
  return %r#0, %r#1 : tensor<128x14x14x32xf32>, tensor<1x1x1x32xf32>
}

// -----

// Left alone: an op with a parallel loop to distribute (the batch), one
// that updates its output other than by an add (a max), one whose input
// reads the batch loop inside an expression (a window), and a small one.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: tensor.expand_shape
// CHECK: return
func.func @left_alone(%x: tensor<128x28x28x16xf32>, %init: tensor<128x16xf32>, %c: tensor<16xf32>, %w: tensor<130x28x28x16xf32>, %kernel: tensor<128x3xf32>, %small: tensor<4x4x16xf32>) -> (tensor<128x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %per_image = linalg.generic {
      indexing_maps = [affine_map<(n, h, w, c) -> (n, h, w, c)>, affine_map<(n, h, w, c) -> (n, c)>],
      iterator_types = ["parallel", "reduction", "reduction", "parallel"]}
      ins(%x : tensor<128x28x28x16xf32>) outs(%init : tensor<128x16xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<128x16xf32>
  %max = linalg.generic {
      indexing_maps = [affine_map<(n, h, w, c) -> (n, h, w, c)>, affine_map<(n, h, w, c) -> (c)>],
      iterator_types = ["reduction", "reduction", "reduction", "parallel"]}
      ins(%x : tensor<128x28x28x16xf32>) outs(%c : tensor<16xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.maximumf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  %window = linalg.generic {
      indexing_maps = [affine_map<(n, k, h, w, c) -> (n + k, h, w, c)>, affine_map<(n, k, h, w, c) -> (n, k)>, affine_map<(n, k, h, w, c) -> (c)>],
      iterator_types = ["reduction", "reduction", "reduction", "reduction", "parallel"]}
      ins(%w, %kernel : tensor<130x28x28x16xf32>, tensor<128x3xf32>) outs(%c : tensor<16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  %few = linalg.generic {
      indexing_maps = [affine_map<(n, h, c) -> (n, h, c)>, affine_map<(n, h, c) -> (c)>],
      iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%small : tensor<4x4x16xf32>) outs(%c : tensor<16xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  return %per_image, %max, %window, %few : tensor<128x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
}

// BAD: error: dq-split-reductions: option chunks must be in [0, {{[0-9]+}}], got -1
