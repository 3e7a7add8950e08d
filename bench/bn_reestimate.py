#!/usr/bin/env python3
"""Does a trained model's accuracy change when its batch-norm running
statistics are re-estimated from its final weights? (docs/RESULTS-protocol.md,
the dq-lean note.)

    python/tools/export_to_torch.py WORK/model --state WORK/run/final.state -o m.pt
    bench/bn_reestimate.py m.pt --batches 100

m.pt: export_to_torch.py's state_dict of a make_example_model.py ResNet-20
(stem.conv, layerS.B.convK / bnK / downsample, fc). The script evaluates it on
the Fashion-MNIST test set in PyTorch with its activation quantizers
(export_to_torch.attach_activation_quantizers), then replaces every batch
norm's running statistics by the mean of its batch statistics over
--batches training batches of 128 (a seeded permutation, no augmentation;
PyTorch's momentum=None) and evaluates again.
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python", "tools"))
import export_to_torch  # noqa: E402
from predict_torch_export import read_idx  # noqa: E402


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = nn.Sequential()
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.downsample(x))


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, 1, 1)
        self.bn = nn.BatchNorm2d(16)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class ResNet20(nn.Module):
    """make_example_model.py's resnet20, under its layer names."""

    def __init__(self):
        super().__init__()
        self.stem = Stem()
        cin = 16
        for stage, (width, stride) in enumerate(((16, 1), (32, 2), (64, 2))):
            blocks = []
            for b in range(3):
                blocks.append(Block(cin, width, stride if b == 0 else 1))
                cin = width
            setattr(self, "layer%d" % (stage + 1), nn.Sequential(*blocks))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.fc(x.mean(dim=(2, 3)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("state_dict")
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = p.parse_args()
    sd = torch.load(args.state_dict)
    model = ResNet20().eval()
    missing = model.load_state_dict(sd, strict=False).missing_keys
    if missing:
        sys.exit("bn_reestimate: the state_dict lacks %s" % missing)
    export_to_torch.attach_activation_quantizers(model, sd)
    data = lambda name, images: read_idx(os.path.join(args.data, name), images)
    test_x = data("t10k-images-idx3-ubyte.gz", True)
    test_y = data("t10k-labels-idx1-ubyte.gz", False)
    train_x = data("train-images-idx3-ubyte.gz", True)

    def accuracy():
        model.eval()
        predicted = []
        with torch.no_grad():
            for s in range(0, len(test_x), 500):
                x = export_to_torch.normalize_images(test_x[s:s + 500], sd)
                predicted.append(model(x).argmax(1).numpy())
        return 100.0 * (np.concatenate(predicted) == test_y).mean()

    print("as trained: test accuracy %.2f%%" % accuracy())
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    order = np.random.default_rng(0).permutation(len(train_x))
    model.train()
    with torch.no_grad():
        for b in range(args.batches):
            batch = train_x[order[b * 128:(b + 1) * 128]]
            model(export_to_torch.normalize_images(batch, sd))
    print("batch norms re-estimated on %d training batches of 128: test "
          "accuracy %.2f%%" % (args.batches, accuracy()))


if __name__ == "__main__":
    main()
