//===- Passes.td - dq transformation passes ---------------*- tablegen -*-===//

#ifndef DQ_TRANSFORMS_PASSES_TD
#define DQ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DQQuantize : Pass<"dq-quantize", "::mlir::ModuleOp"> {
  let summary = "Quantizes the weights and input activations of conv and "
                "matmul layers";
  let description = [{
    Rewrites every selected layer (`tosa.conv2d`, `tosa.depthwise_conv2d`,
    `tosa.matmul`, `linalg.conv_2d_nhwc_fhwc`, `linalg.conv_2d_nhwc_hwcf`,
    `linalg.depthwise_conv_2d_nhwc_hwc`, `linalg.matmul`,
    `linalg.batch_matmul`) so that:

    * its weight is `dq.decode_weights` of codes and a per-output-channel
      basis. Constant weights are initialized as LQ-Nets does (basis
      `v_k = 2^k * 0.6745 * sqrt(2/fan_out) / 2^(K-1)`, then three
      alternations of nearest assignment and least-squares fit); a weight
      that is a function argument is replaced by two arguments, its codes
      and its basis (named `<layer>.codes` / `<layer>.basis` in the
      `dq.state` argument attribute);
    * its input activation goes through `dq.quantize_act` with the initial
      basis `u_k = 2^k * 0.6745 * 2 / (2^K - 1)`.

    By default the first convolution, the last matmul and 1x1 convolutions
    that form a residual projection shortcut keep full precision.
    `keep-fp` and `force-quantize` override this per layer: an entry
    matches a layer by its name (a `NameLoc` such as `"layer1.0.conv1"`
    anywhere in its location, or a `dq.name` string attribute) or by its
    source position `file:line`.

    Before:
    ```mlir
    %y = tosa.conv2d %x, %w, %b, %zp, %zp {...}
    ```
    After (`w-bits=2 a-bits=2`):
    ```mlir
    %u = arith.constant dense<[0.449667, 0.899333]> : tensor<2xf32>
    %xq = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 3
    %c = arith.constant dense<...> : tensor<16x3x3x16xi8>
    %v = arith.constant dense<...> : tensor<16x2xf32>
    %wq = dq.decode_weights %c, %v config = #dq.weight_quant<bits = 2, scheme = dq> axis = 0
    %y = tosa.conv2d %xq, %wq, %b, %zp, %zp {...}
    ```
    Layers it cannot quantize (e.g. a depthwise multiplier above 1, dynamic
    weight shapes, non-f32 weights, weights above `max-weight-elements`,
    constant weights with NaN or infinite values) are reported as errors
    naming the op. A `keep-fp`, `force-quantize` or `layer-bits` entry that
    matches no layer is an error (a misspelt name would silently change the
    model).

    Per-layer bits: `layer-bits=conv1=4:4,fc=8` gives `conv1` 4-bit weights
    and a 4-bit quantizer on its input, and `fc` 8-bit weights (its input
    keeps `a-bits`); the other layers keep `w-bits` and `a-bits`. Layers that
    read one activation share its quantizer only when their activation bits
    agree. An entry does not decide whether a layer is quantized (the first
    convolution and the last matmul stay in full precision unless
    `keep-first-last=false` or `force-quantize` says otherwise), and one that
    designates only full-precision layers is an error.

    Fine-tuning: with `latent-init=fp32`, each quantized constant weight's
    `dq.decode_weights` carries the fp32 weights (`dq.latent_init`), and
    `--dq-build-training-graph` starts the latent weights of the dq and
    lqnets schemes there instead of at the decoded weights (dq-lean has no
    latent weights).
  }];
  let dependentDialects = ["::mlir::dq::DQDialect",
                           "::mlir::arith::ArithDialect"];
  let options = [
    Option<"weightBits", "w-bits", "unsigned", "2",
           "Bits per weight (1 to 8)">,
    Option<"actBits", "a-bits", "unsigned", "2",
           "Bits per activation (1 to 8)">,
    Option<"weightScheme", "w-scheme", "std::string", "\"dq\"",
           "Weight training scheme: dq, dq-lean or lqnets">,
    Option<"actScheme", "a-scheme", "std::string", "\"dq\"",
           "Activation quantizer scheme: dq (channel-aware) or lqnets">,
    Option<"trim", "trim", "double", "0.0",
           "Fraction of channels left out of the activation fit (dq)">,
    Option<"keepFirstLast", "keep-first-last", "bool", "true",
           "Keep the first convolution and the last matmul in full "
           "precision">,
    Option<"keepShortcuts", "keep-shortcuts", "bool", "true",
           "Keep 1x1 projection-shortcut convolutions in full precision">,
    ListOption<"keepFP", "keep-fp", "std::string",
               "Layers (names or file:line) to keep in full precision">,
    Option<"summary", "summary", "bool", "false",
           "Print one line per layer (name, op, weight shape, quantized or "
           "why it keeps full precision) to stderr">,
    ListOption<"forceQuantize", "force-quantize", "std::string",
               "Layers (names or file:line) to quantize even if a default "
               "rule would keep them in full precision">,
    Option<"latentInit", "latent-init", "std::string", "\"decoded\"",
           "Initial latent weights of the dq and lqnets schemes: decoded "
           "(the quantized weights) or fp32 (the model's own weights, to "
           "fine-tune a trained model; the codes and basis are fitted to "
           "them either way)">,
    ListOption<"layerBits", "layer-bits", "std::string",
               "Per-layer bit widths, LAYER=W or LAYER=W:A (LAYER as in "
               "keep-fp): the layer's weight bits and the bits of the "
               "quantizer of its input; the last matching entry wins">,
    Option<"maxWeightElements", "max-weight-elements", "int64_t",
           "268435456",
           "Largest weight (in elements) a layer may have to be quantized; "
           "a larger one is an error (its codes would not fit in memory)">,
  ];
}

