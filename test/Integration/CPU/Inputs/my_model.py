"""A user's own PyTorch model, as README.md's walk-through brings it to dq:

    my_model.py train DATA OUT.pt    trains MyNet in fp32 (plain PyTorch, the
                                     first 9600 Fashion-MNIST images, one
                                     epoch, seeded) and saves it traced in
                                     eval mode
    my_model.py predict TRAINED.pt IMAGES
                                     loads export_to_torch.py's state_dict
                                     into a new MyNet, attaches the
                                     activation quantizers and prints
                                     '<index> <class>' per image of an IDX
                                     file, as dq-run --images does

MyNet is not one of python/tools/export_torch_model.py's models: batch norm,
a residual add, adaptive pooling, a linear head."""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530  # dq-compile's default for 1-channel images


class MyNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(16)
        self.conv1 = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.head = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn0(self.stem(x)))
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(x + self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


def read_idx(path, offset):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def train(data, out):
    n = 9600
    images = read_idx(os.path.join(data, "train-images-idx3-ubyte.gz"), 16)
    labels = read_idx(os.path.join(data, "train-labels-idx1-ubyte.gz"), 8)
    x = torch.from_numpy(images[:n * 784].reshape(n, 1, 28, 28).astype(
        np.float32) / 255.0)
    x = (x - MEAN) / STD
    y = torch.from_numpy(labels[:n].astype(np.int64))
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = MyNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    order = torch.randperm(n)
    for i in range(0, n, 64):
        batch = order[i:i + 64]
        opt.zero_grad()
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"fp32 MyNet: train accuracy {100 * accuracy:.1f}%")
    torch.jit.trace(model, torch.zeros(1, 1, 28, 28)).save(out)


def predict(trained, images_path):
    # What README.md shows a user writing.
    import export_to_torch
    state_dict = torch.load(trained)
    model = MyNet().eval()
    model.load_state_dict(state_dict, strict=False)
    export_to_torch.attach_activation_quantizers(model, state_dict)
    pixels = read_idx(images_path, 16).reshape(-1, 28, 28, 1)
    with torch.no_grad():
        x = export_to_torch.normalize_images(pixels, state_dict)
        classes = model(x).argmax(1)
    for i, c in enumerate(classes.tolist()):
        print(i, c)


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "..", "..", "..", "python", "tools"))
    if sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3])
    else:
        predict(sys.argv[2], sys.argv[3])
