"""A small seeded TOSA model, its MLIR text and its reference outputs.

The model (NHWC, TOSA 1.0):

    x [1,6,6,2]
    conv0 2->4 3x3 pad 1          (the "first conv")   + ReLU (tosa.clamp)
    conv1 4->4 3x3 pad 1          stride 1              + ReLU
    conv2 4->4 3x3 pad [1,0,1,0]  stride 2 -> [1,3,3,4] + ReLU
    reshape -> [1,1,36]
    matmul with [1,36,5]          (the "last" layer)    + bias (tosa.add)

`expected_outputs` runs it in PyTorch either in float32 or as
`dq-opt --dq-quantize="w-bits=K a-bits=KA keep-first-last=false"` should
compute it: every layer's weight replaced by its LQ-Nets-initialized decoded
weight and every layer's input activation by quantize_act.
"""

import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

from . import quantizers as Q

INPUT_SHAPE = (1, 6, 6, 2)
OUTPUT_SHAPE = (1, 1, 5)

# name, weight shape [O, KH, KW, I], TOSA pad [top, bottom, left, right],
# stride.
CONVS = (
    ("conv0", (4, 3, 3, 2), (1, 1, 1, 1), 1),
    ("conv1", (4, 3, 3, 4), (1, 1, 1, 1), 1),
    ("conv2", (4, 3, 3, 4), (1, 0, 1, 0), 2),
)
MATMUL_WEIGHT_SHAPE = (1, 36, 5)


def make_case(seed):
    """Seeded float32 weights, biases and input (numpy arrays)."""
    rng = np.random.default_rng(seed)
    case = {}
    for name, shape, _, _ in CONVS:
        fan_in = shape[1] * shape[2] * shape[3]
        # kaiming_normal_ (fan_in mode, ReLU gain): std = sqrt(2 / fan_in).
        case[name + ".weight"] = (rng.standard_normal(shape) *
                                  math.sqrt(2.0 / fan_in)).astype(np.float32)
        case[name + ".bias"] = rng.uniform(-0.1, 0.1,
                                           shape[0]).astype(np.float32)
    fan_in = MATMUL_WEIGHT_SHAPE[1]
    case["fc.weight"] = (rng.standard_normal(MATMUL_WEIGHT_SHAPE) *
                         math.sqrt(2.0 / fan_in)).astype(np.float32)
    case["fc.bias"] = rng.uniform(-0.1, 0.1, OUTPUT_SHAPE).astype(np.float32)
    # Some negative inputs, so the first layer's clamp at 0 matters.
    case["input"] = rng.uniform(-0.5, 1.5, INPUT_SHAPE).astype(np.float32)
    return case


# --------------------------------------------------------------------------
# MLIR text
# --------------------------------------------------------------------------

def _tensor_type(shape):
    return "tensor<" + "x".join(str(d) for d in shape) + "xf32>"


def dense_literal(array):
    """Nested dense literal; %.9e round-trips every float32 exactly."""
    array = np.asarray(array, dtype=np.float32)

    def fmt(a):
        if a.ndim == 0:
            return "%.9e" % float(a)
        return "[" + ", ".join(fmt(sub) for sub in a) + "]"

    return "dense<" + fmt(array) + ">"


def _const(name, array):
    t = _tensor_type(array.shape)
    return (f'    %{name} = "tosa.const"() <{{values = {dense_literal(array)} : {t}}}>'
            f' : () -> {t}')