def DQBuildInferenceGraph : Pass<"dq-build-inference-graph",
                                 "::mlir::ModuleOp"> {
  let summary = "Turns a trained model into an inference function that "
                "computes on bit-planes";
  let description = [{
    Input: the module of `--dq-build-training-graph` (its `@predict` and
    `@init_state`) and, with `state=FILE`, a trained state of that module:
    `dq-train`'s `final.state`, a checkpoint, or a `model.dqm` export (the
    file's module hash, tensor names, shapes and values are checked; the
    pass must run first, on the module exactly as `dq-compile` hashed it).
    Output: a module with `dq.kind = "inference"` and one function,
    `@predict(%images) -> logits`, whose trained tensors are constants, so
    the compiled library is the whole model and holds each quantized weight
    as K bits (packed 64-bit words) plus its basis:

    * every quantized convolution (`tosa.conv2d` of `dq.quantize_act` and
      `dq.decode_weights` with constant codes) becomes `tosa.clamp`,
      `dq.project` (unipolar codes of the activations), `dq.pack_bits` and
      `dq.bitserial_conv2d` on constant packed weights;
    * a layer narrower than 64 channels with stride 1 along W packs the
      KW taps of a row with its channels (`dq.pack_bits ... window`:
      `[N, H, OW, Ka, ceil(KW * C / 64)]`) and becomes a `KH x 1`
      bit-serial convolution, when that takes fewer words
      (`window-packing`, default on);
    * a `dq.batch_norm` after such a convolution is folded into its basis
      and bias (`v'[o] = v[o] s[o]`, `b' = b s + t`, `s = gamma /
      sqrt(var + eps)`, `t = beta - mean s`);
    * full-precision layers stay as they are (their decoded constants are
      folded); `bit-serial=false` keeps every layer decoded, which is the
      same trained model computed in float, for comparisons.

    `batch=N` rebuilds the function for another batch size (batch 1 for
    latency): shapes along the batch dimension are rewritten op by op.

    Before (in `@predict`, state as arguments):
    ```mlir
    %xq = dq.quantize_act %x, %u config = ... axis = 3
    %wq = dq.decode_weights %codes, %v axis = 0
    %y = tosa.conv2d %xq, %wq, %b, %zp, %zp {...}
    %z = dq.batch_norm %y, %gamma, %beta, %mean, %var axis = 3 ...
    ```
    After (trained tensors constant, batch norm folded):
    ```mlir
    %x0 = tosa.clamp %x {min_val = 0.0 : f32, ...}
    %ac = dq.project %x0, %u axis = 3 unipolar nearest
    %a = dq.pack_bits %ac bits = 2
    %z = dq.bitserial_conv2d %a, %packed, %v_scaled, %u, %b_shifted
           pad = [1, 1, 1, 1] stride = [1, 1] dilation = [1, 1]
    ```
  }];
  let dependentDialects = ["::mlir::dq::DQDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tosa::TosaDialect"];
  let options = [
    Option<"statePath", "state", "std::string", "\"\"",
           "Trained state of this module (final.state, a checkpoint or a "
           "model.dqm export); without it, the initial state is used">,
    Option<"batch", "batch", "int64_t", "0",
           "Batch size of the inference function (0: the training batch)">,
    Option<"bitSerial", "bit-serial", "bool", "true",
           "Compute quantized convolutions on bit-planes (false: decoded "
           "float weights, for comparison)">,
    Option<"windowPacking", "window-packing", "bool", "true",
           "Pack the KW taps of a stride-1 row with the channels when that "
           "takes fewer 64-bit words (layers narrower than 64 channels; "
           "false: one tap per word)">,
    Option<"summary", "summary", "bool", "false",
           "Print one line per layer (bit-serial or why not) to stderr">,
  ];
}

