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
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, ".."))
sys.path.insert(0, _HERE)
import dq_runtime  # noqa: E402
from compare_outputs import parse_runner_output  # noqa: E402


def parse_shape(text):
    return [int(d) for d in text.lower().split("x")]


def _run(cmd, **kwargs):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          **kwargs)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode("utf-8", "replace")[-4000:])
        raise SystemExit("FAIL: %s exited with %d" % (cmd[0], proc.returncode))
    return proc.stdout


def _hex_literal(array):
    """Exact dense literal: the little-endian bytes of the float32 values."""
    return '"0x' + np.ascontiguousarray(array, "<f4").tobytes().hex().upper() + '"'


def run_with_mlir_runner(mlir_path, function, inputs, opt_level="O0"):
    """Adds a @main that calls `function` on each input and prints the
    result, lowers with dq-lower-to-llvm and runs it with mlir-runner."""
    dq_opt = dq_runtime.find_dq_opt()
    llvm_bin = os.environ.get("DQ_LLVM_BIN", "/usr/lib/llvm-22/bin")
    # Printed by dq-opt: no locations, `module {` on its first line.
    text = _run([dq_opt, mlir_path]).decode("utf-8")
    signature = re.search(r"func\.func @%s\((%%\w+): (tensor<[^>]*>)[^)]*\)"
                          r" -> (tensor<[^>]*>)" % re.escape(function), text)
    if not signature:
        raise SystemExit("FAIL: no func.func @%s(tensor) -> tensor" % function)
    in_type, out_type = signature.group(2), signature.group(3)
    out_memref = out_type.replace("tensor", "memref")
    main = ["  func.func @main() {"]
    for i, x in enumerate(inputs):
        nhwc = x.transpose(0, 2, 3, 1)
        main += [
            "    %%x%d = arith.constant dense<%s> : %s" % (i, _hex_literal(nhwc), in_type),
            "    %%r%d = call @%s(%%x%d) : (%s) -> %s" % (i, function, i, in_type, out_type),
            "    %%m%d = bufferization.to_buffer %%r%d : %s to %s" % (i, i, out_type, out_memref),
            "    %%u%d = memref.cast %%m%d : %s to memref<*xf32>" % (i, i, out_memref),
            "    call @printMemrefF32(%%u%d) : (memref<*xf32>) -> ()" % i,
        ]
    main += ["    return", "  }",
             "  func.func private @printMemrefF32(memref<*xf32>)"]
    first_newline = text.index("\n")
    if not text[:first_newline].rstrip().endswith("{"):
        raise SystemExit("FAIL: unexpected first line %r" % text[:first_newline])
    text = text[:first_newline + 1] + "\n".join(main) + "\n" + text[first_newline + 1:]
    with tempfile.TemporaryDirectory(prefix="dq_import_check_") as tmp:
        source = os.path.join(tmp, "main.mlir")
        with open(source, "w", encoding="utf-8") as f:
            f.write(text)
        lowered = os.path.join(tmp, "main.llvm.mlir")
        _run([dq_opt, source, "--dq-lower-to-llvm", "-o", lowered])
        libs = ",".join(os.path.join(os.path.dirname(llvm_bin), "lib", name)
                        for name in ("libmlir_runner_utils.so",
                                     "libmlir_c_runner_utils.so"))
        out = _run([os.path.join(llvm_bin, "mlir-runner"), "--" + opt_level,
                    "-e", "main",
                    "-entry-point-result=void", "-shared-libs=" + libs,
                    lowered]).decode("utf-8")
    outputs = []
    for chunk in out.split("Unranked Memref")[1:]:
        outputs.append(np.array(parse_runner_output("Unranked Memref" + chunk),
                                np.float32))
    if len(outputs) != len(inputs):
        raise SystemExit("FAIL: mlir-runner printed %d results for %d inputs"
                         % (len(outputs), len(inputs)))
    return outputs


def run_with_dq_runtime(mlir_path, function, inputs, cache_dir):
    """Compiles to a shared library with dq_runtime and calls it."""
    with tempfile.TemporaryDirectory(prefix="dq_import_check_") as tmp:
        module = dq_runtime.load(os.path.abspath(mlir_path),
                                 os.path.join(cache_dir or tmp, "model"))
        f = module[function]
        return [np.asarray(f(np.ascontiguousarray(x.transpose(0, 2, 3, 1))))
                for x in inputs]


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
    parser.add_argument("--runner", choices=("mlir-runner", "dq-runtime"),
                        default="mlir-runner",
                        help="mlir-runner JIT-compiles in memory (fast with "
                             "large weights); dq-runtime builds a shared "
                             "library through textual LLVM IR")
    parser.add_argument("--opt-level", choices=("O0", "O1", "O2", "O3"),
                        default="O0",
                        help="mlir-runner's optimization level (O0 compiles "
                             "large models about twice as fast)")
    parser.add_argument("--cache-dir", default=None,
                        help="where compiled code goes (default: a temporary "
                             "directory)")
    args = parser.parse_args()

    torch.set_num_threads(1)
    reference = torch.jit.load(args.torchscript).eval()
    rng = np.random.default_rng(args.seed)
    inputs = [rng.standard_normal(args.input_shape).astype(np.float32)
              for _ in range(args.inputs)]
    start = time.time()
    if args.runner == "mlir-runner":
        outputs = run_with_mlir_runner(args.mlir, args.function, inputs,
                                       args.opt_level)
    else:
        outputs = run_with_dq_runtime(args.mlir, args.function, inputs,
                                      args.cache_dir)
    compile_s = time.time() - start
    worst = 0.0
    for i, (x, actual) in enumerate(zip(inputs, outputs)):
        with torch.no_grad():
            expected = reference(torch.from_numpy(x)).numpy()
        if actual.size != expected.size:
            print("FAIL: output shape %s, PyTorch %s"
                  % (actual.shape, expected.shape))
            return 1
        actual = actual.reshape(expected.shape)
        diff = float(np.max(np.abs(actual - expected)))
        scale = max(float(np.max(np.abs(expected))), 1e-30)
        worst = max(worst, diff / scale)
        print("input %d: max |dq - torch| = %.3g, output scale %.3g, "
              "relative %.3g" % (i, diff, scale, diff / scale))
    print("compile + run %.1f s; worst relative difference %.3g (tolerance %g)"
          % (compile_s, worst, args.tolerance))
    if not worst <= args.tolerance:
        print("FAIL: the imported model does not match PyTorch")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
