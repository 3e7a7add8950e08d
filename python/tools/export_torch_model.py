#!/usr/bin/env python3
"""Exports a PyTorch model as a TorchScript module for dq-import.

    export_torch_model.py --model resnet18 --seed 1 --mode trace -o resnet18.pt

Models (eval mode, 10 classes, no downloads):
    lenet5        LeNet-5 for 1x1x28x28 (conv5-pool-conv5-pool, 120-84-10)
    resnet20      CIFAR-style ResNet-20 for 3x32x32 (16/32/64, projection
                  shortcuts)
    resnet18      torchvision's ResNet-18
    alexnet       torchvision's AlexNet (needs inputs of at least 63x63)
    mobilenet_v2  torchvision's MobileNetV2 (depthwise convs, ReLU6)
    ops           a small net of the translations the five models do not reach
    unsupported   a small net with ops dq-import does not translate (tests)

Weights are the seeded default initialization; batch-norm statistics and
affine parameters are randomized too so that batch norm is not the identity.
`--mode trace` traces with a random input of `--input-shape` (NCHW),
`--mode script` scripts the module. `--state-dict` writes
`torch.save(model.state_dict())` instead (what dq-import must reject).

Needs Debian's python3-torch and python3-torchvision (/usr/bin/python3).
"""

import argparse
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool2 = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.downsample(x)
        return self.relu(out)


class ResNet20(nn.Module):
    """He et al. 2016, section 4.2: 6n+2 layers with n = 3."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        layers, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(3):
                blocks.append(BasicBlock(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.avgpool(x)
        x = x.view(x.size(0), -1)
        return self.fc(x)


class OpMix(nn.Module):
    """Translations the five models do not reach: padding='same' with
    dilation, ceil-mode max pooling, concatenation, a depthwise convolution
    with channel multiplier 2, average pooling with padding that excludes
    it, adaptive pooling to unequal windows, mean, BatchNorm1d and addmm."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding="same", dilation=2)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.left = nn.Conv2d(8, 8, 1)
        self.right = nn.Conv2d(8, 16, 3, padding=1, groups=8)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.adaptive = nn.AdaptiveAvgPool2d((3, 2))
        self.bn = nn.BatchNorm1d(24 * 6)
        self.weight = nn.Parameter(torch.randn(24 * 6 + 24, num_classes) * 0.1)
        self.bias = nn.Parameter(torch.randn(num_classes) * 0.1)

    def forward(self, x):
        x = F.relu(self.pool(self.stem(x)))
        x = torch.cat([self.left(x), self.right(x)], dim=1)
        x = self.avg(x)
        pooled = self.bn(torch.flatten(self.adaptive(x), 1))
        mean = x.mean([2, 3], keepdim=True).view(x.size(0), -1)
        x = torch.cat([pooled, mean], 1)
        return torch.addmm(self.bias, x, self.weight)


class Unsupported(nn.Module):
    """Uses ops dq-import has no translation for (sigmoid, softmax)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        x = torch.sigmoid(self.conv(x))
        x = x.mean([2, 3])
        return torch.softmax(self.fc(x), dim=1)


def build(name):
    if name == "lenet5":
        return LeNet5()
    if name == "resnet20":
        return ResNet20()
    if name == "unsupported":
        return Unsupported()
    if name == "ops":
        return OpMix()
    import torchvision.models as tvm
    if name == "resnet18":
        return tvm.resnet18(num_classes=10)
    if name == "alexnet":
        return tvm.alexnet(num_classes=10)
    if name == "mobilenet_v2":
        return tvm.mobilenet_v2(num_classes=10)
    raise ValueError("unknown model " + name)


DEFAULT_SHAPES = {
    "lenet5": "1x1x28x28",
    "resnet20": "1x3x32x32",
    "resnet18": "1x3x64x64",
    "alexnet": "1x3x63x63",
    "mobilenet_v2": "1x3x64x64",
    "unsupported": "1x1x8x8",
    "ops": "2x3x21x21",
}


def randomize_batch_norm(model, generator):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(c, generator=generator) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=generator) + 0.5)


def parse_shape(text):
    try:
        shape = [int(d) for d in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError("expected a shape like 1x3x32x32")
    if len(shape) != 4 or min(shape) < 1:
        raise argparse.ArgumentTypeError("expected four positive sizes (NCHW)")
    return shape


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, choices=sorted(DEFAULT_SHAPES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", choices=("trace", "script"), default="trace")
    parser.add_argument("--input-shape", type=parse_shape, default=None,
                        help="NCHW shape the trace uses (default per model)")
    parser.add_argument("--state-dict", action="store_true",
                        help="save the state_dict instead of a TorchScript module")
    parser.add_argument("--train-mode", action="store_true",
                        help="export without model.eval() (what a user "
                             "forgets; dq-import's tests)")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = build(args.model)
    randomize_batch_norm(model, torch.Generator().manual_seed(args.seed + 1))
    if not args.train_mode:
        model.eval()
    if args.state_dict:
        torch.save(model.state_dict(), args.output)
        return 0
    shape = args.input_shape or parse_shape(DEFAULT_SHAPES[args.model])
    with torch.no_grad():
        if args.mode == "trace":
            module = torch.jit.trace(model, torch.randn(*shape))
        else:
            module = torch.jit.script(model)
    module.save(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
