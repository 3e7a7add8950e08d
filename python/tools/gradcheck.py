#!/usr/bin/env python3
"""Checks the reverse-mode gradient of every function in an MLIR file
against central finite differences of the compiled function.

For each function f (one tensor result), `dq-opt --dq-differentiate` builds
f_vjp; both are compiled to native code (python/dq_runtime). With seeded
random inputs x and output weights dy, the gradient of g(x) = sum(dy * f(x))
from f_vjp is compared, element by element, with (g(x + h e) - g(x - h e)) /
2h computed in float64 from the float32 function.

Elements where f is not differentiable (a ReLU or max-pool kink inside
[x - h, x + h]) are recognized by their second difference and skipped; at
least 75% of the elements of every input must be checked.

Tolerance: |fd - grad| <= atol + rtol * |grad| (defaults 2e-3, 1e-2: float32
rounding of g divided by 2h dominates).

Usage: gradcheck.py FILE.mlir [--dq-opt PATH] [--seed N] [--max-elements N]
Prints one line per function and a summary; exits 1 if any check fails.
"""

import argparse
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dq_runtime  # noqa: E402


def function_names(text):
    return [m.group(1) for m in re.finditer(r"func\.func\s+@([\w.$]+)\s*\(", text)
            if not m.group(1).endswith("_vjp")]


def differentiate_all(path, names, dq_opt):
    pipeline = "builtin.module({})".format(",".join(
        "dq-differentiate{{func={}}}".format(n) for n in names))
    proc = subprocess.run([dq_opt, path, "--pass-pipeline=" + pipeline],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if proc.returncode != 0:
        sys.exit("gradcheck: dq-differentiate failed:\n" + proc.stderr)
    return proc.stdout


def weighted_sum(f, args, dy):
    y = f(*args)
    return float(np.sum(dy.astype(np.float64) * np.asarray(y, np.float64)))


def check_function(module, name, rng, opts):
    f = getattr(module, name)
    vjp = getattr(module, name + "_vjp")
    args = []
    for t in f.args:
        if t.dtype.kind != "f":
            raise SystemExit("gradcheck: @{} takes a non-float argument".format(name))
        args.append(rng.uniform(-1.0, 1.0, t.shape).astype(t.dtype))
    y = f(*args)
    dy = rng.standard_normal(np.shape(y)).astype(np.float32)
    grads = vjp(*args, dy)
    if not isinstance(grads, tuple):
        grads = (grads,)
    # --corrupt scales the gradients: the checker must then fail (self-test).
    grads = tuple(g * np.float32(opts.corrupt) for g in grads)
    h = opts.step
    failures, checked, skipped, worst = [], 0, 0, 0.0
    for i, (x, g) in enumerate(zip(args, grads)):
        flat = x.reshape(-1)
        indices = np.arange(flat.size)
        if flat.size > opts.max_elements:
            indices = rng.choice(flat.size, opts.max_elements, replace=False)
        local_checked = local_skipped = 0
        for j in indices:
            saved = flat[j]
            values = []
            for delta in (h, 0.0, -h):
                flat[j] = saved + delta
                values.append(weighted_sum(f, args, dy))
            flat[j] = saved
            plus, mid, minus = values
            if abs(plus - 2 * mid + minus) > 0.1 * h:
                local_skipped += 1
                continue
            local_checked += 1
            fd = (plus - minus) / (2 * h)
            got = float(g.reshape(-1)[j])
            err = abs(fd - got)
            worst = max(worst, err)
            if err > opts.atol + opts.rtol * abs(got):
                failures.append("arg {} element {}: gradient {:.6g}, finite "
                                "difference {:.6g}".format(i, j, got, fd))
        if local_checked < 0.75 * len(indices):
            failures.append("arg {}: only {} of {} elements differentiable "
                            "at the sample point".format(i, local_checked,
                                                         len(indices)))
        checked += local_checked
        skipped += local_skipped
    status = "FAIL" if failures else "PASS"
    print("{} @{}: {} elements checked, {} skipped at kinks, max |error| "
          "{:.2e}".format(status, name, checked, skipped, worst))
    for line in failures[:10]:
        print("    " + line)
    return not failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--dq-opt", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step", type=float, default=1e-2)
    parser.add_argument("--atol", type=float, default=2e-3)
    parser.add_argument("--rtol", type=float, default=1e-2)
    parser.add_argument("--max-elements", type=int, default=160)
    parser.add_argument("--corrupt", type=float, default=1.0,
                        help="scale the computed gradients (self-test)")
    opts = parser.parse_args()
    dq_opt = dq_runtime.find_dq_opt(opts.dq_opt)
    with open(opts.file) as f:
        text = f.read()
    names = function_names(text)
    if not names:
        sys.exit("gradcheck: no functions in " + opts.file)
    module = dq_runtime.load(differentiate_all(opts.file, names, dq_opt))
    rng = np.random.default_rng(opts.seed)
    failed = [n for n in names if not check_function(module, n, rng, opts)]
    print("gradcheck: {} functions, {} failed".format(len(names), len(failed)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
