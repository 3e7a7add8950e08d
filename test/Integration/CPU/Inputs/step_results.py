"""step_results.py: the results of a compiled training step, saved and compared.

  step_results.py dump PREFIX OUT.npz   init_state, two train steps on
                                        pseudo-random batches, predict
  step_results.py same A.npz B.npz      bit-identical
  step_results.py close A.npz B.npz [--tolerance T]
                                        every value within T of the other,
                                        relative to the value's largest
                                        magnitude or to 0.01 if that is
                                        smaller (two lowerings that sum in
                                        different orders; a bias before a
                                        batch norm has a zero gradient, and
                                        its values are rounding noise)
"""
import argparse
import sys

import numpy as np

from dq_runtime.packed import PackedModel


def dump(prefix, out):
    model = PackedModel(prefix)
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal(model.image_shape).astype(np.float32),
                rng.integers(0, model.classes, model.batch).astype(np.int32))
               for _ in range(2)]
    state = model.init_state()
    values = [np.asarray(v) for v in state]
    for step, (images, labels) in enumerate(batches):
        state, loss, correct = model.train_step(state, images, labels, 0.05, step)
        values += [np.asarray(v) for v in state]
        values += [np.float32(loss), np.int32(correct)]
    values.append(np.asarray(model.predict(state, batches[0][0])))
    np.savez(out, *values)


def load(path):
    with np.load(path) as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["dump", "same", "close"])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    if args.mode == "dump":
        dump(args.a, args.b)
        return
    a, b = load(args.a), load(args.b)
    if len(a) != len(b):
        sys.exit(f"{len(a)} values against {len(b)}")
    worst = 0.0
    for i, (x, y) in enumerate(zip(a, b)):
        if x.shape != y.shape or x.dtype != y.dtype:
            sys.exit(f"value {i}: {x.dtype}{x.shape} against {y.dtype}{y.shape}")
        if args.mode == "same":
            if x.tobytes() != y.tobytes():
                sys.exit(f"value {i} differs")
            continue
        if x.dtype.kind in "iu":
            # Integers (correct counts, codes): equal.
            if not np.array_equal(x, y):
                sys.exit(f"value {i}: integers differ")
            continue
        scale = max(float(np.max(np.abs(x))), 0.01) if x.size else 1.0
        error = float(np.max(np.abs(x.astype(np.float64) - y))) / scale if x.size else 0.0
        if not error <= args.tolerance:
            sys.exit(f"value {i}: relative difference {error:.3g} > {args.tolerance}")
        worst = max(worst, error)
    print(f"{args.mode}: {len(a)} values" +
          (f", largest relative difference {worst:.2g}" if args.mode == "close" else ""))


if __name__ == "__main__":
    main()
