"""The small residual network of the training-step test, as MLIR and as a
training.Network.

NHWC, batch N = 4, input 8x8x3, 10 classes (TOSA 1.0, batch norm as
dq.batch_norm). Op names are the `loc("...")` of the MLIR ops:

    stem.conv     conv 3->8 3x3 pad 1            + stem.bn + ReLU
    block1.conv1  conv 8->8 3x3 pad 1            + block1.bn1 + ReLU
    block1.conv2  conv 8->8 3x3 pad 1            + block1.bn2
                  + identity residual (tosa.add) + ReLU
    block2.conv1  conv 8->16 3x3 pad [1,0,1,0] stride 2 -> 4x4
                                                 + block2.bn1 + ReLU
    block2.conv2  conv 16->16 3x3 pad 1          + block2.bn2
    shortcut      tosa.slice to 7x7, block2.shortcut.conv 1x1 8->16 stride 2
                                                 + block2.shortcut.bn
                  + residual add + ReLU
    head          tosa.avg_pool2d 4x4 (global) -> [4,1,1,16]
                  reshape [1,4,16], tosa.matmul [1,16,10] (loc "fc"),
                  tosa.add bias [1,1,10] (loc "fc.bias_add"),
                  reshape [4,10]

The bias add has its own name, "fc.bias_add", so its state is
`fc.bias_add.bias` / `fc.bias_add.bias.momentum` and no two ops share a name.

After `--dq-quantize` with the default layer selection, stem.conv (first
conv), block2.shortcut.conv (projection shortcut) and fc (last matmul) stay
full precision; QUANTIZED_LAYERS are quantized, each with an input quantizer.

    python3 -m dq_reference.train_case [-o model.mlir] [--seed N]
"""

import argparse
import math
import sys

import numpy as np

from . import training as T
from .cases import dense_literal

BATCH = 4
INPUT_SHAPE = (BATCH, 8, 8, 3)
CLASSES = 10
QUANTIZED_LAYERS = ("block1.conv1", "block1.conv2", "block2.conv1",
                    "block2.conv2")
FULL_PRECISION_LAYERS = ("stem.conv", "block2.shortcut.conv", "fc")

# name, weight shape [O, KH, KW, I], pad [top, bottom, left, right], stride.
_CONVS = (
    ("stem.conv", (8, 3, 3, 3), (1, 1, 1, 1), 1),
    ("block1.conv1", (8, 3, 3, 8), (1, 1, 1, 1), 1),
    ("block1.conv2", (8, 3, 3, 8), (1, 1, 1, 1), 1),
    ("block2.conv1", (16, 3, 3, 8), (1, 0, 1, 0), 2),
    ("block2.conv2", (16, 3, 3, 16), (1, 1, 1, 1), 1),
    ("block2.shortcut.conv", (16, 1, 1, 8), (0, 0, 0, 0), 2),
)
_BNS = (("stem.bn", 8), ("block1.bn1", 8), ("block1.bn2", 8),
        ("block2.bn1", 16), ("block2.bn2", 16), ("block2.shortcut.bn", 16))
FC_WEIGHT_SHAPE = (1, 16, CLASSES)
FC_BIAS_SHAPE = (1, 1, CLASSES)


def make_params(seed=0):
    """Seeded float32 parameters {<op>.<what>: ndarray}.

    Batch-norm gamma near 1, beta, running mean and variance random, so that
    each of them changes the outputs.
    """
    rng = np.random.default_rng(seed)
    p = {}
    for name, shape, _, _ in _CONVS:
        fan_in = shape[1] * shape[2] * shape[3]
        p[name + ".weight"] = (rng.standard_normal(shape) *
                               math.sqrt(2.0 / fan_in)).astype(np.float32)
        p[name + ".bias"] = rng.uniform(-0.1, 0.1, shape[0]).astype(np.float32)
    for name, c in _BNS:
        p[name + ".gamma"] = (1.0 + 0.2 * rng.standard_normal(c)).astype(
            np.float32)
        p[name + ".beta"] = (0.2 * rng.standard_normal(c)).astype(np.float32)
        p[name + ".mean"] = (0.3 * rng.standard_normal(c)).astype(np.float32)
        p[name + ".var"] = rng.uniform(0.5, 2.0, c).astype(np.float32)
    p["fc.weight"] = (rng.standard_normal(FC_WEIGHT_SHAPE) *
                      math.sqrt(2.0 / FC_WEIGHT_SHAPE[1])).astype(np.float32)
    p["fc.bias_add.bias"] = rng.uniform(-0.1, 0.1, FC_BIAS_SHAPE).astype(
        np.float32)
    return p


