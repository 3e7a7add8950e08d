// RUN: dq-opt %s --split-input-file --dq-gpu-map-to-launches="deterministic shared-memory-bytes=2048" --canonicalize --cse | FileCheck %s

// deterministic: no reduction is reassociated. The convolution that 2 KiB
// of shared memory would split over 2 blocks per tile (see
// map-to-launches-tiles.mlir) runs its 9 chunks in one block, from the
// fill's value, and stores; nothing atomic.
// CHECK-LABEL: func.func @conv
// CHECK-COUNT-1: gpu.launch
// CHECK-SAME: workgroup
// CHECK: scf.for %{{.*}} = %c0 to %c9
// CHECK-NOT: memref.atomic_rmw
// CHECK: memref.store %{{.*}}, %arg2
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

// A per-channel maximum over 4096 elements, a block reduction by default:
// here one thread per channel walks its elements in order; no shared
// memory, nothing atomic.
// CHECK-LABEL: func.func @channel_max
// CHECK: gpu.launch
// CHECK-NOT: workgroup
// CHECK-NOT: gpu.barrier
// CHECK-NOT: memref.atomic_rmw
// CHECK: arith.maximumf
// CHECK: memref.store
#nhwc = affine_map<(c, n, h, w) -> (n, h, w, c)>
#channel = affine_map<(c, n, h, w) -> (c)>
func.func @channel_max(%x: memref<4x32x32x8xf32>, %out: memref<8xf32>) {
  linalg.generic {indexing_maps = [#nhwc, #channel], iterator_types = ["parallel", "reduction", "reduction", "reduction"]}
      ins(%x : memref<4x32x32x8xf32>) outs(%out : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %m = arith.maximumf %acc, %in : f32
    linalg.yield %m : f32
  }
  return
}
