"""train_lenet5_fp32.py DATA OUT.pt: a LeNet-5 trained in fp32 by plain PyTorch
on the first 9600 Fashion-MNIST training images (two epochs, seeded), with
dq-train's input normalization, traced in eval mode: the pretrained model a
user would bring to dq for quantization-aware fine-tuning."""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "..", "python", "tools"))
from export_torch_model import LeNet5  # noqa: E402

MEAN, STD = 0.2860, 0.3530  # dq-train's Fashion-MNIST normalization


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main():
    data, out = sys.argv[1], sys.argv[2]
    n = 9600
    images = idx(os.path.join(data, "train-images-idx3-ubyte.gz"), 16)
    labels = idx(os.path.join(data, "train-labels-idx1-ubyte.gz"), 8)
    x = torch.from_numpy(images[:n * 784].reshape(n, 1, 28, 28).astype(
        np.float32) / 255.0)
    x = (x - MEAN) / STD
    y = torch.from_numpy(labels[:n].astype(np.int64))
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = LeNet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(2):
        order = torch.randperm(n)
        for i in range(0, n, 64):
            batch = order[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"fp32 LeNet-5: train accuracy {100 * accuracy:.1f}%")
    torch.jit.trace(model, torch.zeros(1, 1, 28, 28)).save(out)


if __name__ == "__main__":
    main()
