//===- Passes.td - dq GPU passes ---------------------------*- tablegen -*-===//

#ifndef DQ_GPU_PASSES_TD
#define DQ_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def DQGPUParallelDimsFirst
    : Pass<"dq-gpu-parallel-dims-first", "::mlir::func::FuncOp"> {
  let summary = "Interchanges linalg.generic loops so parallel dims come first";
  let description = [{
    Moves every parallel iterator of a `linalg.generic` before its reduction
    iterators (keeping the relative order within each kind). Lowered to
    parallel loops, each op is then one `scf.parallel` over all its parallel
    dims with the reductions sequential inside it: one GPU thread per output
    element, the reduction in a register. The results are bit-identical
    (each reduction still runs in its original order).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def DQGPUMapToLaunches
    : Pass<"dq-gpu-map-to-launches", "::mlir::func::FuncOp"> {
  let summary = "Turns each host-level linalg op on buffers into a gpu.launch";
  let description = [{
    Runs after bufferization. Every `memref.copy` becomes a `linalg.copy`;
    then every linalg op at the top level of a function becomes one kernel:

    * with parallel loops: its parallel loops are flattened into one linear
      index space, `block-size` threads per block and as many blocks as
      needed; each thread delinearizes its index, checks the bound and runs
      the reduction loops for its output element;
    * reductions whose outputs are each combined by one `arith` op
      (`out = addf(out, v)`, max, min, ...) and whose inputs are read by
      several outputs (a convolution, its gradients, a matmul), with
      `shared-memory-tiles`: a block computes a tile of outputs (up to
      `block-size`, innermost dims first), one per thread accumulating in
      registers; the reduction runs in chunks (whole inner reduction dims
      while they fit), and for each chunk the block first copies the box of
      every shared input its tile reads into shared memory (at most
      `shared-memory-bytes`). The chunks keep the op's order: bit-identical
      to the sequential loop. When the tiles alone leave a large GPU idle
      (a weight gradient: a few thousand outputs, a long reduction), the
      chunks are split over several blocks per tile that combine their
      results with `memref.atomic_rmw` (reassociated);
    * other such reductions of at least 512 elements per output with few
      outputs (batch-norm statistics, quantizer fits): one block of 256
      threads per output element (several when there are few outputs);
      threads accumulate strided slices, the block combines them in shared
      memory, and one thread combines the block's result into the output
      with `memref.atomic_rmw` (reassociated);
    * the remaining reductions: one thread per output element reading
      global memory, in the sequential order;
    * with `deterministic`, no reduction is reassociated: no block
      reductions and no split chunks (bit-reproducible, slower);
    * without parallel loops (a small full reduction, a 0-d op): a
      single-thread launch; so does a `memref.store` left on the host.

    Ops left on the host are allocations, views, constants and the launches
    themselves (`dq-gpu-device-buffers` then moves the memory to the device).
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t",
           /*default=*/"::mlir::dq::kDefaultGPUBlockSize",
           "Threads per block of the flattened kernels">,
    Option<"sharedMemoryTiles", "shared-memory-tiles", "bool",
           /*default=*/"true",
           "Tile convolutions and matmuls, staging their shared inputs in "
           "shared memory (false: one thread per output reading global "
           "memory)">,
    Option<"sharedMemoryBytes", "shared-memory-bytes", "int64_t",
           /*default=*/"::mlir::dq::kDefaultGPUSharedMemoryBytes",
           "Shared memory per block for the staged inputs of a tile">,
    Option<"splitBlocks", "split-blocks", "int64_t",
           /*default=*/"::mlir::dq::kDefaultGPUSplitBlocks",
           "Split a tiled reduction's chunks over blocks when its tiles are "
           "fewer than half this many blocks (about this many in all; 132 "
           "SMs of an H100/H200 hold 8 or more blocks each)">,
    Option<"deterministic", "deterministic", "bool", /*default=*/"false",
           "Sum every reduction in the sequential order (no block trees, "
           "no atomics): results bit-reproducible and in the CPU build's "
           "order, large reductions with few outputs much slower">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def DQGPUDeviceBuffers : Pass<"dq-gpu-device-buffers", "::mlir::ModuleOp"> {
  let summary = "Keeps host functions' buffers on the GPU, host memory at the "
                "boundary";
  let description = [{
    Runs on host functions after `gpu-kernel-outlining`. The calling
    convention stays that of the CPU build (host memrefs in, host memrefs
    returned that the caller frees), so the same runtime drives either:

    * each memref argument is copied into a `gpu.alloc` buffer on entry;
    * each `memref.alloc`/`memref.alloca` becomes a `gpu.alloc`; each
      `memref.get_global` a device buffer filled from the global (a 16- or
      32-bit splat by `gpu.memset` instead, and the global is dropped when
      nothing else reads it);
    * a `memref.load` left on the host goes through a one-element copy
      (host stores were moved into kernels by `dq-gpu-map-to-launches`);
    * a call of an external (host) function, such as the collective that
      `dq.all_reduce` bufferizes to, gets host copies of its memref
      operands: copied from the device before the call and back after it
      (`gpu-async-region` then makes the host wait for the queued work
      before the call); a strided operand is an error;
    * each returned memref is copied into a fresh host buffer
      (`memref.alloc`), and every device buffer is freed before returning.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def DQGPUMergeKernelModules
    : Pass<"dq-gpu-merge-kernel-modules", "::mlir::ModuleOp"> {
  let summary = "Moves all outlined kernels into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` puts every kernel in its own `gpu.module`, which
    becomes its own binary, loaded (and, for PTX, compiled by the driver)
    separately. This pass moves every kernel into one `gpu.module` named
    `dq_kernels`, each kernel renamed after the module it came from, and
    updates the launches: one binary, one load.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // DQ_GPU_PASSES_TD
