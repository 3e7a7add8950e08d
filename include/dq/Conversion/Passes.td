//===- Passes.td - dq conversion passes -------------------*- tablegen -*-===//

#ifndef DQ_CONVERSION_PASSES_TD
#define DQ_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertDQToLinalg : Pass<"convert-dq-to-linalg"> {
  let summary = "Lowers dq ops to linalg.generic on tensors";
  let description = [{
    Every `dq` op becomes `linalg.generic` ops on tensors that compute
    exactly the contract of docs/Numerics.md:

    * `dq.decode_weights`: a `[channels x 2^K]` level table, then a gather
      of each code's level;
    * `dq.quantize_act`: a `[2^K]` level table, then per element a scan for
      the nearest level (ties to the larger); above 16 levels a binary
      search in the sorted table. A nearest unipolar `dq.project` of
      `max(x, 0)` on the same basis later in the block (the activation fit
      of a training step) is lowered with it: one generic yields both the
      level and the code, bit for bit what the two give apart, so a step
      searches each activation once;
    * `dq.project`: the same scan returning the code (nearest), or the two
      levels around the value and a counter-based random number
      (stochastic); nearest on a constant unipolar basis (an inference
      model's activations) is one compare and select per distinct level
      against thresholds computed at compile time, bit-exact with the scan
      (`numerics::LevelTable::steps`);
    * `dq.fit_levels`: per-code weighted histograms, then a `K x K`
      Cholesky solve per fit.

    Before:
    ```mlir
    %w = dq.decode_weights %c, %v axis = 0
           : (tensor<4x3xi8>, tensor<4x2xf32>) -> tensor<4x3xf32>
    ```
    After:
    ```mlir
    %table = linalg.generic ... -> tensor<4x4xf32>
    %w = linalg.generic {iterator_types = ["parallel", "parallel"]}
           ins(%c : tensor<4x3xi8>) outs(%e : tensor<4x3xf32>) {
      ... tensor.extract %table[%channel, %code] ...
    }
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tosa::TosaDialect",
                           "::mlir::vector::VectorDialect"];
  let options = [
    Option<"bitserialRows", "bitserial-rows", "bool", "true",
           "dq.bitserial_conv2d as one scf.forall iteration per output row "
           "(CPU: a kernel of vector ops that keeps the popcount sums of "
           "a block of pixels in registers); false: generics over the whole "
           "batch (GPU launches)">,
    Option<"bitserialVectorBits", "bitserial-vector-bits", "int64_t", "256",
           "Width in bits of the target's vector registers (the lanes of "
           "the row kernel; dq-lower-to-llvm passes its vector-bits)">,
    Option<"bitserialVectorRegisters", "bitserial-vector-registers",
           "int64_t", "16",
           "Number of the target's vector registers (the row kernel's "
           "pixel block; dq-lower-to-llvm passes its vector-registers)">,
    Option<"bitserialByteCounts", "bitserial-byte-counts", "bool", "false",
           "For x86 without VPOPCNTDQ (AVX2, AVX-512BW): the row kernel "
           "counts bits per byte (a nibble table, VPSHUFB) and sums a "
           "lane's bytes once per output instead of once per word (a "
           "vector.multi_reduction that dq-x86-byte-sums makes PSADBW); "
           "windows of more than 31 words keep i64 sums; dq-lower-to-llvm "
           "passes its bitserial-byte-counts">,
  ];
}

def DQPackEntryPoints : Pass<"dq-pack-entry-points", "::mlir::ModuleOp"> {
  let summary = "Adds dq_<name>(void **args) wrappers around C interfaces";
  let description = [{
    For every `llvm.func @_mlir_ciface_<name>` with a body (what
    `dq-lower-to-llvm{emit-c-interface}` produces), adds
    `llvm.func @dq_<name>(%args: !llvm.ptr)`: `args[i]` points to the i-th
    parameter of the C interface (a memref descriptor, the result struct, or
    a scalar such as the learning rate), and a scalar return value, if any,
    is stored through `args[n]`. A runtime can then call an entry point with
    any number of state tensors through one fixed C signature; the manifest
    lists what each slot holds.

    ```mlir
    llvm.func @dq_train_step(%args: !llvm.ptr) {
      // load args[0..n), call @_mlir_ciface_train_step, return
    }
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def DQSplitFunctions : Pass<"dq-split-functions", "::mlir::ModuleOp"> {
  let summary = "Splits large functions into calls to outlined pieces of "
                "bounded size";
  let description = [{
    LLVM's optimizer and code generator cost more than linearly in the size
    of a function, and a function is compiled on one thread: a training
    step of tens of thousands of instructions bounds the compile. This pass
    cuts every function larger than `ops-per-function` (operations, nested
    ones included) into consecutive runs of its top-level operations, each
    about that size, and moves each run into a private function that the
    original calls in its place. A run's callee takes the values it uses
    from outside and returns the values used after it. Constants without
    operands are cloned into it instead, and so are views computed from
    such constants alone (the buffers of dq-static-buffers' arena, reshapes
    of a buffer): the callee takes their source. Callees are `noinline` with
    internal linkage, so LLVM compiles them separately (and dq-compile's
    partitions on separate threads).

    Runs after bufferization and buffer deallocation (memrefs are passed
    and returned as descriptors; a buffer allocated in one piece is freed in
    another as before). A run is left inline when a memref it would return
    is a view of a `memref.alloca` inside it. The order of every operation
    and every floating-point result is unchanged.

    Before (`ops-per-function=4`):
    ```mlir
    func.func @step(%a: memref<8xf32>) {
      linalg.fill ins(%c0 : f32) outs(%a : memref<8xf32>)
      %b = memref.alloc() : memref<8xf32>
      linalg.copy ins(%a : memref<8xf32>) outs(%b : memref<8xf32>)
      ...
    }
    ```
    After:
    ```mlir
    func.func @step(%a: memref<8xf32>) {
      %b = call @step.part0(%a) : (memref<8xf32>) -> memref<8xf32>
      ...
    }
    func.func private @step.part0(%a: memref<8xf32>) -> memref<8xf32>
        attributes {llvm.linkage = #llvm.linkage<internal>,
                    passthrough = ["noinline"]} {
      %c0 = arith.constant 0.0 : f32
      linalg.fill ins(%c0 : f32) outs(%a : memref<8xf32>)
      %b = memref.alloc() : memref<8xf32>
      linalg.copy ins(%a : memref<8xf32>) outs(%b : memref<8xf32>)
      return %b : memref<8xf32>
    }
    ```
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect"];
  let options = [
    Option<"opsPerFunction", "ops-per-function", "int64_t",
           /*default=*/"1500",
           "Size (operations, nested ones included) above which a function "
           "is split, and the size of each piece">,
  ];
}

def DQDropUnusedArguments : Pass<"dq-drop-unused-arguments",
                                 "::mlir::ModuleOp"> {
  let summary = "Removes the arguments that a local LLVM function never "
                "reads, from it and from its calls";
  let description = [{
    A piece of dq-split-functions takes each buffer as a memref descriptor,
    which the conversion to the LLVM dialect expands into its pointers,
    offset, sizes and strides: a training step's pieces took up to 2400
    arguments each, most of them sizes and strides that the piece, whose
    shapes are static, never reads. The code generator's cost for such
    calls grows faster than their argument count (the instruction selector
    rehashes the call node for each argument), and the glue function that
    makes the calls was the slowest function of the compile.

    For every `llvm.func` with internal or private linkage and a body whose
    symbol is used only as the callee of direct `llvm.call`s without
    argument attributes, the arguments without uses are erased, and the
    corresponding operands of every call. Runs after the canonicalizer has
    folded the descriptors' `llvm.insertvalue`/`llvm.extractvalue` chains
    (an argument only inserted into a descriptor that nothing reads has no
    uses left). Calls compute the same values; only dead arguments go.

    Before:
    ```mlir
    llvm.func internal @step.part0(%p: !llvm.ptr, %size: i64) {
      %v = llvm.load %p : !llvm.ptr -> f32
      ...
    }
    llvm.call @step.part0(%buffer, %c16) : (!llvm.ptr, i64) -> ()
    ```
    After:
    ```mlir
    llvm.func internal @step.part0(%p: !llvm.ptr) { ... }
    llvm.call @step.part0(%buffer) : (!llvm.ptr) -> ()
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // DQ_CONVERSION_PASSES_TD
