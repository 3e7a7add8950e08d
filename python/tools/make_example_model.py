#!/usr/bin/env python3
"""Writes examples/small_resnet.mlir: a small residual CNN for 28x28x1
inputs (Fashion-MNIST) in TOSA 1.0 with seeded random weights.

    stem     conv 1->8 3x3 + batch norm + ReLU                  28x28x8
    block1   [conv 8->8 3x3, BN, ReLU, conv 8->8 3x3, BN] + x, ReLU
    block2   [conv 8->16 3x3 /2, BN, ReLU, conv 16->16 3x3, BN]
             + [1x1 conv 8->16 /2, BN] (projection shortcut), ReLU  14x14x16
    head     global average pool, fully connected 16->10

Batch norm is in its inference form (per-channel scale and shift). Every
layer carries its PyTorch-style name as a NameLoc, so --dq-quantize
overrides and summaries can name it. numpy only; run with any python3 that
has numpy:  python3 python/tools/make_example_model.py > examples/small_resnet.mlir
"""

import math
import sys

import numpy as np

rng = np.random.default_rng(2020)
lines = []
counter = [0]


def fresh(prefix="v"):
    counter[0] += 1
    return "%{}{}".format(prefix, counter[0])


def ttype(shape, elem="f32"):
    return "tensor<{}x{}>".format("x".join(str(d) for d in shape), elem)


def dense(array):
    flat = ", ".join("{:.7e}".format(float(v)) for v in array.reshape(-1))
    return "dense<[{}]>".format(flat) if array.ndim == 1 else \
        "dense<{}>".format(nested(array))


def nested(array):
    if array.ndim == 1:
        return "[" + ", ".join("{:.7e}".format(float(v)) for v in array) + "]"
    return "[" + ", ".join(nested(a) for a in array) + "]"


def const(array):
    name = fresh("c")
    lines.append('  {} = "tosa.const"() <{{values = {} : {}}}> : () -> {}'.format(
        name, dense(array), ttype(array.shape), ttype(array.shape)))
    return name


def conv(x, shape_in, out_ch, k, stride, pad, name):
    n, h, w, c = shape_in
    fan_in = k * k * c
    weight = (rng.standard_normal((out_ch, k, k, c)) *
              math.sqrt(2.0 / fan_in)).astype(np.float32)
    wname = const(weight)
    bname = const(np.zeros(out_ch, np.float32))
    oh = (h + pad[0] + pad[1] - k) // stride + 1
    ow = (w + pad[2] + pad[3] - k) // stride + 1
    out = (n, oh, ow, out_ch)
    y = fresh()
    lines.append(
        '  {} = tosa.conv2d {}, {}, {}, %zp, %zp {{acc_type = f32, dilation = '
        'array<i64: 1, 1>, pad = array<i64: {}>, stride = array<i64: {}, {}>}} '
        ': ({}, {}, {}, tensor<1xf32>, tensor<1xf32>) -> {} loc("{}")'.format(
            y, x, wname, bname, ", ".join(map(str, pad)), stride, stride,
            ttype(shape_in), ttype(weight.shape), ttype((out_ch,)), ttype(out),
            name))
    return y, out


def batch_norm(x, shape, name):
    c = shape[3]
    scale = rng.uniform(0.8, 1.2, (1, 1, 1, c)).astype(np.float32)
    shift = rng.uniform(-0.1, 0.1, (1, 1, 1, c)).astype(np.float32)
    s, b = const(scale), const(shift)
    y, z = fresh(), fresh()
    lines.append('  {} = tosa.mul {}, {}, %shift : ({}, {}, tensor<1xi8>) -> {} loc("{}")'.format(
        y, x, s, ttype(shape), ttype(scale.shape), ttype(shape), name))
    lines.append('  {} = tosa.add {}, {} : ({}, {}) -> {} loc("{}")'.format(
        z, y, b, ttype(shape), ttype(shift.shape), ttype(shape), name))
    return z


def relu(x, shape):
    y = fresh()
    lines.append('  {} = tosa.clamp {} {{min_val = 0.0 : f32, max_val = 3.4e38 : f32}} : ({}) -> {}'.format(
        y, x, ttype(shape), ttype(shape)))
    return y


def add(a, b, shape):
    y = fresh()
    lines.append('  {} = tosa.add {}, {} : ({}, {}) -> {}'.format(
        y, a, b, ttype(shape), ttype(shape), ttype(shape)))
    return y


