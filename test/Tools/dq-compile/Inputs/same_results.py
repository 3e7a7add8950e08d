"""same_results.py PREFIX PREFIX...: every model computes bit-identical results
to the first: the initial state, two training steps on pseudo-random batches
and predict afterwards (dq-compile's output need not be byte-identical from
one compile to the next, its results must be)."""
import sys

import numpy as np

from dq_runtime.packed import PackedModel


def results(model, batches):
    state = model.init_state()
    values = list(state)
    for step, (images, labels) in enumerate(batches):
        state, loss, correct = model.train_step(state, images, labels, 0.05, step)
        values += list(state) + [np.float32(loss), np.int32(correct)]
    values.append(model.predict(state, batches[0][0]))
    return values


def main():
    models = [PackedModel(prefix) for prefix in sys.argv[1:]]
    first = models[0]
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal(first.image_shape).astype(np.float32),
                rng.integers(0, first.classes, first.batch).astype(np.int32))
               for _ in range(2)]
    expected = results(first, batches)
    for prefix, model in zip(sys.argv[2:], models[1:]):
        got = results(model, batches)
        for i, (a, b) in enumerate(zip(expected, got)):
            if np.asarray(a).tobytes() != np.asarray(b).tobytes():
                sys.exit(f"{prefix}: value {i} differs from {sys.argv[1]}'s")
    print(f"same results: {len(models)} models, {len(expected)} values each")


if __name__ == "__main__":
    main()
