#!/usr/bin/env python3
"""Writes a residual CNN for 28x28x1 inputs (Fashion-MNIST) as TOSA 1.0 model
IR with seeded random weights, in the form dq-opt consumes:

    func.func @model(%images: tensor<N x 28 x 28 x 1 x f32>) -> tensor<N x 10 x f32>

Architectures (CIFAR-style ResNets, as in the evaluation protocol):
    small     stem 8, one block of 8, one stride-2 block of 16      (the demo)
    resnet8   stem 16, stages 16/32/64 with 1 basic block each
    resnet20  stem 16, stages 16/32/64 with 3 basic blocks each

A basic block is conv3x3-BN-ReLU-conv3x3-BN plus the shortcut, then ReLU;
when the shape changes the shortcut is a 1x1 stride-2 convolution + BN (a
projection). Batch norm is dq.batch_norm (running statistics, so the model
is the inference form and dq-build-training-graph can train it). Every layer
carries a PyTorch-style NameLoc (stem.conv, layer2.0.conv1, ...).

TOSA 1.0 needs exact stride divisibility: a 3x3 stride-2 conv on an even
size pads [1, 0] (PyTorch's floor semantics never read the last padding
row), and a 1x1 stride-2 shortcut reads a slice without the last row/column.

numpy only:
    python3 python/tools/make_example_model.py --arch resnet20 --batch 128 > model.mlir
"""

import argparse
import math
import sys

import numpy as np


class Emitter(object):
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.lines = []
        self.counter = 0

    def fresh(self, prefix="v"):
        self.counter += 1
        return "%{}{}".format(prefix, self.counter)

    @staticmethod
    def ttype(shape, elem="f32"):
        return "tensor<{}x{}>".format("x".join(str(d) for d in shape), elem)

    @staticmethod
    def nested(array):
        if array.ndim == 1:
            return "[" + ", ".join("{:.8e}".format(float(v)) for v in array) + "]"
        return "[" + ", ".join(Emitter.nested(a) for a in array) + "]"

    def const(self, array):
        name = self.fresh("c")
        if np.all(array == array.reshape(-1)[0]):
            value = "dense<{:.8e}>".format(float(array.reshape(-1)[0]))
        else:
            value = "dense<{}>".format(self.nested(array))
        self.lines.append('  {} = "tosa.const"() <{{values = {} : {}}}> : () -> {}'.format(
            name, value, self.ttype(array.shape), self.ttype(array.shape)))
        return name

    def conv(self, x, shape, out_ch, k, stride, pad, name):
        n, h, w, c = shape
        # kaiming_normal_(mode="fan_out", nonlinearity="relu"), as torchvision.
        std = math.sqrt(2.0 / (out_ch * k * k))
        weight = (self.rng.standard_normal((out_ch, k, k, c)) * std).astype(np.float32)
        wname = self.const(weight)
        bname = self.const(np.zeros(out_ch, np.float32))
        oh = (h + pad[0] + pad[1] - k) // stride + 1
        ow = (w + pad[2] + pad[3] - k) // stride + 1
        out = (n, oh, ow, out_ch)
        y = self.fresh()
        self.lines.append(
            '  {} = tosa.conv2d {}, {}, {}, %zp, %zp {{acc_type = f32, dilation = '
            'array<i64: 1, 1>, pad = array<i64: {}>, stride = array<i64: {}, {}>}} '
            ': ({}, {}, {}, tensor<1xf32>, tensor<1xf32>) -> {} loc("{}")'.format(
                y, x, wname, bname, ", ".join(map(str, pad)), stride, stride,
                self.ttype(shape), self.ttype(weight.shape), self.ttype((out_ch,)),
                self.ttype(out), name))
        return y, out

    def batch_norm(self, x, shape, name):
        c = shape[3]
        gamma, beta = self.const(np.ones(c, np.float32)), self.const(np.zeros(c, np.float32))
        mean, var = self.const(np.zeros(c, np.float32)), self.const(np.ones(c, np.float32))
        y = self.fresh()
        vec = self.ttype((c,))
        self.lines.append(
            '  {} = dq.batch_norm {}, {}, {}, {}, {} axis = 3 epsilon = 1.000000e-05 '
            ': ({}, {}, {}, {}, {}) -> {} loc("{}")'.format(
                y, x, gamma, beta, mean, var, self.ttype(shape), vec, vec, vec, vec,
                self.ttype(shape), name))
        return y

    def relu(self, x, shape):
        y = self.fresh()
        self.lines.append('  {} = tosa.clamp {} {{min_val = 0.0 : f32, max_val = 3.4e38 : f32}} : ({}) -> {}'.format(
            y, x, self.ttype(shape), self.ttype(shape)))
        return y

    def add(self, a, b, shape):
        y = self.fresh()
        self.lines.append('  {} = tosa.add {}, {} : ({}, {}) -> {}'.format(
            y, a, b, self.ttype(shape), self.ttype(shape), self.ttype(shape)))
        return y

    def shape_const(self, values):
        name = self.fresh("c")
        self.lines.append('  {} = tosa.const_shape {{values = dense<[{}]> : tensor<{}xindex>}} : () -> !tosa.shape<{}>'.format(
            name, ", ".join(map(str, values)), len(values), len(values)))
        return name

    def reshape(self, x, shape, new_shape):
        y = self.fresh()
        s = self.shape_const(new_shape)
        self.lines.append('  {} = tosa.reshape {}, {} : ({}, !tosa.shape<{}>) -> {}'.format(
            y, x, s, self.ttype(shape), len(new_shape), self.ttype(new_shape)))
        return y

    def block(self, x, shape, out_ch, stride, name):
        pad = (1, 1, 1, 1) if stride == 1 else (1, 0, 1, 0)
        y, s = self.conv(x, shape, out_ch, 3, stride, pad, name + ".conv1")
        y = self.relu(self.batch_norm(y, s, name + ".bn1"), s)
        y, s = self.conv(y, s, out_ch, 3, 1, (1, 1, 1, 1), name + ".conv2")
        y = self.batch_norm(y, s, name + ".bn2")
        if stride == 1 and out_ch == shape[3]:
            shortcut = x
        else:
            n, h, w, c = shape
            # Rows/cols a 1x1 stride-2 conv reads under floor semantics.
            keep_h, keep_w = (h - 1) // stride * stride + 1, (w - 1) // stride * stride + 1
            source = x
            if (keep_h, keep_w) != (h, w):
                start = self.shape_const([0, 0, 0, 0])
                size = self.shape_const([n, keep_h, keep_w, c])
                source = self.fresh()
                self.lines.append('  {} = tosa.slice {}, {}, {} : ({}, !tosa.shape<4>, !tosa.shape<4>) -> {}'.format(
                    source, x, start, size, self.ttype(shape), self.ttype((n, keep_h, keep_w, c))))
            sc, s3 = self.conv(source, (n, keep_h, keep_w, c), out_ch, 1, stride, (0, 0, 0, 0),
                               name + ".downsample.0")
            shortcut = self.batch_norm(sc, s3, name + ".downsample.1")
        return self.relu(self.add(y, shortcut, s), s), s


