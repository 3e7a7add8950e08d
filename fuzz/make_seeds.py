#!/usr/bin/env python3
"""Seed corpora of the compiler and TorchScript fuzz targets (docs/Fuzzing.md).

  make_seeds.py mlir  OUT [--with-examples]   MLIR inputs from test/ (split
                                               at "// -----", comment lines
                                               dropped), examples/ optionally
  make_seeds.py torch OUT                     TorchScript archives exported
                                               with python/tools/export_torch_model.py

The runtime targets' seeds come from dq-fuzz-seeds (built with them).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Inputs of the passes the compiler target runs, and of the dq dialect.
MLIR_DIRS = ["test/Transforms/Quantize", "test/Training/BuildTrainingGraph",
             "test/Dialect/DQ"]
EXAMPLES = ["examples/small_resnet.mlir"]

# (model, mode, NCHW input shape) for export_torch_model.py.
TORCH_MODELS = [("lenet5", "trace", "1x1x28x28"), ("lenet5", "script", "1x1x28x28"),
                ("ops", "trace", "2x3x21x21"), ("unsupported", "trace", "1x1x8x8")]


def mlir_seeds(out, with_examples):
    os.makedirs(out, exist_ok=True)
    files = []
    for d in MLIR_DIRS:
        full = os.path.join(ROOT, d)
        files += [os.path.join(full, f) for f in sorted(os.listdir(full))
                  if f.endswith(".mlir")]
    if with_examples:
        files += [os.path.join(ROOT, f) for f in EXAMPLES]
    count = 0
    for path in files:
        with open(path) as f:
            text = f.read()
        for i, part in enumerate(text.split("// -----")):
            lines = [l for l in part.splitlines() if not l.lstrip().startswith("//")]
            body = "\n".join(lines).strip() + "\n"
            if len(body) < 8:
                continue
            name = "%s-%s-%d.mlir" % (os.path.basename(os.path.dirname(path)),
                                      os.path.basename(path)[:-5], i)
            with open(os.path.join(out, name), "w") as f:
                f.write(body)
            count += 1
    print("make_seeds: %d MLIR seeds in %s" % (count, out))


def torch_seeds(out):
    os.makedirs(out, exist_ok=True)
    exporter = os.path.join(ROOT, "python", "tools", "export_torch_model.py")
    for model, mode, shape in TORCH_MODELS:
        path = os.path.join(out, "%s-%s.pt" % (model, mode))
        subprocess.run([sys.executable, exporter, "--model", model, "--mode", mode,
                        "--seed", "1", "--input-shape", shape, "-o", path],
                       check=True, stdout=subprocess.DEVNULL)
        # The input shape travels in the archive comment (TorchImportFuzzer.cpp).
        with zipfile.ZipFile(path, "a") as z:
            z.comment = ("dq-fuzz input-shape=" + shape).encode()
    print("make_seeds: %d TorchScript seeds in %s" % (len(TORCH_MODELS), out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["mlir", "torch"])
    parser.add_argument("out")
    parser.add_argument("--with-examples", action="store_true")
    args = parser.parse_args()
    if args.kind == "mlir":
        mlir_seeds(args.out, args.with_examples)
    else:
        torch_seeds(args.out)


if __name__ == "__main__":
    main()
