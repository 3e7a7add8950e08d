"""Compares two dq state files (checkpoints, final states) of the same model
tensor by tensor, for the data-parallel test: N processes with batch B
against one process with batch N*B built with replica-batch=B.

Such a pair computes the same sums in the same order (dq-block-batch-sums
and the ordered all-reduce of the runtime), so every tensor must hold the
same bits: any difference is reported, with the tensor's normwise relative
difference (||a - b|| / ||b||) to say how far apart the runs went.

With --metrics MA MB (the runs' metrics.jsonl), every step's loss and
accuracy must be the same too.

usage: close_states.py A B [--metrics MA MB]; exit 1 on a difference.
"""
import argparse
import json
import sys

import numpy as np

from dq_runtime.statefile import read_state_file  # noqa: E402


def steps(path):
    with open(path) as f:
        return [json.loads(l) for l in f if '"kind":"step"' in l]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--metrics", nargs=2)
    args = p.parse_args()
    failed = []
    if args.metrics:
        (sa, sb) = (steps(path) for path in args.metrics)
        if len(sa) != len(sb) or not sa:
            failed.append("the runs took %d and %d steps" % (len(sa), len(sb)))
        for (ma, mb) in zip(sa, sb):
            if (ma["loss"], ma["accuracy"]) != (mb["loss"], mb["accuracy"]):
                failed.append("step %d: loss %.9g and %.9g, accuracy %g and %g"
                              % (ma["step"], ma["loss"], mb["loss"],
                                 ma["accuracy"], mb["accuracy"]))
        print("%d steps; last loss %.9g and %.9g"
              % (len(sa), sa[-1]["loss"] if sa else float("nan"),
                 sb[-1]["loss"] if sb else float("nan")))
    a = read_state_file(args.a)[2]
    b = read_state_file(args.b)[2]
    if [t.name for t in a] != [t.name for t in b]:
        print("the state files hold different tensors")
        return 1
    worst, same = 0.0, 0
    for x, y in zip(a, b):
        X = np.asarray(x.data)
        Y = np.asarray(y.data)
        if X.dtype == Y.dtype and X.tobytes() == Y.tobytes():
            same += 1
            continue
        X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
        norm = np.linalg.norm(Y64)
        error = np.linalg.norm(X64 - Y64) / norm if norm > 0 else np.inf
        worst = max(worst, error)
        failed.append("%s: %d of %d values differ, normwise relative "
                      "difference %.3g" % (x.name, int((X64 != Y64).sum()),
                                           X.size, error))
    print("%d of %d tensors the same bits; worst normwise relative "
          "difference %.3g" % (same, len(a), worst))
    for line in failed:
        print("MISMATCH " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