ARCHS = {
    # One quantizable convolution and the classifier, for fast test matrices.
    "tiny": (4, []),
    "small": (8, [(8, 1, 1), (16, 1, 2)]),
    "resnet8": (16, [(16, 1, 1), (32, 1, 2), (64, 1, 2)]),
    "resnet20": (16, [(16, 3, 1), (32, 3, 2), (64, 3, 2)]),
}


def emit(arch, batch, seed, classes=10):
    e = Emitter(seed)
    e.lines.append('  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>')
    stem, stages = ARCHS[arch]
    shape = (batch, 28, 28, 1)
    y, shape = e.conv("%images", shape, stem, 3, 1, (1, 1, 1, 1), "stem.conv")
    x = e.relu(e.batch_norm(y, shape, "stem.bn"), shape)
    for li, (width, blocks, stride) in enumerate(stages):
        for bi in range(blocks):
            x, shape = e.block(x, shape, width, stride if bi == 0 else 1,
                               "layer{}.{}".format(li + 1, bi))
    n, h, w, c = shape
    pooled = e.fresh()
    e.lines.append('  {} = tosa.avg_pool2d {}, %zp, %zp {{acc_type = f32, kernel = array<i64: {}, {}>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>}} : ({}, tensor<1xf32>, tensor<1xf32>) -> {} loc("avgpool")'.format(
        pooled, x, h, w, e.ttype(shape), e.ttype((n, 1, 1, c))))
    flat = e.reshape(pooled, (n, 1, 1, c), (1, n, c))
    bound = 1.0 / math.sqrt(c)  # nn.Linear's default init
    fc_w = e.const(e.rng.uniform(-bound, bound, (1, c, classes)).astype(np.float32))
    fc_b = e.const(e.rng.uniform(-bound, bound, (1, 1, classes)).astype(np.float32))
    logits, biased = e.fresh(), e.fresh()
    e.lines.append('  {} = tosa.matmul {}, {}, %zp, %zp : ({}, {}, tensor<1xf32>, tensor<1xf32>) -> {} loc("fc")'.format(
        logits, flat, fc_w, e.ttype((1, n, c)), e.ttype((1, c, classes)), e.ttype((1, n, classes))))
    e.lines.append('  {} = tosa.add {}, {} : ({}, {}) -> {} loc("fc")'.format(
        biased, logits, fc_b, e.ttype((1, n, classes)), e.ttype((1, 1, classes)), e.ttype((1, n, classes))))
    out = e.reshape(biased, (1, n, classes), (n, classes))
    e.lines.append('  return {} : {}'.format(out, e.ttype((n, classes))))
    header = ["// {} for {}x28x28x1 inputs, TOSA 1.0, seeded random weights (seed {}).".format(arch, batch, seed),
              "// Generated by python/tools/make_example_model.py --arch {} --batch {} --seed {}.".format(arch, batch, seed),
              "func.func @model(%images: {}) -> {} {{".format(e.ttype((batch, 28, 28, 1)), e.ttype((batch, classes)))]
    return "\n".join(header + e.lines + ["}"]) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", choices=sorted(ARCHS), default="small")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("-o", "--output", default="-")
    args = parser.parse_args()
    if args.batch < 1:
        parser.error("--batch must be positive")
    text = emit(args.arch, args.batch, args.seed, args.classes)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        import os
        import tempfile
        directory = os.path.dirname(os.path.abspath(args.output))
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
