//===- DQOps.td - dq dialect operations -------------------*- tablegen -*-===//

#ifndef DQ_OPS_TD
#define DQ_OPS_TD

include "DQBase.td"
include "DQAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "dq/Interfaces/GradientOpInterface.td"

class DQ_Op<string mnemonic, list<Trait> traits = []>
    : Op<DQ_Dialect, mnemonic, traits>;

def DQ_FloatTensor : RankedTensorOf<[F32]>;
def DQ_CodeTensor : RankedTensorOf<[AnySignlessInteger]>;

//===----------------------------------------------------------------------===//
// decode_weights
//===----------------------------------------------------------------------===//

def DQ_DecodeWeightsOp : DQ_Op<"decode_weights", [Pure,
    DeclareOpInterfaceMethods<DQ_GradientOpInterface>]> {
  let summary = "turns weight codes and a per-channel basis into values";
  let description = [{
    Element `i` of the result is the bipolar level of `codes[i]` under the
    basis row of its output channel `o` (its index along `axis`):
    `sum_k (2*bit_k(codes[i]) - 1) * basis[o, k]`. `basis` is
    `[channels x K]`; codes are read as unsigned and must have at least `K`
    bits. `config`, when present, records how the weights are trained (its
    `bits` must equal `K`).

    Gradient: none flows to codes or basis. The gradient of the decoded
    weights is what the training graph's weight update consumes; codes and
    basis are then refitted (see the schemes in docs/Algorithm.md).

    Folds to a constant when codes and basis are constants.

    ```mlir
    %w = dq.decode_weights %codes, %basis
           config = #dq.weight_quant<bits = 2, scheme = dq> axis = 0
           : (tensor<16x3x3x8xi8>, tensor<16x2xf32>) -> tensor<16x3x3x8xf32>
    ```
  }];
  let arguments = (ins DQ_CodeTensor:$codes, DQ_FloatTensor:$basis,
                       I64Attr:$axis,
                       OptionalAttr<DQ_WeightQuantAttr>:$config);
  let results = (outs DQ_FloatTensor:$result);
  let assemblyFormat = [{
    $codes `,` $basis (`config` `=` qualified($config)^)? `axis` `=` $axis attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    /// Number of bits K (the basis' second dimension).
    unsigned getNumBits();
  }];
}

//===----------------------------------------------------------------------===//
// quantize_act
//===----------------------------------------------------------------------===//

