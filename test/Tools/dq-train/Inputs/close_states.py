"""Compares two dq state files (checkpoints, final states) of the same model
tensor by tensor, for the data-parallel test: N processes with batch B
against one process with batch N*B.

The two runs add the same terms in other orders, so they agree to rounding
only until a rounding difference moves a value across a kink: a ReLU at 0,
the straight-through clip at an activation quantizer's top level, a level
midpoint. Each such crossing changes one element's gradient term, which is
why the comparison is normwise per tensor (||a - b|| <= tol * ||b||) and
not elementwise. Tensors whose exact value is rounding noise (the biases of
convolutions followed by batch norm: their gradient is zero in exact
arithmetic) are skipped by --skip. Codes are compared exactly.

With --metrics MA MB (the runs' metrics.jsonl), the first step's loss must
agree to 1e-5 relative and its `correct` count exactly: that step starts
from the same state, so only its forward's summation order differs.

usage: close_states.py A B [--tol T] [--skip REGEX] [--metrics MA MB];
exit 1 on a mismatch.
"""
import argparse
import json
import re
import sys

import numpy as np

from dq_runtime.statefile import read_state_file  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--skip", default="")
    p.add_argument("--metrics", nargs=2)
    args = p.parse_args()
    failed = []
    if args.metrics:
        first = []
        for path in args.metrics:
            with open(path) as f:
                steps = [json.loads(l) for l in f if '"kind":"step"' in l]
            first.append(steps[0])
        (ma, mb) = first
        print("first step: loss %.9g and %.9g, accuracy %g and %g"
              % (ma["loss"], mb["loss"], ma["accuracy"], mb["accuracy"]))
        if abs(ma["loss"] - mb["loss"]) > 1e-5 * abs(mb["loss"]):
            failed.append("the first step's losses differ")
        if ma["accuracy"] != mb["accuracy"]:
            failed.append("the first step's correct counts differ")
    a = read_state_file(args.a)[2]
    b = read_state_file(args.b)[2]
    if [t.name for t in a] != [t.name for t in b]:
        print("the state files hold different tensors")
        return 1
    skip = re.compile(args.skip) if args.skip else None
    worst, compared = 0.0, 0
    for x, y in zip(a, b):
        if skip and skip.search(x.name):
            continue
        X = np.asarray(x.data, dtype=np.float64)
        Y = np.asarray(y.data, dtype=np.float64)
        compared += 1
        if x.dtype.startswith("i") or x.dtype.startswith("u"):
            if (X != Y).any():
                failed.append("%s: %d codes differ" % (x.name, (X != Y).sum()))
            continue
        norm = np.linalg.norm(Y)
        error = np.linalg.norm(X - Y) / norm if norm > 0 else np.linalg.norm(X)
        worst = max(worst, error)
        if not error <= args.tol:
            failed.append("%s: normwise relative difference %.3g" % (x.name, error))
    print("compared %d tensors; worst normwise relative difference %.3g"
          % (compared, worst))
    for line in failed:
        print("MISMATCH " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
