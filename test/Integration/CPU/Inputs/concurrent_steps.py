"""concurrent_steps.py PREFIX [--threads N]: the same training step and
prediction called from N threads at once on one opened model (ctypes lets
go of the GIL during each call) give the bytes that one call alone gives.
dq-static-buffers gives the step's temporaries to one call at a time and a
private arena to the others; a shared one would mix their values."""
import argparse
import sys
import threading

import numpy as np

from dq_runtime.packed import PackedModel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("prefix")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model = PackedModel(args.prefix, threads=1)
    rng = np.random.default_rng(0)
    state = model.init_state()
    inputs = [(rng.standard_normal(model.image_shape).astype(np.float32),
               rng.integers(0, model.classes, model.batch).astype(np.int32))
              for _ in range(args.threads)]

    def run(k):
        images, labels = inputs[k]
        after, loss, correct = model.train_step(state, images, labels, 0.05, 0)
        logits = model.predict(after, images)
        return [np.asarray(v) for v in after] + [np.float32(loss), logits]

    alone = [run(k) for k in range(args.threads)]
    for round in range(args.rounds):
        results = [None] * args.threads
        errors = []

        def worker(k):
            try:
                results[k] = run(k)
            except Exception as error:  # reported below, not lost in a thread
                errors.append(f"thread {k}: {error}")

        workers = [threading.Thread(target=worker, args=(k,))
                   for k in range(args.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        if errors:
            sys.exit("\n".join(errors))
        for k in range(args.threads):
            for i, (x, y) in enumerate(zip(alone[k], results[k])):
                if x.tobytes() != y.tobytes():
                    sys.exit(f"round {round}, thread {k}: value {i} differs "
                             "from the same call made alone")
    print(f"concurrent: {args.threads} threads x {args.rounds} rounds, "
          "same bytes as alone")


if __name__ == "__main__":
    main()