def DQInitFromState : Pass<"dq-init-from-state", "::mlir::ModuleOp"> {
  let summary = "Sets a model's trainable constants to a dq-trained state "
                "of the same network";
  let description = [{
    The fp32-then-low-bit recipe inside dq: train the fp32 network
    (`--dq-build-training-graph` without `--dq-quantize`, dq-compile,
    dq-train), then start its quantized training from that state:

    ```sh
    dq-opt model.mlir --dq-init-from-state="manifest=out/fp32.manifest.json state=run/final.state" \
      --dq-quantize="w-bits=2 a-bits=2 latent-init=fp32" --dq-build-training-graph -o train.mlir
    ```

    Every trainable constant of the model function (`func`, default the
    only public one, else `@model`) is replaced by the state tensor of the
    same name, the name the training graph gives it (`<layer>.weight`,
    `<layer>.bias`, `<bn>.gamma`, `<bn>.beta`, `<bn>.running_mean`,
    `<bn>.running_var`; docs/TrainingGraph.md). The state (a state file, a
    checkpoint or an export) is read and checked against its manifest as
    the runtime does. Errors, each naming the tensor: a trainable constant
    the state lacks, a state tensor of another shape, a trained tensor of
    the state no constant takes (another network), and a state of a
    quantized model (it has codes: start from the fp32 one).
  }];
  let options = [
    Option<"manifest", "manifest", "std::string", "\"\"",
           "The manifest of the compiled training model the state belongs "
           "to (MODEL.manifest.json)">,
    Option<"statePath", "state", "std::string", "\"\"",
           "The trained state: final.state, a checkpoint or model.dqm">,
    Option<"funcName", "func", "std::string", "\"\"",
           "The model function (default: the only public function with a "
           "body, else @model)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def DQFuseElementwise : Pass<"dq-fuse-elementwise"> {
  let summary = "Fuses elementwise producers into their consumers where "
                "that does not recompute costly ones";
  let description = [{
    Upstream's elementwise fusion (`linalg-fuse-elementwise-ops`: producer
    generics with one use fused into consumer generics, reshapes folded by
    expansion, the same canonicalizations), except that a producer is not
    fused into a consumer that reads each of its elements more than once
    (an operand map that is not a permutation of the consumer's loops: a
    contraction reads an input element once per output it feeds) when the
    producer is costly: a table lookup (`tensor.extract`, the decode of
    weight codes and the nearest-level search of activation quantizers) or
    more than `max-recomputed-ops` operations. Fused, such a producer is
    recomputed in every iteration of the loops its map leaves out (the
    level search of an fc layer's quantized input once per output neuron)
    and keeps the contraction from vectorizing; unfused, it runs once per
    element into a tensor the contraction reads. Results are bit-identical
    either way: the same operations on the same values.

    A cheap elementwise producer (at most `max-shared-ops` operations, no
    lookup) whose several consumers are all generics reading each of its
    elements once is copied into each consumer and fused there, so that its
    tensor (a batch-norm's normalized activations, read again by the
    gradient's reductions and elementwise ops) is neither written nor read
    back: a few operations recomputed per element instead of a pass over
    memory.
  }];
  let options = [
    Option<"maxRecomputedOps", "max-recomputed-ops", "int64_t", "4",
           "Largest producer body (operations besides the yield) fused into "
           "a consumer that recomputes it">,
    Option<"maxSharedOps", "max-shared-ops", "int64_t", "6",
           "Largest body of an elementwise producer with several consumers, "
           "each of which reads each element once, that is copied into "
           "every consumer instead of written and read back (0: never)">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::affine::AffineDialect"];
}

def DQInterchangeGenerics : Pass<"dq-interchange-generics"> {
  let summary = "Reorders the loops of reduction generics for locality";
  let description = [{
    For every `linalg.generic` with a reduction, moves the parallel loop that
    walks the output's contiguous (last) dimension innermost, and, when the
    reduction space is larger than the parallel one (weight gradients: a
    small output summed over the batch and the image), moves every reduction
    loop outermost in its original order, so the output stays in cache and
    the inputs stream once. Only parallel loops move relative to reductions,
    so every output element still adds its terms in the same order: results
    are bit-identical.

    Before: `(o, kh, kw, c, n, oh, ow)` with `n, oh, ow` reductions.
    After: `(n, oh, ow, o, kh, kw, c)`.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def DQBlockBatchSums : Pass<"dq-block-batch-sums", "::mlir::ModuleOp"> {
  let summary = "Sums over the batch in the blocks and the order of a "
                "data-parallel run (dq.replica_batch)";
  let description = [{
    For a training module built with `dq-build-training-graph="data-parallel=true
    replica-batch=S"` (module attribute `dq.replica_batch = S`), run on
    linalg on tensors (after `linalg-generalize-named-ops`). Every
    `linalg.generic` of `@train_step` and `@calibrate` that sums over the
    batch (a reduction loop that indexes the batch dimension, followed from
    the image and label arguments) becomes `N / S` copies of itself, each
    on the `tensor.extract_slice` of one block of `S` images (the shapes of
    one process of batch `S`, so every later pass treats each copy as it
    treats that process's op), and their results are added in a tree: the
    first `2^k` blocks' sum plus the rest's, `2^k` the largest power of two
    below the count, as dq's collective adds the processes' sums. Outputs
    along the batch are put back together with `tensor.insert_slice`; a
    body's `linalg.index` of the batch loop gets the block's offset. One
    process with batch `N` then computes bit for bit the step of `N / S`
    processes with batch `S` each (docs/Runtime.md, "How exact").

    Without the attribute, or with `S` = the batch, nothing changes.
    Errors: `S` not dividing the batch into a power-of-two number of blocks,
    an op the batch cannot be followed through (named), a reduction over the
    batch that is not a sum, a sum that does not start from zeros.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def DQSplitReductions : Pass<"dq-split-reductions", "::mlir::func::FuncOp"> {
  let summary = "Splits large reductions that have no parallel loop to "
                "distribute into partial sums over a fixed number of chunks";
  let description = [{
    Run after `dq-interchange-generics` and before
    `dq-parallelize-generics`. A `linalg.generic` with static loop ranges
    and at least `min-iterations` iterations whose outermost loop is a
    reduction, and whose other loops are reductions except the innermost
    (or have a single iteration), has nothing for `dq-parallelize-generics`
    to distribute: the per-channel sums of batch norm and bias gradients
    (`[n, h, w, c] -> [c]`) and the level-fit histograms. Such an op, when
    every output is updated by one add (`arith.addf` or `arith.addi`) and
    every input reads the outermost loop as one whole index or not at all,
    becomes two ops:

    - the partial sums: a new outermost parallel loop over `chunks` chunks
      (the largest divisor of the outermost range not above `chunks`), each
      reducing its part of the outermost loop into zeros of
      `[chunks, ...output]`; the inputs read along that loop are
      `tensor.expand_shape`d, so every indexing map stays a projection;
    - the combine: the original output plus the partial sums in chunk order.

    The chunk count is fixed by the build, never by the thread count, so
    results do not depend on the number of threads; they are not the naive
    loop order's (the sum is reassociated into chunks). `chunks=0` keeps
    every op as it is.

    Before: `linalg.generic` `[reduction x3, parallel]` over
    128x28x28x16 into `tensor<16xf32>`.
    After: `linalg.generic` `[parallel, reduction x4, parallel]` over
    16x8x28x28x16 into `tensor<16x16xf32>`, then `linalg.generic`
    `[reduction, parallel]` adding the 16 partials into the original output.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"chunks", "chunks", "int64_t", /*default=*/"16",
           "Most chunks a reduction is split into (0 or 1: none)">,
    Option<"minIterations", "min-iterations", "int64_t", "32768",
           "Smallest iteration space (product of the loop ranges) split">,
  ];
}

def DQParallelizeGenerics : Pass<"dq-parallelize-generics"> {
  let summary = "Distributes the outermost parallel loop of large generics "
                "over threads";
  let description = [{
    Run after `dq-interchange-generics`. Every `linalg.generic` with static
    loop ranges whose iteration count reaches `min-iterations` is tiled by 1
    along its outermost parallel loop that is not the innermost loop (the
    innermost one carries the vector lanes), producing an `scf.forall` that
    the CPU pipeline turns into an OpenMP work-sharing loop. Only parallel
    loops are distributed, so every output element is computed by one
    thread in the original order: results are bit-identical for any number
    of threads.

    An output initialized by a fill (named or generic), when the op gets a
    register tile, is filled slice by slice inside the `scf.forall`, so that
    `dq-vectorize-generics` still finds the fill next to the op; a fill
    whose every user does so is not distributed on its own.

    Before: `linalg.generic` over `(n, h, w, c)`, 128x14x14x32.
    After: `scf.forall (%n) in (128)` around the same generic on a
    1x14x14x32 slice.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"minIterations", "min-iterations", "int64_t", "32768",
           "Smallest iteration space (product of the loop ranges) worth a "
           "fork and join">,
    Option<"vectorBits", "vector-bits", "int64_t", /*default=*/"256",
           "Width of the target's vector registers in bits (the register "
           "tile a distributed loop is chunked to)">,
    Option<"vectorRegisters", "vector-registers", "int64_t",
           /*default=*/"16",
           "Number of the target's vector registers (the register tile a "
           "distributed loop is chunked to)">
  ];
}

def DQMarkLibraryConvs : Pass<"dq-mark-library-convs",
                              "::mlir::func::FuncOp"> {
  let summary = "Marks the convolution contractions that a library runs";
  let description = [{
    Finds the two contractions that every f32 convolution and convolution
    gradient of a model is (a generalized `linalg.conv_2d_nhwc_hwcf`; the
    input and weight gradients of lib/Training/TosaGradients.cpp), each over
    an explicitly padded input, and sets their `library_call`:

    - `dq_conv2d_accumulate_f32`: `out[n, y, x, co] += in[n, y*sy + ky*dy,
      x*sx + kx*dx, ci] * w[...]`, with `w` indexed by any permutation of
      `(ky, kx, ci, co)` (forward: HWCF; input gradient: the flipped kernel,
      `(ci, ky, kx, co)` of the spread output gradient's correlation);
    - `dq_conv2d_weight_grad_accumulate_f32`: `w[...] += in[n, y*sy + ky*dy,
      x*sx + kx*dx, ci] * g[n, y, x, co]`.

    Only generics whose body is exactly one multiply and one add into the
    output, on static rank-4 f32 tensors, match; anything fused into them,
    and a strided slice read or a strided insert of the result (the stride
    phases of a strided convolution's input gradient), keeps them on dq's
    own kernels. dq's loop passes leave marked generics
    alone, and `dq-call-library-convs` turns them into calls after
    bufferization. Values change in the last bits (the library's summation
    order); docs/Runtime.md says what a build guarantees.

    Before: `linalg.generic {indexing_maps = [(n,y,x,co,ky,kx,ci) ->
    (n, y + ky, x + kx, ci), ... -> (ky, kx, ci, co), ... -> (n, y, x, co)]}`.
    After: the same generic with `library_call = "dq_conv2d_accumulate_f32"`.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def DQCallLibraryConvs : Pass<"dq-call-library-convs", "::mlir::ModuleOp"> {
  let summary = "Replaces marked convolution generics on buffers by calls "
                "into dq's convolution library";
  let description = [{
    Run after bufferization. Every `linalg.generic` on memrefs whose
    `library_call` `dq-mark-library-convs` set becomes a `func.call` of
    `dq_model_conv2d_accumulate_f32` or
    `dq_model_conv2d_weight_grad_accumulate_f32` (dq/runtime/ConvLibrary.h,
    declared here with `llvm.emit_c_interface`) on fully dynamic strided
    views: the input, the weights transposed to `(ky, kx, ci, co)` order,
    the output or gradient, then the strides and dilations. The library
    accumulates into the destination like the generic does. A marked
    generic whose maps no longer have a convolution's form is an error.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def DQX86ByteSums : Pass<"dq-x86-byte-sums", "::mlir::func::FuncOp"> {
  let summary = "Turns sums of groups of 8 zero-extended bytes into x86 "
                "PSADBW";
  let description = [{
    A `vector.multi_reduction <add>` over the inner dimension of
    `arith.extui(vector.shape_cast(%bytes : vector<(8L)xi8> to
    vector<Lx8xi8>))` to `vector<Lxi64>` (the byte counts of
    dq.bitserial_conv2d's kernel with `bitserial-byte-counts`) is one
    PSADBW against zeros: `llvm.x86.sse2.psad.bw` (L = 2),
    `llvm.x86.avx2.psad.bw` (L = 4) or `llvm.x86.avx512.psad.bw.512`
    (L = 8), plus the reduction's accumulator unless it is zero. LLVM
    forms PSADBW only for whole-vector reductions; for these it emits a
    shuffle tree per lane. Reductions wider than `vector-bits` stay as
    they are. Values are unchanged (exact integer sums). x86 only: the
    intrinsics exist nowhere else. Runs after buffer deallocation, which
    rejects operations without declared memory effects.

    Before:
    ```mlir
    %g = vector.shape_cast %b : vector<32xi8> to vector<4x8xi8>
    %w = arith.extui %g : vector<4x8xi8> to vector<4x8xi64>
    %s = vector.multi_reduction <add>, %w, %zero [1]
           : vector<4x8xi64> to vector<4xi64>
    ```
    After:
    ```mlir
    %s = llvm.call_intrinsic "llvm.x86.avx2.psad.bw"(%b, %zeros)
           : (vector<32xi8>, vector<32xi8>) -> vector<4xi64>
    ```
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", "128",
           "Widest PSADBW of the target: 128 (SSE2), 256 (AVX2), 512 "
           "(AVX-512BW)">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def DQStaticBuffers : Pass<"dq-static-buffers", "::mlir::ModuleOp"> {
  let summary = "Places the buffers a function frees before it returns at "
                "fixed offsets of one arena kept across calls";
  let description = [{
    A lowered training step allocates and frees about a thousand buffers of
    static size per call; every call then pays a malloc and a free for each,
    and the kernel's page faults for each large one, which glibc maps anew.
    In every single-block function, this pass takes each `memref.alloc` of
    its block that has a static shape, the identity layout and whole-byte
    elements, and whose buffer is freed by one `memref.dealloc` of the same
    block and never leaves the function (not returned, yielded, passed to a
    call or stored, and no view of it either). Such a buffer lives from its
    alloc to the last operation of the block that uses it or a view of it
    (the deallocation pipeline frees buffers at the end of the block, long
    after their last use). Each gets an offset in one arena, largest first
    at the lowest 64-byte aligned offset that no buffer alive at the same
    time occupies, and becomes a `memref.view` of the arena at that offset;
    its alloc and dealloc go. Buffers whose lifetimes do not overlap share
    bytes, so the arena is smaller than the sum of the buffers, which
    malloc held at once.

    Functions whose arena would be smaller than `min-bytes` (1 MiB) keep
    their allocations: malloc serves small buffers from its free lists
    without faults, and LLVM's store merging was 4x slower on the ResNet-20
    initializer with its 1 KiB arena than with those allocations.

    The arena is a private global of the module (`<function>.arena`), so its
    pages are mapped once. A flag (`<function>.arena_busy`, exchanged
    atomically on entry, reset on return) gives it to one call at a time: a
    call made while another thread's call holds it allocates an arena of its
    own and frees it on return. Results are unchanged (the same operations
    on the same values, at other addresses). Runs after buffer deallocation
    and before dq-split-functions, whose pieces then take the arena instead
    of the buffers.

    Before:
    ```mlir
    func.func @step(%x: memref<16xf32>) {
      %a = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
      linalg.copy ins(%x : memref<16xf32>) outs(%a : memref<16xf32>)
      memref.dealloc %a : memref<16xf32>
      return
    }
    ```
    After:
    ```mlir
    memref.global "private" @step.arena : memref<64xi8> = uninitialized
        {alignment = 64 : i64}
    memref.global "private" @step.arena_busy : memref<i32> = dense<0>
    func.func @step(%x: memref<16xf32>) {
      %flag = memref.get_global @step.arena_busy : memref<i32>
      %held = memref.atomic_rmw assign %c1_i32, %flag[] : (i32, memref<i32>) -> i32
      %own = arith.cmpi eq, %held, %c0_i32 : i32
      %arena = scf.if %own -> (memref<64xi8>) {
        %g = memref.get_global @step.arena : memref<64xi8>
        scf.yield %g : memref<64xi8>
      } else {
        %m = memref.alloc() {alignment = 64 : i64} : memref<64xi8>
        scf.yield %m : memref<64xi8>
      }
      %a = memref.view %arena[%c0][] : memref<64xi8> to memref<16xf32>
      linalg.copy ins(%x : memref<16xf32>) outs(%a : memref<16xf32>)
      scf.if %own {
        %0 = memref.atomic_rmw assign %c0_i32, %flag[] : (i32, memref<i32>) -> i32
      } else {
        memref.dealloc %arena : memref<64xi8>
      }
      return
    }
    ```
  }];
  let options = [
    Option<"minBytes", "min-bytes", "int64_t", "1048576",
           "Functions whose arena would be smaller keep their allocations "
           "(small buffers come from malloc's free lists, without page "
           "faults; 0: every function with such a buffer)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def DQHoistBodyExtracts : Pass<"dq-hoist-body-extracts",
                                "::mlir::func::FuncOp"> {
  let summary = "Moves the loop-invariant tensor.extract ops of "
                "linalg.generic bodies in front of the op";
  let description = [{
    A `tensor.extract` in the body of a `linalg.generic` whose tensor and
    indices are all defined outside the op reads the same scalar for every
    element: the level tables and quantization ranges that quantizer bodies
    read at constant positions. It moves in front of the generic, whose body
    then uses the scalar. Left in the body, each becomes a load in the
    innermost loop that LLVM cannot hoist or vectorize around, because
    nothing tells it that the loop's stores leave the table alone. Values
    are unchanged.

    Before: `linalg.generic ... { %l = tensor.extract %levels[%c1] ... }`.
    After: `%l = tensor.extract %levels[%c1]` then
    `linalg.generic ... { ... uses %l ... }`.
  }];
}

def DQFillSplatDestinations : Pass<"dq-fill-splat-destinations",
                                    "::mlir::func::FuncOp"> {
  let summary = "Gives every op that writes into a splat constant tensor a "
                "fill of a new tensor instead";
  let description = [{
    A static splat `arith.constant` of tensor type that is the destination
    of a destination-style op (the `outs` of a linalg op, the destination of
    a `tensor.insert_slice`) becomes, for each such use, a `linalg.fill` of
    a new `tensor.empty` with the splat value. Bufferized, a constant is a
    read-only global, so each of those uses was a new buffer plus a copy of
    the whole global; a fill is a memset, or no code at all where
    `dq-vectorize-generics` starts a register tile's accumulators from the
    fill's value. For an `insert_slice` the fill goes before the producer
    of the inserted value, so that `eliminate-empty-tensors` can let the
    producer write into it. Constants that only ops read stay constants.
    Values are unchanged.

    Before: `%acc = arith.constant dense<0.0> : tensor<8x16xf32>` and
    `linalg.generic ... outs(%acc : tensor<8x16xf32>)`.
    After: `%e = tensor.empty() : tensor<8x16xf32>`,
    `%f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x16xf32>)` just
    before the generic, and `outs(%f : tensor<8x16xf32>)`.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def DQPadsAsDestinations : Pass<"dq-pads-as-destinations",
                                 "::mlir::func::FuncOp"> {
  let summary = "Turns constant pads into fills their source is inserted "
                "into, so the source's producer can write in place";
  let description = [{
    A `tensor.pad` with a constant padding value and static sizes becomes a
    new tensor of the padded shape whose border alone is filled (one
    `linalg.fill` of an extracted slab per padded side, inserted back),
    placed just before the op that produces the source, and a
    `tensor.insert_slice` of the source into its interior.
    Pads of one source with the same widths and value become one. Run
    `eliminate-empty-tensors` afterwards: the producer (an elementwise
    generic, or the `scf.forall` around it) then writes straight into the
    padded buffer, and bufferization copies nothing; without the pass every
    pad is a fill of the padded buffer plus a strided copy of the source.
    Values are unchanged.

    Before: `%y = linalg.generic ... outs(%e)` then
    `%p = tensor.pad %y low[0, 1, 1, 0] high[0, 1, 1, 0]` (yield 0.0).
    After: before the generic, `%e2 = tensor.empty()` of the padded shape
    and, per side, `%s = tensor.extract_slice %e2[0, 0, 0, 0] [n, 1, w, c]`,
    `linalg.fill ins(%zero) outs(%s)` inserted back (giving `%f`); after it,
    `%p = tensor.insert_slice %y into %f[0, 1, 1, 0] [...] [1, 1, 1, 1]`.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def DQVectorizeGenerics : Pass<"dq-vectorize-generics", "::mlir::ModuleOp"> {
  let summary = "Tiles and vectorizes reduction generics along their "
                "innermost parallel loop";
  let description = [{
    Run after `dq-interchange-generics`. A sum-of-products generic (two
    inputs, elementwise arithmetic body, innermost loop parallel and walked
    only as each operand's last index) gets a register tile
    (include/dq/Transforms/RegisterTiles.h): it becomes loops over every
    other loop, one parallel loop stepped by R, whose body updates R
    accumulator vectors that share each loaded vector. When every reduction
    loop is inside the parallel ones, the accumulators are loop values of
    the reduction loops, each written once; an output that starts as a fill
    starts from the fill's value in registers (no first read, and no fill
    once no other op uses it). Otherwise (a leading reduction loop) they are read and
    written in the loop body, and `loop-invariant-code-motion` with
    `loop-invariant-subset-hoisting` keep them in registers across the
    inner reductions. Every other
    `linalg.generic` with a reduction whose innermost loop is parallel (and
    whose body has no nested loops) is tiled to 1 in every other loop (and
    its innermost loop, when longer than 8 registers' lanes, by the largest
    multiple of the lanes that divides it and fills at most 8 registers),
    its unit dimensions are folded, and the tile is vectorized; the vector ops
    are lowered to simple forms (transfer permutations, inner-parallel
    multi-reductions, outer-product contractions) so `convert-vector-to-llvm`
    can handle them (a transform-dialect script run by the interpreter).
    Sums keep the order of their terms (each vector lane is one output
    element), so results do not depend on the thread count; with
    `fuse-multiply-add` the multiply-accumulates round once.

    Before: `linalg.generic` NHWC convolution `(n, oh, ow, kh, kw, ci, co)`.
    After (512-bit vectors): `scf.for %ow ... step 7` around reduction loops
    carrying seven `vector<16xf32>` accumulators, one filter vector load and
    seven broadcasts and fused multiply-adds per iteration.
  }];
  let options = [
    Option<"fuseMultiplyAdd", "fuse-multiply-add", "bool", /*default=*/"true",
           "Contract the multiply-accumulate of sum-of-products reductions "
           "into fused multiply-adds (one rounding; the order of every sum "
           "is kept, so results still do not depend on the thread count)">,
    Option<"registerTile", "register-tile", "bool", /*default=*/"true",
           "Also tile a second parallel loop of convolution-like reductions "
           "so that several accumulator vectors share each loaded vector "
           "(sums keep their order)">,
    Option<"vectorBits", "vector-bits", "int64_t", /*default=*/"256",
           "Width of the target's vector registers in bits (sizes the "
           "register tile)">,
    Option<"vectorRegisters", "vector-registers", "int64_t",
           /*default=*/"16",
           "Number of the target's vector registers (sizes the register "
           "tile)">
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::transform::TransformDialect"];
}

#endif // DQ_TRANSFORMS_PASSES_TD
