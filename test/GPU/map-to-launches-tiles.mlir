// RUN: dq-opt %s --split-input-file --dq-gpu-map-to-launches --canonicalize --cse | FileCheck %s
// RUN: dq-opt %s --split-input-file --dq-gpu-map-to-launches="shared-memory-bytes=2048" --canonicalize --cse | FileCheck %s --check-prefix=SMALL

// Shared-memory tiles of reductions with many outputs.

// A 3x3 convolution, NHWC input (padded), HWCF filter. Output tile: all 16
// channels x 8 columns x 2 rows = 256 threads, 2 x 4 = 8 blocks. The whole
// reduction fits in one chunk: the input box is 1 x (2+2) x (8+2) x 8 = 320
// floats, the filter box 3 x 3 x 8 x 16 = 1152; no bounds checks (the tile
// divides the output). Each thread then reads both from shared memory and
// stores its element; the fill is absorbed.
// CHECK-LABEL: func.func @conv
// CHECK-NOT: linalg
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C8]], {{.*}}) threads({{.*}}) in (%{{.*}} = %[[C256]], {{.*}}) workgroup(%[[IN:.*]] : memref<320xf32, #gpu.address_space<workgroup>>, %[[FILTER:.*]] : memref<1152xf32, #gpu.address_space<workgroup>>)
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK-NOT: scf.if
// CHECK: memref.store %{{.*}}, %[[IN]]
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[FILTER]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK-DAG: memref.load %[[IN]]
// CHECK-DAG: memref.load %[[FILTER]]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: scf.if
// CHECK: memref.store %{{.*}}, %arg2
// CHECK-NEXT: gpu.terminator

// With 2 KiB of shared memory, a chunk is one (kh, kw) tap and all 8 input
// channels (128 + 128 floats): 9 chunks in the op's order, two barriers
// each. 8 tiles leave a GPU idle, so each tile's reduction is split over 2
// blocks (chunks 0-4 and 5-8), each accumulating from 0 and adding its
// result atomically; the fill then runs first as a kernel of its own.
// SMALL-LABEL: func.func @conv
// SMALL-DAG: %[[C2:.*]] = arith.constant 2 : index
// SMALL-DAG: %[[C5:.*]] = arith.constant 5 : index
// SMALL-DAG: %[[C9:.*]] = arith.constant 9 : index
// SMALL-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// SMALL: gpu.launch
// SMALL: memref.store %[[ZERO]], %arg2
// SMALL: gpu.launch blocks(%{{.*}}, %[[SPLIT:.*]], %{{.*}}) in (%{{.*}} = %{{.*}}, %{{.*}} = %[[C2]], {{.*}} workgroup(%{{.*}} : memref<128xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<128xf32, #gpu.address_space<workgroup>>)
// SMALL: %[[FIRST:.*]] = arith.muli %[[SPLIT]], %[[C5]]
// SMALL: %[[NEXT:.*]] = arith.addi %[[FIRST]], %[[C5]]
// SMALL: %[[END:.*]] = arith.minui %[[NEXT]], %[[C9]]
// SMALL: scf.for %{{.*}} = %[[FIRST]] to %[[END]] {{.*}} iter_args(%{{.*}} = %[[ZERO]])
// SMALL: gpu.barrier
// SMALL: gpu.barrier
// SMALL: scf.yield
// SMALL: memref.atomic_rmw addf %{{.*}}, %arg2
#in = affine_map<(n, h, w, f, kh, kw, c) -> (n, h + kh, w + kw, c)>
#flt = affine_map<(n, h, w, f, kh, kw, c) -> (kh, kw, c, f)>
#out = affine_map<(n, h, w, f, kh, kw, c) -> (n, h, w, f)>
func.func @conv(%x: memref<2x10x10x8xf32>, %k: memref<3x3x8x16xf32>, %y: memref<2x8x8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<2x8x8x16xf32>)
  linalg.generic {indexing_maps = [#in, #flt, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %k : memref<2x10x10x8xf32>, memref<3x3x8x16xf32>) outs(%y : memref<2x8x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// 97 rows (prime) do not tile: 24 columns x 10 rows per block, 10 blocks.
// Threads past the last row compute a clamped row and store nothing; the
// last block's box of A reaches past row 96, so its copy is bounds-checked
// (zero outside).
// CHECK-LABEL: func.func @ragged_matmul
// CHECK-DAG: %[[C96:.*]] = arith.constant 96 : index
// CHECK-DAG: %[[C240:.*]] = arith.constant 240 : index
// CHECK-DAG: %[[C97:.*]] = arith.constant 97 : index
// CHECK: threads({{.*}}) in (%{{.*}} = %[[C240]], {{.*}}) workgroup(%[[A:.*]] : memref<400xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<960xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[WITHIN:.*]] = arith.cmpi ule, %{{.*}}, %[[C96]]
// CHECK: arith.minui %{{.*}}, %[[C96]]
// CHECK: %[[ROW_OK:.*]] = arith.cmpi ult, %{{.*}}, %[[C97]]
// CHECK: scf.if %[[ROW_OK]]
// CHECK: memref.load %arg0
// CHECK: else
// CHECK: memref.store %{{.*}}, %[[A]]
// CHECK: scf.if %[[WITHIN]]
// CHECK-NEXT: memref.store
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
func.func @ragged_matmul(%a: memref<97x40xf32>, %b: memref<40x24xf32>, %c: memref<97x24xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<97x40xf32>, memref<40x24xf32>) outs(%c : memref<97x24xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A 3x3 convolution with stride 2: the same output tile reads an input box
// of 1 x (2*1+3) x (2*7+3) x 8 = 680 floats.
// CHECK-LABEL: func.func @strided_conv
// CHECK: workgroup(%{{.*}} : memref<680xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1152xf32, #gpu.address_space<workgroup>>)
// CHECK-NOT: scf.if
// CHECK: gpu.terminator
#sin = affine_map<(n, h, w, f, kh, kw, c) -> (n, 2 * h + kh, 2 * w + kw, c)>
#sflt = affine_map<(n, h, w, f, kh, kw, c) -> (kh, kw, c, f)>
#sout = affine_map<(n, h, w, f, kh, kw, c) -> (n, h, w, f)>
func.func @strided_conv(%x: memref<2x17x17x8xf32>, %k: memref<3x3x8x16xf32>, %y: memref<2x8x8x16xf32>) {
  linalg.generic {indexing_maps = [#sin, #sflt, #sout], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %k : memref<2x17x17x8xf32>, memref<3x3x8x16xf32>) outs(%y : memref<2x8x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Every input indexed by every parallel dim: nothing to share, one thread
// per output reading global memory.
// CHECK-LABEL: func.func @row_sums
// CHECK-NOT: workgroup
// CHECK: gpu.launch
// CHECK-NOT: gpu.barrier
#rows = affine_map<(i, k) -> (i, k)>
#row = affine_map<(i, k) -> (i)>
func.func @row_sums(%x: memref<1000x8xf32>, %s: memref<1000xf32>) {
  linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<1000x8xf32>) outs(%s : memref<1000xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.addf %in, %acc : f32
    linalg.yield %a : f32
  }
  return
}
