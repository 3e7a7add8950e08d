"""Checks that a dq model's state is named after the PyTorch module's tensors.

    check_state_names.py model.pt (model.manifest.json | train.mlir)

Every parameter and buffer of the TorchScript module (but batch norm's
num_batches_tracked) must be a state tensor under its PyTorch name: a
quantized weight as <name>.codes, batch norm's weight and bias as
<module>.gamma and <module>.beta. And every state tensor must belong to one
of the module's layers (no names made up from op kinds, such as conv2d_0).
Prints "names: PASS" or the differences.
"""

import json
import re
import sys

import torch


def dq_state_names(path):
    text = open(path).read()
    if path.endswith(".json"):
        return [t["name"] for t in json.loads(text)["state"]]
    init = re.search(r"func\.func @init_state\(\) -> \((.*?)\) \{", text)
    return re.findall(r'dq\.state = "([^"]+)"', init.group(1))


def main():
    module = torch.jit.load(sys.argv[1])
    names = set(dq_state_names(sys.argv[2]))
    layers = set()
    problems = []
    for path, sub in module.named_modules():
        own = dict(sub.named_parameters(recurse=False))
        own.update(dict(sub.named_buffers(recurse=False)))
        own.pop("num_batches_tracked", None)
        if not own:
            continue
        layers.add(path)
        batch_norm = sub.original_name.startswith("BatchNorm")
        for what in own:
            if batch_norm and what in ("weight", "bias"):
                what = {"weight": "gamma", "bias": "beta"}[what]
            name = f"{path}.{what}"
            if name not in names and name + ".codes" not in names:
                problems.append(f"PyTorch's {name} is not a state tensor")
    for name in sorted(names):
        if not any(name.startswith(layer + ".") for layer in layers):
            problems.append(f"state {name} belongs to no PyTorch module")
    for p in problems:
        print(p)
    print("names:", "FAIL" if problems else "PASS")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
