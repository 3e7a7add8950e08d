// RUN: dq-opt %s --dq-vectorize-generics="vector-bits=512 vector-registers=32" | FileCheck %s
// RUN: dq-opt %s --dq-vectorize-generics="vector-bits=512 vector-registers=32" --canonicalize --loop-invariant-code-motion --loop-invariant-subset-hoisting --canonicalize | FileCheck %s --check-prefix=HOIST
// RUN: dq-opt %s --dq-vectorize-generics="vector-bits=256 vector-registers=16" | FileCheck %s --check-prefix=AVX2
// RUN: dq-opt %s --dq-vectorize-generics="register-tile=false fuse-multiply-add=false" | FileCheck %s --check-prefix=PLAIN

// A convolution (NHWC, HWCF filter) in dq-interchange-generics' order. Its
// register tile steps the output column by 7: each filter vector (16 output
// channels) is loaded once for 7 output pixels, whose input values are
// broadcast; the multiply-adds may fuse (contract).
// CHECK-LABEL: func.func @conv
// CHECK: scf.for %[[OW:.*]] = %{{.*}} to %{{.*}} step %c7
// CHECK: vector.transfer_read %{{.*}} : tensor<3x3x16x16xf32>, vector<16xf32>
// CHECK-NOT: tensor<3x3x16x16xf32>, vector<16xf32>
// CHECK-COUNT-7: arith.mulf %{{.*}} fastmath<contract> : vector<16xf32>
// CHECK-NOT: arith.mulf
// CHECK: scf.yield

// After hoisting, the 7 accumulators are loop-carried vectors of the
// reduction loops (filter row, column, input channel).
// HOIST-LABEL: func.func @conv
// HOIST: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// HOIST: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// HOIST: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)

// With 16 registers of 8 lanes a row takes two registers: 4 rows (the
// largest divisor of 28 that fits next to the loaded vectors).
// AVX2-LABEL: func.func @conv
// AVX2: step %c4

// Without register tiles: the earlier recipe (tile to 1, vector lanes along
// the output channel), separate multiply and add.
// PLAIN-LABEL: func.func @conv
// PLAIN-NOT: step %c7
// PLAIN: arith.mulf %{{.*}} : vector<16xf32>
// PLAIN-NOT: contract
func.func @conv(%x: tensor<2x30x30x16xf32>, %w: tensor<3x3x16x16xf32>, %init: tensor<2x28x28x16xf32>) -> tensor<2x28x28x16xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh + kh, ow + kw, ci)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (kh, kw, ci, co)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh, ow, co)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x, %w : tensor<2x30x30x16xf32>, tensor<3x3x16x16xf32>) outs(%init : tensor<2x28x28x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x28x28x16xf32>
  return %r : tensor<2x28x28x16xf32>
}

// A stride-2 convolution: the tiled loop may be strided in the input (the
// 7 input values are 2 apart).
// CHECK-LABEL: func.func @strided
// CHECK: step %c7
// CHECK-COUNT-7: tensor.extract %{{.*}} : tensor<1x29x29x16xf32>
func.func @strided(%x: tensor<1x29x29x16xf32>, %w: tensor<3x3x16x16xf32>, %init: tensor<1x14x14x16xf32>) -> tensor<1x14x14x16xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh * 2 + kh, ow * 2 + kw, ci)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (kh, kw, ci, co)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh, ow, co)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x, %w : tensor<1x29x29x16xf32>, tensor<3x3x16x16xf32>) outs(%init : tensor<1x14x14x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x14x14x16xf32>
  return %r : tensor<1x14x14x16xf32>
}

// A body outside arith (here math.absf) keeps the earlier recipe: tiled to
// 1, no register tile.
// CHECK-LABEL: func.func @not_arith
// CHECK-NOT: step %c{{[2-9]}}
// CHECK: math.absf %{{.*}} : vector<16xf32>
func.func @not_arith(%x: tensor<16x64xf32>, %y: tensor<64x16xf32>, %init: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(i, k, j) -> (i, k)>,
                       affine_map<(i, k, j) -> (k, j)>,
                       affine_map<(i, k, j) -> (i, j)>],
      iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %y : tensor<16x64xf32>, tensor<64x16xf32>) outs(%init : tensor<16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %m = math.absf %p : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<16x16xf32>
  return %r : tensor<16x16xf32>
}