def conv_output_shape(in_shape, weight_shape, pad, stride):
    n, h, w, _ = in_shape
    o, kh, kw, _ = weight_shape
    top, bottom, left, right = pad
    # TOSA 1.0 wants exact division; the model is built so that it holds.
    assert (h + top + bottom - kh) % stride == 0
    assert (w + left + right - kw) % stride == 0
    return (n, (h + top + bottom - kh) // stride + 1,
            (w + left + right - kw) // stride + 1, o)


def emit_mlir(case):
    """The MLIR module: @model in TOSA 1.0 and a @main that prints it."""
    lines = ["module {",
             f"  func.func @model(%x: {_tensor_type(INPUT_SHAPE)}) -> "
             f"{_tensor_type(OUTPUT_SHAPE)} {{",
             '    %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}>'
             ' : () -> tensor<1xf32>']
    value, shape = "%x", INPUT_SHAPE
    for i, (name, w_shape, pad, stride) in enumerate(CONVS):
        out_shape = conv_output_shape(shape, w_shape, pad, stride)
        lines.append(_const(f"w{i}", case[name + ".weight"]))
        lines.append(_const(f"b{i}", case[name + ".bias"]))
        pads = ", ".join(str(p) for p in pad)
        lines.append(
            f"    %y{i} = tosa.conv2d {value}, %w{i}, %b{i}, %zp, %zp "
            f"{{acc_type = f32, dilation = array<i64: 1, 1>, "
            f"pad = array<i64: {pads}>, "
            f"stride = array<i64: {stride}, {stride}>}} : "
            f"({_tensor_type(shape)}, {_tensor_type(w_shape)}, "
            f"tensor<{w_shape[0]}xf32>, tensor<1xf32>, tensor<1xf32>) -> "
            f"{_tensor_type(out_shape)}")
        lines.append(
            f"    %r{i} = tosa.clamp %y{i} {{min_val = 0.0 : f32, "
            f"max_val = 3.4e38 : f32}} : ({_tensor_type(out_shape)}) -> "
            f"{_tensor_type(out_shape)}")
        value, shape = f"%r{i}", out_shape
    flat = (1, 1, int(np.prod(shape)))
    assert flat[2] == MATMUL_WEIGHT_SHAPE[1]
    lines.append(f"    %s = tosa.const_shape {{values = dense<[1, 1, "
                 f"{flat[2]}]> : tensor<3xindex>}} : () -> !tosa.shape<3>")
    lines.append(f"    %f = tosa.reshape {value}, %s : ({_tensor_type(shape)}, "
                 f"!tosa.shape<3>) -> {_tensor_type(flat)}")
    lines.append(_const("wfc", case["fc.weight"]))
    lines.append(_const("bfc", case["fc.bias"]))
    out = _tensor_type(OUTPUT_SHAPE)
    lines.append(f"    %m = tosa.matmul %f, %wfc, %zp, %zp : "
                 f"({_tensor_type(flat)}, "
                 f"{_tensor_type(MATMUL_WEIGHT_SHAPE)}, tensor<1xf32>, "
                 f"tensor<1xf32>) -> {out}")
    lines.append(f"    %o = tosa.add %m, %bfc : ({out}, {out}) -> {out}")
    lines.append(f"    return %o : {out}")
    lines.append("  }")
    in_t = _tensor_type(INPUT_SHAPE)
    memref = out.replace("tensor", "memref")
    lines += [
        "  func.func @main() {",
        f"    %x = arith.constant {dense_literal(case['input'])} : {in_t}",
        f"    %r = call @model(%x) : ({in_t}) -> {out}",
        f"    %m = bufferization.to_buffer %r : {out} to {memref}",
        f"    %u = memref.cast %m : {memref} to memref<*xf32>",
        "    call @printMemrefF32(%u) : (memref<*xf32>) -> ()",
        "    return",
        "  }",
        "  func.func private @printMemrefF32(memref<*xf32>)",
        "}",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# PyTorch reference
# --------------------------------------------------------------------------

def _conv_nhwc(x, w_ohwi, bias, pad, stride):
    """TOSA conv2d (NHWC input, [O,KH,KW,I] weight) through PyTorch NCHW."""
    top, bottom, left, right = pad
    xn = F.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom))
    y = F.conv2d(xn, w_ohwi.permute(0, 3, 1, 2), bias, stride=stride)
    return y.permute(0, 2, 3, 1)


def _quantized_weight(w, bits, axis, fan_out):
    state = Q.init_weight_state(w, bits, axis, fan_out)
    return Q.decode_weights(state.codes, state.basis, axis)


def _threshold_margin(x, u):
    """Smallest distance of a clamped activation to a decision midpoint (to
    warn when float summation order elsewhere could flip a level)."""
    lv = torch.unique(Q.levels(u, u.shape[0], Q.UNIPOLAR)).double()
    mids = (lv[1:] + lv[:-1]) / 2
    xc = torch.where(x < 0, torch.zeros_like(x), x).double().reshape(-1, 1)
    return float((xc - mids[None, :]).abs().min())


def expected_outputs(case, w_bits=None, a_bits=None, warn_margin=1e-5):
    """Model output [1,1,5] (float32); w_bits None: the float model."""
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in case.items()}
    quantized = w_bits is not None
    u = Q.init_act_basis(a_bits) if quantized else None

    def act(x, layer):
        if not quantized:
            return x
        # The first input is parsed from the same text on both sides; only
        # computed activations can differ in their last bits.
        margin = math.inf if layer == CONVS[0][0] else _threshold_margin(x, u)
        if margin < warn_margin:
            print(f"warning: an input of {layer} is {margin:.3g} from a "
                  f"quantization threshold; other summation orders may pick "
                  f"another level there", file=sys.stderr)
        return Q.quantize_act(x, u)

    x = t["input"]
    for name, shape, pad, stride in CONVS:
        w = t[name + ".weight"]
        if quantized:
            # Output-channel axis 0; fan_out = O * KH * KW (PyTorch's).
            w = _quantized_weight(w, w_bits, 0, shape[0] * shape[1] * shape[2])
        y = _conv_nhwc(act(x, name), w, t[name + ".bias"], pad, stride)
        x = torch.clamp(y, min=0.0, max=3.4e38)
    flat = x.reshape(1, 1, -1)  # NHWC row-major, as tosa.reshape
    w = t["fc.weight"]
    if quantized:
        # Output features are axis 2; fan_out = their number.
        w = _quantized_weight(w, w_bits, 2, MATMUL_WEIGHT_SHAPE[2])
    return torch.matmul(act(flat, "fc"), w) + t["fc.bias"]