def make_batch(seed, step):
    """Seeded images [4,8,8,3] float32 and labels [4] int32 of one step."""
    rng = np.random.default_rng([seed, step])
    images = rng.standard_normal(INPUT_SHAPE).astype(np.float32)
    labels = rng.integers(0, CLASSES, BATCH).astype(np.int32)
    return images, labels


def build_network(params):
    """The full-precision model as a training.Network (program order is the
    order of the MLIR ops)."""
    convs = {name: (shape, pad, stride) for name, shape, pad, stride in _CONVS}

    def conv(name, src, dst):
        _, pad, stride = convs[name]
        return T.Conv2D(name, src, dst, params[name + ".weight"],
                        params[name + ".bias"], pad, (stride, stride))

    def bn(name, src, dst):
        return T.BatchNorm(name, src, dst, params[name + ".gamma"],
                           params[name + ".beta"], params[name + ".mean"],
                           params[name + ".var"], 1e-5, 3)

    ops = [
        conv("stem.conv", "images", "stem.conv"),
        bn("stem.bn", "stem.conv", "stem.bn"),
        T.Relu("stem.bn", "stem.relu"),
        conv("block1.conv1", "stem.relu", "block1.conv1"),
        bn("block1.bn1", "block1.conv1", "block1.bn1"),
        T.Relu("block1.bn1", "block1.relu1"),
        conv("block1.conv2", "block1.relu1", "block1.conv2"),
        bn("block1.bn2", "block1.conv2", "block1.bn2"),
        T.Add("block1.bn2", "stem.relu", "block1.sum"),
        T.Relu("block1.sum", "block1.relu"),
        conv("block2.conv1", "block1.relu", "block2.conv1"),
        bn("block2.bn1", "block2.conv1", "block2.bn1"),
        T.Relu("block2.bn1", "block2.relu1"),
        conv("block2.conv2", "block2.relu1", "block2.conv2"),
        bn("block2.bn2", "block2.conv2", "block2.bn2"),
        T.Slice("block1.relu", "block2.shortcut.slice", (0, 0, 0, 0),
                (BATCH, 7, 7, 8)),
        conv("block2.shortcut.conv", "block2.shortcut.slice",
             "block2.shortcut.conv"),
        bn("block2.shortcut.bn", "block2.shortcut.conv", "block2.shortcut.bn"),
        T.Add("block2.bn2", "block2.shortcut.bn", "block2.sum"),
        T.Relu("block2.sum", "block2.relu"),
        T.AvgPool2D("block2.relu", "pool", (4, 4)),
        T.Reshape("pool", "flat", (1, BATCH, 16)),
        T.MatMul("fc", "flat", "fc", params["fc.weight"]),
        T.BiasAdd("fc.bias_add", "fc", "fc.biased",
                  params["fc.bias_add.bias"]),
        T.Reshape("fc.biased", "logits", (BATCH, CLASSES)),
    ]
    return T.Network("images", "logits", ops)


def quantized_network(params, w_bits=2, a_bits=2, w_scheme="dq",
                      a_scheme="dq", trim=0.0):
    """The network as `--dq-quantize="w-bits=.. a-bits=.. w-scheme=..
    a-scheme=.. trim=.."` leaves it (default layer selection)."""
    return T.quantize_network(build_network(params), QUANTIZED_LAYERS, w_bits,
                              a_bits, w_scheme, a_scheme, trim)


# --------------------------------------------------------------------------
# MLIR
# --------------------------------------------------------------------------

def _type(shape, element="f32"):
    return "tensor<" + "x".join([str(d) for d in shape] + [element]) + ">"


def _ssa(value):
    return "%" + "".join(c if c.isalnum() else "_" for c in value)


