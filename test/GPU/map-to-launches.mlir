// RUN: dq-opt %s --split-input-file --dq-gpu-map-to-launches="shared-memory-tiles=false" --canonicalize --cse | FileCheck %s

// Without shared-memory tiles (map-to-launches-tiles.mlir has them).

// An elementwise op: its 2-d parallel space flattened, 256 threads per
// block, ceil(12 * 100 / 256) = 5 blocks; each thread checks the bound and
// delinearizes its index (constant divisors, inside the kernel).
// CHECK-LABEL: func.func @elementwise
// CHECK-DAG: %[[HUNDRED:.*]] = arith.constant 100 : i32
// CHECK-DAG: %[[THREADS:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[TOTAL:.*]] = arith.constant 1200 : index
// CHECK-DAG: %[[FIVE:.*]] = arith.constant 5 : index
// CHECK: gpu.launch blocks(%[[BLOCK:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[FIVE]], {{.*}}) threads(%[[THREAD:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[THREADS]],
// CHECK: %[[BASE:.*]] = arith.muli %[[BLOCK]], %[[THREADS]]
// CHECK: %[[LINEAR:.*]] = arith.addi %[[BASE]], %[[THREAD]]
// CHECK: %[[INSIDE:.*]] = arith.cmpi ult, %[[LINEAR]], %[[TOTAL]]
// CHECK: scf.if %[[INSIDE]]
// CHECK: %[[LINEAR32:.*]] = arith.index_castui %[[LINEAR]] : index to i32
// CHECK: arith.remui %[[LINEAR32]], %[[HUNDRED]] : i32
// CHECK: arith.divui %[[LINEAR32]], %[[HUNDRED]] : i32
// CHECK: math.exp
// CHECK: memref.store
// CHECK: gpu.terminator
#id = affine_map<(i, j) -> (i, j)>
func.func @elementwise(%a: memref<12x100xf32>, %b: memref<12x100xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<12x100xf32>) outs(%b : memref<12x100xf32>) {
  ^bb0(%x: f32, %o: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A contraction with few reduction steps: one thread per output element,
// accumulating in registers from the fill's value; the fill disappears.
// CHECK-LABEL: func.func @matmul
// CHECK-NOT: linalg.generic
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: gpu.launch
// CHECK: scf.for {{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32)
// CHECK: %[[PRODUCT:.*]] = arith.mulf
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]], %[[PRODUCT]]
// CHECK: scf.yield %[[SUM]]
// CHECK: memref.store
// CHECK-NOT: gpu.launch
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
#fill_scalar = affine_map<(i, j) -> ()>
#fill_out = affine_map<(i, j) -> (i, j)>
func.func @matmul(%a: memref<64x32xf32>, %b: memref<32x16xf32>, %c: memref<64x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#fill_scalar, #fill_out], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%c : memref<64x16xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<64x32xf32>, memref<32x16xf32>) outs(%c : memref<64x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A reduction of 4 * 32 * 32 elements per channel: a block per channel
// (2048 / 8 = 256 chunks would fill the GPU, but 4096 elements leave one
// chunk of at least 16 per thread); each thread's partial maximum in shared
// memory, a tree, then one atomic maximum into the output.
// CHECK-LABEL: func.func @channel_max
// CHECK-DAG: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[CHANNELS:.*]] = arith.constant 8 : index
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[CHANNELS]], %{{.*}} = %[[ONE]], {{.*}}) threads({{.*}}) workgroup(%[[SHARED:.*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for {{.*}} iter_args(%[[ACC:.*]] = %[[NEG_INF]]) -> (f32)
// CHECK: arith.maximumf %[[ACC]]
// CHECK: memref.store {{.*}}, %[[SHARED]]
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK: arith.maximumf
// CHECK: gpu.barrier
// CHECK: memref.atomic_rmw maximumf
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

// -----

// A small full reduction and a copy: a single-thread kernel (accumulating
// from the output's value) and a copy kernel of 16 threads; nothing touches
// memory on the host.
// CHECK-LABEL: func.func @small_sum_and_copy
// CHECK-DAG: %[[SIXTEEN:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]]) threads({{.*}}) in (%{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]])
// CHECK: %[[INIT:.*]] = memref.load %{{.*}}[] : memref<f32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]])
// CHECK: gpu.terminator
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %[[SIXTEEN]],
// CHECK: memref.load
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK-NOT: memref.copy
#vec = affine_map<(i) -> (i)>
#scalar = affine_map<(i) -> ()>
func.func @small_sum_and_copy(%x: memref<16xf32>, %sum: memref<f32>, %y: memref<16xf32>) {
  linalg.generic {indexing_maps = [#vec, #scalar], iterator_types = ["reduction"]}
      ins(%x : memref<16xf32>) outs(%sum : memref<f32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  memref.copy %x, %y : memref<16xf32> to memref<16xf32>
  return
}

// -----

// A write into the output (through a view) between the fill and the
// contraction: the fill stays a kernel of its own and the contraction
// accumulates from the output's value.
// CHECK-LABEL: func.func @fill_then_partial_write
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: %[[INIT:.*]] = memref.load
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (f32)
#a2 = affine_map<(i, j, k) -> (i, k)>
#b2 = affine_map<(i, j, k) -> (k, j)>
#c2 = affine_map<(i, j, k) -> (i, j)>
#fill_scalar2 = affine_map<(i, j) -> ()>
#fill_out2 = affine_map<(i, j) -> (i, j)>
func.func @fill_then_partial_write(%a: memref<4x8xf32>, %b: memref<8x4xf32>, %c: memref<4x4xf32>, %row: memref<1x4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#fill_scalar2, #fill_out2], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%c : memref<4x4xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  %first = memref.subview %c[0, 0] [1, 4] [1, 1] : memref<4x4xf32> to memref<1x4xf32, strided<[4, 1]>>
  memref.copy %row, %first : memref<1x4xf32> to memref<1x4xf32, strided<[4, 1]>>
  linalg.generic {indexing_maps = [#a2, #b2, #c2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<4x8xf32>, memref<8x4xf32>) outs(%c : memref<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