// With every reduction inside the parallel loops, each row's accumulator is
// a loop value of the reduction loops from the start. An output that starts
// as a fill starts from the fill's value in registers: no read of the
// output, one write per row, and the fill goes once nothing else uses it.
// (The broadcast of the constant 0 folds to a constant vector.)
// CHECK-LABEL: func.func @filled
// CHECK-NOT: linalg.fill
// CHECK: %[[START:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<2x28x28x16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[EMPTY]])
// CHECK-NOT: vector.transfer_read %{{.*}} : tensor<2x28x28x16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[START]], {{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-7: vector.transfer_write %{{.*}} : vector<16xf32>, tensor<2x28x28x16xf32>
func.func @filled(%x: tensor<2x30x30x16xf32>, %w: tensor<3x3x16x16xf32>) -> tensor<2x28x28x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x28x28x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x28x28x16xf32>) -> tensor<2x28x28x16xf32>
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh + kh, ow + kw, ci)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (kh, kw, ci, co)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh, ow, co)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x, %w : tensor<2x30x30x16xf32>, tensor<3x3x16x16xf32>) outs(%init : tensor<2x28x28x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x28x28x16xf32>
  return %r : tensor<2x28x28x16xf32>
}

// An output that starts as a bias broadcast along the contiguous dimension
// (out[n, h, w, c] = bias[c]) starts every row from one read of the bias
// vector: no read of the output, and the broadcast goes.
// CHECK-LABEL: func.func @bias_started
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<2x28x28x16xf32>
// CHECK: %[[START:.*]] = vector.transfer_read %arg2[%{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<16xf32>, vector<16xf32>
// CHECK-NOT: linalg.generic
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[EMPTY]])
// CHECK-NOT: vector.transfer_read %{{.*}} : tensor<2x28x28x16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[START]], %{{.*}} = %[[START]], {{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-7: vector.transfer_write %{{.*}} : vector<16xf32>, tensor<2x28x28x16xf32>
func.func @bias_started(%x: tensor<2x30x30x16xf32>, %w: tensor<3x3x16x16xf32>, %bias: tensor<16xf32>) -> tensor<2x28x28x16xf32> {
  %e = tensor.empty() : tensor<2x28x28x16xf32>
  %init = linalg.generic {indexing_maps = [affine_map<(n, h, w, c) -> (c)>, affine_map<(n, h, w, c) -> (n, h, w, c)>],
                          iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%bias : tensor<16xf32>) outs(%e : tensor<2x28x28x16xf32>) {
  ^bb0(%b: f32, %out: f32):
    linalg.yield %b : f32
  } -> tensor<2x28x28x16xf32>
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh + kh, ow + kw, ci)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (kh, kw, ci, co)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh, ow, co)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x, %w : tensor<2x30x30x16xf32>, tensor<3x3x16x16xf32>) outs(%init : tensor<2x28x28x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x28x28x16xf32>
  return %r : tensor<2x28x28x16xf32>
}

// A broadcast along another dimension is not a start vector: the output
// is read.
// CHECK-LABEL: func.func @row_broadcast
// CHECK: linalg.generic
// CHECK: vector.transfer_read %{{.*}} : tensor<2x28x28x16xf32>, vector<16xf32>
func.func @row_broadcast(%x: tensor<2x30x30x16xf32>, %w: tensor<3x3x16x16xf32>, %rowv: tensor<28xf32>) -> tensor<2x28x28x16xf32> {
  %e = tensor.empty() : tensor<2x28x28x16xf32>
  %init = linalg.generic {indexing_maps = [affine_map<(n, h, w, c) -> (w)>, affine_map<(n, h, w, c) -> (n, h, w, c)>],
                          iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%rowv : tensor<28xf32>) outs(%e : tensor<2x28x28x16xf32>) {
  ^bb0(%b: f32, %out: f32):
    linalg.yield %b : f32
  } -> tensor<2x28x28x16xf32>
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh + kh, ow + kw, ci)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (kh, kw, ci, co)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh, ow, co)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x, %w : tensor<2x30x30x16xf32>, tensor<3x3x16x16xf32>) outs(%init : tensor<2x28x28x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x28x28x16xf32>
  return %r : tensor<2x28x28x16xf32>
}