def _loc(name):
    return f' loc("{name}")'


def emit_mlir(net, images_shape=INPUT_SHAPE, batch_norm="dq"):
    """`func.func @model(%images) -> logits` for a full-precision Network of
    the op kinds above (TOSA 1.0; names as loc("...") after the op's type).

    batch_norm="dq": dq.batch_norm (the training-graph input).
    batch_norm="inference": the inference form of batch norm in plain TOSA,
    x * scale + shift with constants folded from the running statistics (a
    model today's dq-opt compiles, to check the reference's inference
    conventions before dq.batch_norm lowers).
    """
    if batch_norm not in ("dq", "inference"):
        raise ValueError(f"batch_norm must be 'dq' or 'inference', "
                         f"got {batch_norm!r}")
    lines = []
    shapes = {net.input: tuple(images_shape)}

    def const(ssa, array):
        t = _type(array.shape)
        lines.append(f'    {ssa} = "tosa.const"() <{{values = '
                     f'{dense_literal(array)} : {t}}}> : () -> {t}')

    def const_shape(ssa, values):
        lines.append(f"    {ssa} = tosa.const_shape {{values = dense<"
                     f"[{', '.join(str(v) for v in values)}]> : "
                     f"tensor<{len(values)}xindex>}} : () -> "
                     f"!tosa.shape<{len(values)}>")

    lines.append('    %zp = "tosa.const"() <{values = dense<0.0> : '
                 'tensor<1xf32>}> : () -> tensor<1xf32>')
    if batch_norm == "inference":
        lines.append('    %shift0 = "tosa.const"() <{values = dense<0> : '
                     'tensor<1xi8>}> : () -> tensor<1xi8>')
    for op in net.ops:
        src = _ssa(op.input)
        x_shape = shapes[op.input]
        x_t = _type(x_shape)
        dst = _ssa(op.output)
        if isinstance(op, T.Conv2D):
            if op.quant is not None:
                raise ValueError("emit_mlir takes the full-precision model")
            o, kh, kw, _ = op.weight.shape
            top, bottom, left, right = op.pad
            sh, sw = op.stride
            # TOSA 1.0 wants exact division.
            assert (x_shape[1] + top + bottom - kh) % sh == 0
            assert (x_shape[2] + left + right - kw) % sw == 0
            y_shape = (x_shape[0], (x_shape[1] + top + bottom - kh) // sh + 1,
                       (x_shape[2] + left + right - kw) // sw + 1, o)
            w, b = _ssa(op.name + ".weight"), _ssa(op.name + ".bias")
            const(w, op.weight)
            const(b, op.bias)
            lines.append(
                f"    {dst} = tosa.conv2d {src}, {w}, {b}, %zp, %zp "
                f"{{acc_type = f32, dilation = array<i64: 1, 1>, "
                f"pad = array<i64: {top}, {bottom}, {left}, {right}>, "
                f"stride = array<i64: {sh}, {sw}>}} : ({x_t}, "
                f"{_type(op.weight.shape)}, {_type(op.bias.shape)}, "
                f"tensor<1xf32>, tensor<1xf32>) -> {_type(y_shape)}"
                + _loc(op.name))
        elif isinstance(op, T.BatchNorm) and batch_norm == "inference":
            y_shape = x_shape
            bshape = [1] * len(x_shape)
            bshape[op.axis] = -1
            scale = (op.gamma / np.sqrt(op.var + np.float32(op.epsilon))
                     ).astype(np.float32)
            shift = (op.beta - op.mean * scale).astype(np.float32)
            sc, sh = _ssa(op.name + ".scale"), _ssa(op.name + ".shift")
            const(sc, scale.reshape(bshape))
            const(sh, shift.reshape(bshape))
            c_t = _type(scale.reshape(bshape).shape)
            lines.append(f"    {dst}_scaled = tosa.mul {src}, {sc}, %shift0 : "
                         f"({x_t}, {c_t}, tensor<1xi8>) -> {x_t}")
            lines.append(f"    {dst} = tosa.add {dst}_scaled, {sh} : ({x_t}, "
                         f"{c_t}) -> {x_t}" + _loc(op.name))
        elif isinstance(op, T.BatchNorm):
            y_shape = x_shape
            names = []
            for what, array in (("gamma", op.gamma), ("beta", op.beta),
                                ("mean", op.mean), ("var", op.var)):
                names.append(_ssa(f"{op.name}.{what}"))
                const(names[-1], array)
            c_t = _type(op.gamma.shape)
            lines.append(
                f"    {dst} = dq.batch_norm {src}, {', '.join(names)} "
                f"axis = {op.axis} epsilon = {op.epsilon:.6e} : ({x_t}, "
                f"{c_t}, {c_t}, {c_t}, {c_t}) -> {x_t}" + _loc(op.name))
        elif isinstance(op, T.Relu):
            y_shape = x_shape
            lines.append(f"    {dst} = tosa.clamp {src} {{min_val = 0.0 : "
                         f"f32, max_val = 3.4e38 : f32}} : ({x_t}) -> {x_t}")
        elif isinstance(op, T.Add):
            y_shape = x_shape
            assert shapes[op.other] == x_shape
            lines.append(f"    {dst} = tosa.add {src}, {_ssa(op.other)} : "
                         f"({x_t}, {x_t}) -> {x_t}")
        elif isinstance(op, T.BiasAdd):
            y_shape = x_shape
            b = _ssa(op.name + ".bias")
            const(b, op.bias)
            lines.append(f"    {dst} = tosa.add {src}, {b} : ({x_t}, "
                         f"{_type(op.bias.shape)}) -> {x_t}" + _loc(op.name))
        elif isinstance(op, T.Slice):
            y_shape = tuple(op.size)
            start, size = dst + "_start", dst + "_size"
            const_shape(start, op.start)
            const_shape(size, op.size)
            r = len(op.size)
            lines.append(f"    {dst} = tosa.slice {src}, {start}, {size} : "
                         f"({x_t}, !tosa.shape<{r}>, !tosa.shape<{r}>) -> "
                         f"{_type(y_shape)}")
        elif isinstance(op, T.AvgPool2D):
            kh, kw = op.kernel
            sh, sw = op.stride
            y_shape = (x_shape[0], (x_shape[1] - kh) // sh + 1,
                       (x_shape[2] - kw) // sw + 1, x_shape[3])
            lines.append(
                f"    {dst} = tosa.avg_pool2d {src}, %zp, %zp {{acc_type = "
                f"f32, kernel = array<i64: {kh}, {kw}>, "
                f"pad = array<i64: 0, 0, 0, 0>, "
                f"stride = array<i64: {sh}, {sw}>}} : ({x_t}, "
                f"tensor<1xf32>, tensor<1xf32>) -> {_type(y_shape)}")
        elif isinstance(op, T.Reshape):
            y_shape = tuple(op.shape)
            assert np.prod(y_shape) == np.prod(x_shape)
            s = dst + "_shape"
            const_shape(s, y_shape)
            lines.append(f"    {dst} = tosa.reshape {src}, {s} : ({x_t}, "
                         f"!tosa.shape<{len(y_shape)}>) -> {_type(y_shape)}")
        elif isinstance(op, T.MatMul):
            if op.quant is not None:
                raise ValueError("emit_mlir takes the full-precision model")
            y_shape = (x_shape[0], x_shape[1], op.weight.shape[2])
            w = _ssa(op.name + ".weight")
            const(w, op.weight)
            lines.append(f"    {dst} = tosa.matmul {src}, {w}, %zp, %zp : "
                         f"({x_t}, {_type(op.weight.shape)}, tensor<1xf32>, "
                         f"tensor<1xf32>) -> {_type(y_shape)}" + _loc(op.name))
        else:
            raise TypeError(f"emit_mlir: unsupported op {type(op).__name__}")
        shapes[op.output] = y_shape
    out_t = _type(shapes[net.output])
    header = (f"  func.func @model({_ssa(net.input)}: "
              f"{_type(images_shape)}) -> {out_t} {{")
    return "\n".join(["module {", header] + lines +
                      [f"    return {_ssa(net.output)} : {out_t}", "  }", "}"]
                     ) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", help="write here (default stdout)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    text = emit_mlir(build_network(make_params(args.seed)))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