def main():
    lines.append('  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>')
    lines.append('  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>')
    shape = (1, 28, 28, 1)
    x = "%input"
    # stem
    y, shape = conv(x, shape, 8, 3, 1, (1, 1, 1, 1), "stem.conv")
    x = relu(batch_norm(y, shape, "stem.bn"), shape)
    # block1: identity shortcut
    y, s1 = conv(x, shape, 8, 3, 1, (1, 1, 1, 1), "block1.conv1")
    y = relu(batch_norm(y, s1, "block1.bn1"), s1)
    y, s1 = conv(y, s1, 8, 3, 1, (1, 1, 1, 1), "block1.conv2")
    y = batch_norm(y, s1, "block1.bn2")
    x = relu(add(y, x, shape), shape)
    # block2: stride 2 with a 1x1 projection shortcut. TOSA needs exact
    # stride divisibility: the 3x3 conv pads [1, 0, 1, 0]; the 1x1 shortcut
    # reads rows/cols 0..26 (PyTorch's floor semantics drop the last one).
    y, s2 = conv(x, shape, 16, 3, 2, (1, 0, 1, 0), "block2.conv1")
    y = relu(batch_norm(y, s2, "block2.bn1"), s2)
    y, s2 = conv(y, s2, 16, 3, 1, (1, 1, 1, 1), "block2.conv2")
    y = batch_norm(y, s2, "block2.bn2")
    start, size = fresh("c"), fresh("c")
    lines.append('  {} = tosa.const_shape {{values = dense<[0, 0, 0, 0]> : tensor<4xindex>}} : () -> !tosa.shape<4>'.format(start))
    lines.append('  {} = tosa.const_shape {{values = dense<[1, 27, 27, 8]> : tensor<4xindex>}} : () -> !tosa.shape<4>'.format(size))
    sliced = fresh()
    lines.append('  {} = tosa.slice {}, {}, {} : ({}, !tosa.shape<4>, !tosa.shape<4>) -> tensor<1x27x27x8xf32>'.format(
        sliced, x, start, size, ttype(shape)))
    sc, s3 = conv(sliced, (1, 27, 27, 8), 16, 1, 2, (0, 0, 0, 0), "block2.shortcut.conv")
    sc = batch_norm(sc, s3, "block2.shortcut.bn")
    x = relu(add(y, sc, s2), s2)
    shape = s2
    # head
    pooled = fresh()
    lines.append('  {} = tosa.avg_pool2d {}, %zp, %zp {{acc_type = f32, kernel = array<i64: 14, 14>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>}} : ({}, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x1x16xf32> loc("pool")'.format(
        pooled, x, ttype(shape)))
    flat_shape = fresh("c")
    lines.append('  {} = tosa.const_shape {{values = dense<[1, 1, 16]> : tensor<3xindex>}} : () -> !tosa.shape<3>'.format(flat_shape))
    flat = fresh()
    lines.append('  {} = tosa.reshape {}, {} : (tensor<1x1x1x16xf32>, !tosa.shape<3>) -> tensor<1x1x16xf32>'.format(
        flat, pooled, flat_shape))
    fc_w = (rng.standard_normal((1, 16, 10)) * math.sqrt(1.0 / 16)).astype(np.float32)
    fc_b = np.zeros((1, 1, 10), np.float32)
    w, b = const(fc_w), const(fc_b)
    logits, out = fresh(), fresh()
    lines.append('  {} = tosa.matmul {}, {}, %zp, %zp : (tensor<1x1x16xf32>, tensor<1x16x10xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x10xf32> loc("fc")'.format(
        logits, flat, w))
    lines.append('  {} = tosa.add {}, {} : (tensor<1x1x10xf32>, tensor<1x1x10xf32>) -> tensor<1x1x10xf32> loc("fc")'.format(
        out, logits, b))
    lines.append('  return {} : tensor<1x1x10xf32>'.format(out))

    print("// A small residual CNN for 28x28x1 inputs, TOSA 1.0, seeded random")
    print("// weights. Generated by python/tools/make_example_model.py.")
    print("func.func @model(%input: tensor<1x28x28x1xf32>) -> tensor<1x1x10xf32> {")
    print("\n".join(lines))
    print("}")


if __name__ == "__main__":
    main()
