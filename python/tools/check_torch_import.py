#!/usr/bin/env python3
"""Compares a model imported by dq-import, compiled on CPU by dq, with the
TorchScript module it came from, on seeded random inputs.

    check_torch_import.py model.pt model.mlir --input-shape 1x3x32x32

The MLIR function (`@model` by default) takes the NHWC transpose of the
NCHW input. Passes when, for every input, max |dq - torch| <= tolerance *
max |torch| (the output scale); prints the measured numbers either
way. Needs Debian's python3-torch (/usr/bin/python3) and dq-opt
(build/bin/dq-opt or $DQ_OPT).
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dq_runtime  # noqa: E402


def parse_shape(text):
    return [int(d) for d in text.lower().split("x")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("torchscript")
    parser.add_argument("mlir")
    parser.add_argument("--input-shape", required=True, type=parse_shape)
    parser.add_argument("--function", default="model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--inputs", type=int, default=2,
                        help="number of random inputs")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--cache-dir", default=None,
                        help="where compiled code goes (default: a temporary "
                             "directory)")
    args = parser.parse_args()

    torch.set_num_threads(1)
    reference = torch.jit.load(args.torchscript).eval()
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="dq_import_check_") as tmp:
        module = dq_runtime.load(os.path.abspath(args.mlir),
                                 out_dir=args.cache_dir or tmp)
        compile_s = time.time() - start
        function = module[args.function]
        rng = np.random.default_rng(args.seed)
        worst = 0.0
        for i in range(args.inputs):
            x = rng.standard_normal(args.input_shape).astype(np.float32)
            with torch.no_grad():
                expected = reference(torch.from_numpy(x)).numpy()
            nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
            actual = np.asarray(function(nhwc))
            if actual.shape != expected.shape:
                print("FAIL: output shape %s, PyTorch %s"
                      % (actual.shape, expected.shape))
                return 1
            diff = float(np.max(np.abs(actual - expected)))
            scale = max(float(np.max(np.abs(expected))), 1e-30)
            worst = max(worst, diff / scale)
            print("input %d: max |dq - torch| = %.3g, output scale %.3g, "
                  "relative %.3g" % (i, diff, scale, diff / scale))
    print("compile %.1f s; worst relative difference %.3g (tolerance %g)"
          % (compile_s, worst, args.tolerance))
    if not worst <= args.tolerance:
        print("FAIL: the imported model does not match PyTorch")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