// 64 output channels take eight 256-bit registers a row, leaving none for
// a second row: the tile covers a block of 32 channels (4 registers) for 2
// images, over a loop of column blocks inside the pixel loops; the bias
// each accumulator starts from is read at the block. With 512-bit
// registers a whole row (4 registers) fits next to others: no column loop.
// AVX2-LABEL: func.func @wide_channels
// AVX2: scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %c2
// AVX2: scf.for %[[CO:.*]] = %{{.*}} to %{{.*}} step %c32
// AVX2: vector.transfer_read %{{.*}}[%[[CO]]]{{.*}} : tensor<64xf32>, vector<32xf32>
// AVX2: vector.transfer_read %{{.*}}, %[[CO]]]{{.*}} : tensor<3x3x64x64xf32>, vector<32xf32>
// AVX2-COUNT-2: vector.transfer_write %{{.*}} : vector<32xf32>, tensor<4x7x7x64xf32>
// CHECK-LABEL: func.func @wide_channels
// CHECK-NOT: step %c32
// CHECK: vector.transfer_read %{{.*}} : tensor<3x3x64x64xf32>, vector<64xf32>
func.func @wide_channels(%x: tensor<4x9x9x64xf32>, %w: tensor<3x3x64x64xf32>, %bias: tensor<64xf32>) -> tensor<4x7x7x64xf32> {
  %e = tensor.empty() : tensor<4x7x7x64xf32>
  %init = linalg.generic {
      indexing_maps = [affine_map<(n, h, w, c) -> (c)>, affine_map<(n, h, w, c) -> (n, h, w, c)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%bias : tensor<64xf32>) outs(%e : tensor<4x7x7x64xf32>) {
  ^bb0(%b: f32, %o: f32):
    linalg.yield %b : f32
  } -> tensor<4x7x7x64xf32>
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh + kh, ow + kw, ci)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (kh, kw, ci, co)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh, ow, co)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x, %w : tensor<4x9x9x64xf32>, tensor<3x3x64x64xf32>) outs(%init : tensor<4x7x7x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x7x7x64xf32>
  return %r : tensor<4x7x7x64xf32>
}

// Accumulators in memory (reductions outside the parallel loops): the
// column loop goes inside the last parallel loop.
// AVX2-LABEL: func.func @wide_weight_gradient
// AVX2: step %c2
// AVX2: scf.for %[[CO:.*]] = %{{.*}} to %{{.*}} step %c32
// AVX2-COUNT-2: vector.transfer_write %{{.*}}, %[[CO]]] {{.*}} : vector<32xf32>, tensor<3x3x64x64xf32>
func.func @wide_weight_gradient(%x: tensor<4x9x9x64xf32>, %dy: tensor<4x7x7x64xf32>, %init: tensor<3x3x64x64xf32>) -> tensor<3x3x64x64xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh + kh, ow + kw, ci)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh, ow, co)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (kh, kw, ci, co)>],
      iterator_types = ["reduction", "reduction", "reduction", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %dy : tensor<4x9x9x64xf32>, tensor<4x7x7x64xf32>) outs(%init : tensor<3x3x64x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x3x64x64xf32>
  return %r : tensor<3x3x64x64xf32>
}

// A body may use a scalar from outside the op (a threshold hoisted out of
// it): each row uses it broadcast to the lanes.
// CHECK-LABEL: func.func @outside_scalar
// CHECK: step %c8
// CHECK: %[[T:.*]] = vector.broadcast %arg3 : f32 to vector<16xf32>
// CHECK: arith.cmpf olt, %{{.*}}, %[[T]] : vector<16xf32>
func.func @outside_scalar(%x: tensor<16x64xf32>, %y: tensor<64x16xf32>, %init: tensor<16x16xf32>, %t: f32) -> tensor<16x16xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(i, k, j) -> (i, k)>,
                       affine_map<(i, k, j) -> (k, j)>,
                       affine_map<(i, k, j) -> (i, j)>],
      iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %y : tensor<16x64xf32>, tensor<64x16xf32>) outs(%init : tensor<16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %below = arith.cmpf olt, %a, %t : f32
    %m = arith.select %below, %a, %t : f32
    %p = arith.mulf %m, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x16xf32>
  return %r : tensor<16x16xf32>
}
