#!/usr/bin/env python3
"""Loads a state_dict written by export_to_torch.py into a freshly built
PyTorch model and prints its predicted class of every image, as dq-run
--images does ('<index> <class>' lines; with labels, the accuracy):

    predict_torch_export.py --model lenet5 --state-dict trained.pt \\
        --images t10k-images-idx3-ubyte.gz [--labels IDX] [--no-act-quant]

--model names a model of export_torch_model.py (the nn.Module is built
from its Python class, not loaded from TorchScript, as a user would).
--images: an IDX file or an .npz with uint8 NHWC images. The inputs are
normalized with the state_dict's dq.input_mean / dq.input_std, and the
activation quantizers of its '<layer>.input.basis' entries are attached
(export_to_torch.attach_activation_quantizers) unless --no-act-quant.
load_state_dict(strict=False) must leave no key of the module missing.
"""

import argparse
import gzip
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_to_torch  # noqa: E402
import export_torch_model  # noqa: E402


def read_idx(path, images):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    count = int.from_bytes(data[4:8], "big")
    if not images:
        return np.frombuffer(data[8:8 + count], np.uint8)
    rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (8, 12))
    pixels = np.frombuffer(data[16:16 + count * rows * cols], np.uint8)
    return pixels.reshape(count, rows, cols, 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--state-dict", required=True)
    parser.add_argument("--images", required=True)
    parser.add_argument("--labels")
    parser.add_argument("--no-act-quant", action="store_true")
    args = parser.parse_args()

    state_dict = torch.load(args.state_dict)
    model = export_torch_model.build(args.model).eval()
    result = model.load_state_dict(state_dict, strict=False)
    if result.missing_keys:
        sys.exit("predict_torch_export: the state_dict lacks %s" %
                 result.missing_keys)
    extras = [k for k in result.unexpected_keys
              if not (k.startswith("dq.") or k.endswith((".codes", ".basis")))]
    if extras:
        sys.exit("predict_torch_export: unexpected keys %s" % extras)
    if not args.no_act_quant:
        export_to_torch.attach_activation_quantizers(model, state_dict)

    labels = None
    if args.images.endswith(".npz"):
        archive = np.load(args.images)
        images = archive["images"]
        if images.ndim == 3:
            images = images[..., None]
        labels = archive["labels"] if "labels" in archive else None
    else:
        images = read_idx(args.images, True)
    if args.labels:
        labels = read_idx(args.labels, False)
    with torch.no_grad():
        predicted = []
        for start in range(0, len(images), 256):
            x = export_to_torch.normalize_images(images[start:start + 256],
                                                 state_dict)
            predicted.append(model(x).argmax(dim=1).numpy())
    predicted = np.concatenate(predicted)
    for i, c in enumerate(predicted):
        print(i, int(c))
    if labels is not None:
        print("torch: %d images, accuracy %.2f%%" %
              (len(predicted), 100.0 * (predicted == labels).mean()))


if __name__ == "__main__":
    main()