def DQ_QuantizeActOp : DQ_Op<"quantize_act", [Pure,
    AllTypesMatch<["input", "result"]>,
    DeclareOpInterfaceMethods<DQ_GradientOpInterface>]> {
  let summary = "quantizes activations to the levels of a unipolar basis";
  let description = [{
    Clamps `input` below at 0 and replaces every element by the nearest of
    the `2^K` unipolar levels `sum_k bit_k(c) * basis[k]` (an exact tie goes
    to the larger level; values beyond the extremes take the extreme level).
    `basis` has `K = config.bits` elements. `axis` names the channel
    dimension (the last one for NHWC) used by the channel-aware fit.

    Gradient contract (used by the training graph): clipped straight-through,
    `d result / d input = 1` where `input <= ` the largest level, else 0.

    Folds to a constant when input and basis are constants.

    ```mlir
    %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 3
           : (tensor<1x8x8x16xf32>, tensor<2xf32>) -> tensor<1x8x8x16xf32>
    ```
  }];
  let arguments = (ins DQ_FloatTensor:$input, DQ_FloatTensor:$basis,
                       I64Attr:$axis, DQ_ActQuantAttr:$config);
  let results = (outs DQ_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $basis `config` `=` qualified($config) `axis` `=` $axis attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// project
//===----------------------------------------------------------------------===//

def DQ_ProjectOp : DQ_Op<"project", [Pure]> {
  let summary = "maps values to the codes of their levels";
  let description = [{
    Returns, for every element of `values`, the code of a level:

    * `nearest`: the nearest level (an exact tie goes to the larger level);
    * `stochastic`: between the two levels `lo <= x < hi` around the value,
      `hi` with probability `(x - lo) / (hi - lo)`, using the counter-based
      random number `uniform(seed, counter, i)` of element `i` (see
      docs/Numerics.md), so a run is reproducible from `seed` and the step
      `counter`. Values beyond the extremes take the extreme level.

    `bipolar` encoding: `basis` is `[channels x K]`, one row per index along
    `axis`. `unipolar`: `basis` has `K` elements shared by all channels.
    The result has the shape of `values` and an integer type of at least
    `K` bits.

    ```mlir
    %c = dq.project %w, %v axis = 0 bipolar nearest
           : (tensor<16x3x3x8xf32>, tensor<16x2xf32>) -> tensor<16x3x3x8xi8>
    %s = dq.project %t, %v counter %step axis = 0 bipolar stochastic seed = 7
           : (tensor<16x8xf32>, tensor<16x2xf32>, i64) -> tensor<16x8xi8>
    ```
  }];
  let arguments = (ins DQ_FloatTensor:$values, DQ_FloatTensor:$basis,
                       Optional<I64>:$counter,
                       I64Attr:$axis, DQ_Encoding:$encoding,
                       DQ_Rounding:$rounding,
                       OptionalAttr<I64Attr>:$seed);
  let results = (outs DQ_CodeTensor:$codes);
  let assemblyFormat = [{
    $values `,` $basis (`counter` $counter^)? `axis` `=` $axis
    $encoding $rounding (`seed` `=` $seed^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// fit_levels
//===----------------------------------------------------------------------===//

def DQ_FitLevelsOp : DQ_Op<"fit_levels", [Pure,
    AllTypesMatch<["previous", "result"]>]> {
  let summary = "weighted ridge least-squares fit of a basis to targets";
  let description = [{
    With `B` the matrix of code vectors (bipolar signs or unipolar bits) of
    `codes` and `W` the element weights, returns
    `(B^T W B + ridge I)^-1 (B^T W targets + ridge previous)`:

    * `bipolar`: one fit per channel along `axis`; `previous` and the result
      are `[channels x K]`;
    * `unipolar`: one fit over all elements; `previous` has `K` elements.

    `weights` (optional, one value per channel along `axis`) weighs every
    element of channel `c`; without it every element counts 1. A channel
    with weight 0 is left out of the fit. The solve is computed from per-code
    histograms, so empty codes are harmless (`ridge > 0`).

    `cross_replica`: the elements are those of every process of a
    data-parallel run (the histograms are summed over the processes with
    `dq.all_reduce` before the solve), so every process gets the fit of the
    whole batch. In a single process it is the plain fit.

    ```mlir
    %v1 = dq.fit_levels %codes, %w, %v0 axis = 0 bipolar ridge = 1.0e-4
            : (tensor<16x72xi8>, tensor<16x72xf32>, tensor<16x2xf32>)
              -> tensor<16x2xf32>
    %u1 = dq.fit_levels %codes, %x, %u0 weights %omega axis = 3 unipolar
            ridge = 1.0e-4
            : (tensor<8x4x4x16xi8>, tensor<8x4x4x16xf32>, tensor<2xf32>,
               tensor<16xf32>) -> tensor<2xf32>
    ```
  }];
  let arguments = (ins DQ_CodeTensor:$codes, DQ_FloatTensor:$targets,
                       DQ_FloatTensor:$previous,
                       Optional<DQ_FloatTensor>:$weights,
                       I64Attr:$axis, DQ_Encoding:$encoding,
                       DefaultValuedAttr<F64Attr, "1.0e-4">:$ridge,
                       UnitAttr:$cross_replica);
  let results = (outs DQ_FloatTensor:$result);
  let assemblyFormat = [{
    $codes `,` $targets `,` $previous (`weights` $weights^)? `axis` `=` $axis
    $encoding `ridge` `=` $ridge (`cross_replica` $cross_replica^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// batch_norm / batch_norm_train
//===----------------------------------------------------------------------===//

def DQ_BatchNormOp : DQ_Op<"batch_norm", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "batch normalization with running statistics (inference)";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * gamma + beta` per channel along
    `axis`; `gamma`, `beta`, `mean` and `var` have one value per channel.
    This is the model-IR form of batch norm: the training graph replaces it
    by `dq.batch_norm_train` (batch statistics) and updates `mean` and `var`
    as running averages.

    ```mlir
    %y = dq.batch_norm %x, %gamma, %beta, %mean, %var axis = 3
           epsilon = 1.000000e-05
           : (tensor<4x8x8x16xf32>, tensor<16xf32>, tensor<16xf32>,
              tensor<16xf32>, tensor<16xf32>) -> tensor<4x8x8x16xf32>
    ```
  }];
  let arguments = (ins DQ_FloatTensor:$input, DQ_FloatTensor:$gamma,
                       DQ_FloatTensor:$beta, DQ_FloatTensor:$mean,
                       DQ_FloatTensor:$var, I64Attr:$axis,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs DQ_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gamma `,` $beta `,` $mean `,` $var `axis` `=` $axis
    `epsilon` `=` $epsilon attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def DQ_BatchNormTrainOp : DQ_Op<"batch_norm_train", [Pure,
    AllTypesMatch<["input", "result"]>,
    DeclareOpInterfaceMethods<DQ_GradientOpInterface>]> {
  let summary = "batch normalization with batch statistics (training)";
  let description = [{
    Normalizes with the statistics of the batch: per channel along `axis`,
    `batch_mean` and the biased `batch_var` over every other dimension;
    `result = (x - batch_mean) / sqrt(batch_var + epsilon) * gamma + beta`.
    The statistics are results so the training graph can update the running
    averages. Differentiable in `input`, `gamma` and `beta` (through the
    statistics).

    `cross_replica` (synchronized batch norm): the batch is that of every
    process of a data-parallel run, each holding an equal share; the
    statistics are `dq.all_reduce mean`s of the per-process ones (the
    variance centred on the global mean), and the gradient's two channel
    sums are all-reduced likewise, so N processes with batch B compute the
    batch norm of one batch of N*B. In a single process it is the plain op.

    ```mlir
    %y, %m, %v = dq.batch_norm_train %x, %gamma, %beta axis = 3
                   epsilon = 1.000000e-05
                   : (tensor<4x8x8x16xf32>, tensor<16xf32>, tensor<16xf32>)
                     -> (tensor<4x8x8x16xf32>, tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins DQ_FloatTensor:$input, DQ_FloatTensor:$gamma,
                       DQ_FloatTensor:$beta, I64Attr:$axis,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon,
                       UnitAttr:$cross_replica);
  let results = (outs DQ_FloatTensor:$result, DQ_FloatTensor:$batch_mean,
                      DQ_FloatTensor:$batch_var);
  let assemblyFormat = [{
    $input `,` $gamma `,` $beta `axis` `=` $axis `epsilon` `=` $epsilon
    (`cross_replica` $cross_replica^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// softmax_cross_entropy / count_correct
//===----------------------------------------------------------------------===//

def DQ_SoftmaxCrossEntropyOp : DQ_Op<"softmax_cross_entropy", [Pure,
    DeclareOpInterfaceMethods<DQ_GradientOpInterface>]> {
  let summary = "mean softmax cross-entropy of logits against labels";
  let description = [{
    `mean_n (logsumexp(logits[n, :]) - logits[n, labels[n]])`, computed
    stably (max-shifted). Labels outside `[0, classes)` contribute a NaN,
    so bad data cannot train silently. Gradient in `logits`:
    `(softmax(logits) - onehot(labels)) / N` times the loss gradient.

    ```mlir
    %loss = dq.softmax_cross_entropy %logits, %labels
              : (tensor<128x10xf32>, tensor<128xi32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins DQ_FloatTensor:$logits,
                       RankedTensorOf<[I32]>:$labels);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def DQ_CountCorrectOp : DQ_Op<"count_correct", [Pure]> {
  let summary = "number of rows whose arg-max is the label";
  let description = [{
    `#{n : argmax(logits[n, :]) = labels[n]}`, the first maximum on ties.

    ```mlir
    %correct = dq.count_correct %logits, %labels
                 : (tensor<128x10xf32>, tensor<128xi32>) -> tensor<i32>
    ```
  }];
  let arguments = (ins DQ_FloatTensor:$logits,
                       RankedTensorOf<[I32]>:$labels);
  let results = (outs 0DTensorOf<[I32]>:$correct);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// channel_weights
//===----------------------------------------------------------------------===//

def DQ_ChannelWeightsOp : DQ_Op<"channel_weights", [Pure]> {
  let summary = "per-channel weights of the channel-aware activation fit";
  let description = [{
    For activations `x` with channels along `axis` and the unipolar basis
    `basis`: `w_c = 1 / (mean(x_c^2) + epsilon)`, normalized so the weights
    average 1. With `trim = rho > 0`, the `floor(rho * C)` channels with the
    largest relative quantization error
    `mean((x_c - q(x_c))^2) / (mean(x_c^2) + epsilon)` get weight 0 (`q`:
    `dq.quantize_act` with `basis`; a channel ranks above another with equal
    error when its index is lower). The normalization uses all channels,
    before trimming.

    `cross_replica`: the means are over the batch of every process of a
    data-parallel run (`dq.all_reduce mean` of the per-process means, equal
    shares), so every process gets the same weights.

    ```mlir
    %w = dq.channel_weights %x, %u axis = 3 trim = 1.250000e-01
           epsilon = 1.000000e-08
           : (tensor<4x8x8x16xf32>, tensor<2xf32>) -> tensor<16xf32>
    ```
  }];
  let arguments = (ins DQ_FloatTensor:$input, DQ_FloatTensor:$basis,
                       I64Attr:$axis,
                       DefaultValuedAttr<F64Attr, "0.0">:$trim,
                       DefaultValuedAttr<F64Attr, "1.0e-8">:$epsilon,
                       UnitAttr:$cross_replica);
  let results = (outs DQ_FloatTensor:$weights);
  let assemblyFormat = [{
    $input `,` $basis `axis` `=` $axis `trim` `=` $trim `epsilon` `=`
    $epsilon (`cross_replica` $cross_replica^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// all_reduce (data parallelism)
//===----------------------------------------------------------------------===//

def DQ_AllReduceOp : DQ_Op<"all_reduce", [
    AllTypesMatch<["input", "result"]>,
    DeclareOpInterfaceMethods<DQ_GradientOpInterface>]> {
  let summary = "combines a tensor across the processes of a data-parallel run";
  let description = [{
    Every process of the run calls it with a tensor of the same type and
    gets, element by element, the `sum` of all of them, or their `mean`
    (the sum divided by the number of processes; f32 and f64 only). In a
    single process it
    is the identity. The processes must reach their all-reduces in the same
    order (the compiled step does: they run the same code).

    Not `Pure`: it communicates, so it is neither removed nor reordered
    with other all-reduces; nothing folds it.

    Gradient (for a loss that is the sum of the processes' losses): the
    same all-reduce of the result's gradient.

    On CPU it bufferizes to a call of the model library's
    `dq_model_all_reduce_*`, which runs the collective the host process
    gave the model (dq-train under `mpirun`: MPI) and does nothing when
    none was given (docs/Runtime.md, "Data parallelism").

    ```mlir
    %g = dq.all_reduce %grad mean : tensor<16x3x3x8xf32>
    %c = dq.all_reduce %correct sum : tensor<i32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32, F64, I32]>:$input,
                       DQ_Reduction:$reduction);
  let results = (outs RankedTensorOf<[F32, F64, I32]>:$result);
  let assemblyFormat = [{
    $input $reduction attr-dict `:` type($input)
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Value":$input, "::mlir::dq::Reduction":$reduction),
    [{ build($_builder, $_state, input.getType(), input, reduction); }]>
  ];
  let extraClassDeclaration = [{
    /// The all-reduces of `values` (tensors of one element type) as one
    /// call: flattened into one buffer, reduced, and taken apart again, so
    /// a step makes a few large calls rather than one per tensor.
    static ::llvm::SmallVector<::mlir::Value>
    createJoint(::mlir::OpBuilder &builder, ::mlir::Location loc,
                ::mlir::ValueRange values, ::mlir::dq::Reduction reduction);
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// pack_bits / bitserial_conv2d (inference in bits)
//===----------------------------------------------------------------------===//

def DQ_PackBitsOp : DQ_Op<"pack_bits", [Pure]> {
  let summary = "packs the bit-planes of codes into 64-bit words";
  let description = [{
    For `codes` of shape `[d..., C]` and `bits = K`, the result has shape
    `[d..., K, ceil(C / 64)]`: bit `b` of word `w` of plane `k` is bit `k`
    of `codes[..., 64 * w + b]` (codes read as unsigned). Bits past `C` are
    0, so a reduction over packed words needs no mask. Folds to a constant
    when `codes` is one (trained weights are packed at compile time).

    ```mlir
    %p = dq.pack_bits %codes bits = 2
           : (tensor<16x3x3x16xi8>) -> tensor<16x3x3x2x1xi64>
    ```

    `window = [KW, padLeft, padRight, dilation]` (codes `[N, H, W, C]`)
    packs the KW taps of a stride-1 row together, for layers narrower
    than a word: the result is `[N, H, OW, K, ceil(KW * C / 64)]` with `OW
    = W + padLeft + padRight - dilation * (KW - 1)`, and its channel
    position `t * C + c` holds `codes[n, h, x + t * dilation - padLeft, c]`
    (code 0 outside the row), i.e. the plain packing of the codes
    `[N, H, OW, KW * C]` of the window columns. A `KH x 1`
    `dq.bitserial_conv2d` over it with weights `[O, KH, 1, KW * C]` is the
    `KH x KW` convolution.

    ```mlir
    %p = dq.pack_bits %codes bits = 2 window = [3, 1, 1, 1]
           : (tensor<1x28x28x16xi8>) -> tensor<1x28x28x2x1xi64>
    ```
  }];
  let arguments = (ins DQ_CodeTensor:$codes, I64Attr:$bits,
                       OptionalAttr<DenseI64ArrayAttr>:$window);
  let results = (outs RankedTensorOf<[I64]>:$packed);
  let assemblyFormat = [{
    $codes `bits` `=` $bits (`window` `=` $window^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// The packed channel positions per pixel: C, or KW * C with a window.
    int64_t getPackedChannels();
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def DQ_BitserialConv2DOp : DQ_Op<"bitserial_conv2d", [Pure]> {
  let summary = "2-D convolution of packed activation and weight bit-planes";
  let description = [{
    A convolution (NHWC input, OHWI weights, as `tosa.conv2d`) whose weights
    take the bipolar levels `sum_k (2 beta_k - 1) v[o, k]` and whose inputs
    take the unipolar levels `sum_j b_j u[j]`, computed on bit-planes.
    `input` is `[N, H, W, Ka, Wd]` and `weight` is `[O, KH, KW, K, Wd]`,
    both `dq.pack_bits` along the input channels (`Wd` words of 64
    channels). With, for every output element and plane pair `(k, j)`,
    `P = sum popc(weight[o, kh, kw, k, w] & input[n, ih, iw, j, w])` and
    `Q = sum popc(input[n, ih, iw, j, w])` over the window (`ih = oh *
    stride[0] + kh * dilation[0] - pad[0]`, likewise `iw` with `pad[2]`;
    positions outside the input contribute nothing, i.e. zero padding):

    `result[n, oh, ow, o] = bias[o] + sum_k sum_j v[o, k] u[j] (2 P - Q)`.

    That is exactly the convolution of the decoded weights with the
    quantized activations (`P` and `Q` are exact integers; only the
    `K * Ka` terms of the sum are rounded). `pad` is `[top, bottom, left,
    right]`, as in `tosa.conv2d`.

    ```mlir
    %y = dq.bitserial_conv2d %a, %w, %v, %u, %bias pad = [1, 1, 1, 1]
           stride = [1, 1] dilation = [1, 1]
           : (tensor<1x8x8x2x1xi64>, tensor<16x3x3x2x1xi64>, tensor<16x2xf32>,
              tensor<2xf32>, tensor<16xf32>) -> tensor<1x8x8x16xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I64]>:$input,
                       RankedTensorOf<[I64]>:$weight,
                       DQ_FloatTensor:$weight_basis,
                       DQ_FloatTensor:$act_basis,
                       DQ_FloatTensor:$bias,
                       DenseI64ArrayAttr:$pad,
                       DenseI64ArrayAttr:$stride,
                       DenseI64ArrayAttr:$dilation);
  let results = (outs DQ_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $weight_basis `,` $act_basis `,` $bias
    `pad` `=` $pad `stride` `=` $stride `dilation` `=` $dilation attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // DQ_OPS_TD
