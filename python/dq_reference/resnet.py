"""CIFAR-style ResNets (ResNet-20, ResNet-8, a narrow ResNet-8) as one
description for both the PyTorch reference (a training.Network) and the TOSA
MLIR that dq-opt takes (train_case.emit_mlir).

NHWC, Fashion-MNIST-shaped input [N, 28, 28, 1], 10 classes:

    stem.conv            conv 1->W 3x3 pad 1 + stem.bn + ReLU
    stageS.blockB        basic block: conv1 3x3 + bn1 + ReLU, conv2 3x3 + bn2,
                         residual add + ReLU (S = 1..3, B = 1..n)
                         stage widths W, 2W, 4W
    first block of stages 2 and 3:
                         conv1 stride 2 with TOSA pad [1,0,1,0] (28->14->7),
                         shortcut: tosa.slice of the block input to rows/cols
                         0..H-2 (27x27, 13x13), conv 1x1 stride 2
                         (stageS.block1.shortcut.conv) + .shortcut.bn
    head                 avg pool 7x7 (global), reshape [1,N,4W], matmul
                         [1,4W,10] (loc "fc"), bias add (loc "fc.bias_add"),
                         reshape [N,10]

ResNet-20: W = 16, n = 3. ResNet-8: W = 16, n = 1. "tiny": W = 4, n = 1.

`--dq-quantize`'s default layer selection leaves the first conv, the
projection shortcuts and the last matmul full precision;
quantized_layer_names(net) lists the others (the ones it quantizes).
"""

import math

import numpy as np

from . import training as T

CLASSES = 10
IMAGE_HW = 28
IMAGE_C = 1

ARCHS = {
    "resnet20": (16, 3),
    "resnet8": (16, 1),
    "tiny": (4, 1),
}


def images_shape(batch):
    return (batch, IMAGE_HW, IMAGE_HW, IMAGE_C)


def build_network(arch="resnet20", batch=128, seed=0):
    """The full-precision network (training.Network) with seeded float32
    parameters (He-normal conv weights, small biases, batch-norm statistics
    near the identity)."""
    width, blocks = ARCHS[arch]
    rng = np.random.default_rng(seed)
    ops = []

    def conv(name, src, dst, cin, cout, k, pad, stride):
        fan_in = k * k * cin
        w = (rng.standard_normal((cout, k, k, cin)) *
             math.sqrt(2.0 / fan_in)).astype(np.float32)
        b = rng.uniform(-0.05, 0.05, cout).astype(np.float32)
        ops.append(T.Conv2D(name, src, dst, w, b, pad, (stride, stride)))

    def bn(name, src, dst, c):
        gamma = (1.0 + 0.1 * rng.standard_normal(c)).astype(np.float32)
        beta = (0.1 * rng.standard_normal(c)).astype(np.float32)
        mean = np.zeros(c, np.float32)
        var = np.ones(c, np.float32)
        ops.append(T.BatchNorm(name, src, dst, gamma, beta, mean, var, 1e-5,
                               3))

    conv("stem.conv", "images", "stem.conv", IMAGE_C, width, 3, (1, 1, 1, 1),
         1)
    bn("stem.bn", "stem.conv", "stem.bn", width)
    ops.append(T.Relu("stem.bn", "stem.relu"))
    x, cin, hw = "stem.relu", width, IMAGE_HW
    for s in range(1, 4):
        cout = width * (1 << (s - 1))
        for b in range(1, blocks + 1):
            p = f"stage{s}.block{b}"
            down = s > 1 and b == 1
            stride = 2 if down else 1
            pad = (1, 0, 1, 0) if down else (1, 1, 1, 1)
            conv(p + ".conv1", x, p + ".conv1", cin, cout, 3, pad, stride)
            bn(p + ".bn1", p + ".conv1", p + ".bn1", cout)
            ops.append(T.Relu(p + ".bn1", p + ".relu1"))
            conv(p + ".conv2", p + ".relu1", p + ".conv2", cout, cout, 3,
                 (1, 1, 1, 1), 1)
            bn(p + ".bn2", p + ".conv2", p + ".bn2", cout)
            if down:
                ops.append(T.Slice(x, p + ".shortcut.slice", (0, 0, 0, 0),
                                   (batch, hw - 1, hw - 1, cin)))
                conv(p + ".shortcut.conv", p + ".shortcut.slice",
                     p + ".shortcut.conv", cin, cout, 1, (0, 0, 0, 0), 2)
                bn(p + ".shortcut.bn", p + ".shortcut.conv",
                   p + ".shortcut.bn", cout)
                shortcut = p + ".shortcut.bn"
                hw //= 2
            else:
                shortcut = x
            ops.append(T.Add(p + ".bn2", shortcut, p + ".sum"))
            ops.append(T.Relu(p + ".sum", p + ".relu"))
            x, cin = p + ".relu", cout
    ops.append(T.AvgPool2D(x, "pool", (hw, hw)))
    ops.append(T.Reshape("pool", "flat", (1, batch, cin)))
    fc_w = (rng.standard_normal((1, cin, CLASSES)) *
            math.sqrt(2.0 / cin)).astype(np.float32)
    ops.append(T.MatMul("fc", "flat", "fc", fc_w))
    fc_b = rng.uniform(-0.05, 0.05, (1, 1, CLASSES)).astype(np.float32)
    ops.append(T.BiasAdd("fc.bias_add", "fc", "fc.biased", fc_b))
    ops.append(T.Reshape("fc.biased", "logits", (batch, CLASSES)))
    return T.Network("images", "logits", ops)


def quantized_layer_names(net):
    """The layers `--dq-quantize` quantizes by default: every conv/matmul
    but the first conv, the projection shortcuts and the last matmul."""
    layers = net.layers()
    return tuple(op.name for op in layers[1:-1]
                 if not op.name.endswith(".shortcut.conv"))


def quantized_network(net, w_bits=2, a_bits=2, w_scheme="dq", a_scheme="dq",
                      trim=0.0):
    """`net` as `--dq-quantize="w-bits=.. a-bits=.."` leaves it."""
    return T.quantize_network(net, quantized_layer_names(net), w_bits, a_bits,
                              w_scheme, a_scheme, trim)


def emit_mlir(net, batch):
    """The full-precision `net` as TOSA MLIR (dq.batch_norm) for dq-opt."""
    from .train_case import emit_mlir as _emit
    return _emit(net, images_shape=images_shape(batch), batch_norm="dq")
