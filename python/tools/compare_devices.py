#!/usr/bin/env python3
"""Runs a GPU model (dq-compile --target cuda) and the CPU build of the same
training module side by side and checks that they agree.

Both start from the CPU model's init_state; each step feeds both the same
seeded batch. Checked, with the tolerances below (printed with the worst
errors seen):

  init_state   the GPU's equals the CPU's exactly (it is constants);
  predict      on the initial state: |gpu - cpu| <= 1e-4 * (1 + |cpu|)
               (the same loops; only libdevice vs libm math may differ);
  train_step   per step: loss within 1e-3 * (1 + |loss|), `correct` equal;
               per state tensor: the float tensors within 2e-3 * (1 + |cpu|)
               for at least 99% of the elements and the i8 weight codes
               equal for at least 99% — after the last step, or with
               --per-step after every step, each step then starting both
               builds from the CPU's state.

Why --per-step for quantized models: the GPU sums large reductions (batch
statistics, weight gradients, quantizer fits) in another order, which moves
results by float rounding; a 2-bit quantizer turns such a difference into a
different code now and then, and over several steps the two trainings
drift apart like two seeds would. Starting every step from the same state
checks each step's arithmetic; an fp32 model (no quantizers, continuous)
can be checked over several steps.

Exit status 1 on any mismatch (0 with --report-only).

    compare_devices.py --cpu out/cpu/model --gpu out/gpu/model --steps 5
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
for candidate in (os.path.join(os.path.dirname(HERE)), HERE):
    if os.path.isdir(os.path.join(candidate, "dq_runtime")):
        sys.path.insert(0, candidate)
        break

import numpy as np  # noqa: E402

try:
    from dq_runtime.packed import PackedModel  # noqa: E402
except ImportError:  # a bundle: packed.py copied next to this script
    from dq_packed import PackedModel  # noqa: E402

LOSS_TOL = 1e-3
PREDICT_TOL = 1e-4
STATE_TOL = 2e-3
STATE_FRACTION = 0.99


def batch(model, rng):
    images = rng.random(model.image_shape).astype(np.float32)
    labels = rng.integers(0, model.classes, model.batch).astype(np.int32)
    return images, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu", required=True, help="CPU model prefix")
    parser.add_argument("--gpu", required=True, help="GPU model prefix")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-step", action="store_true",
                        help="start every step of both builds from the CPU's "
                        "state and compare every step's new state")
    parser.add_argument("--report-only", action="store_true",
                        help="print the comparison, exit 0 regardless")
    args = parser.parse_args()

    cpu, gpu = PackedModel(args.cpu), PackedModel(args.gpu)
    if gpu.device != "cuda":
        sys.exit(f"{args.gpu}.manifest.json: device is '{gpu.device}', "
                 "expected 'cuda'")
    if [s.name for s in cpu.state_specs] != [s.name for s in gpu.state_specs]:
        sys.exit("the two models have different state lists (not built from "
                 "the same training module)")
    failures = []

    cpu_state = cpu.init_state()
    gpu_init = gpu.init_state()
    for spec, a, b in zip(cpu.state_specs, cpu_state, gpu_init):
        if not np.array_equal(a, b):
            failures.append(f"init_state: {spec.name} differs")
    print(f"init_state: {len(cpu_state)} tensors, "
          f"{'identical' if not failures else 'DIFFERENT'}")

    rng = np.random.default_rng([args.seed, 7])
    images, _ = batch(cpu, rng)
    cpu_logits = cpu.predict(cpu_state, images)
    gpu_logits = gpu.predict(cpu_state, images)
    err = np.abs(gpu_logits - cpu_logits) / (1 + np.abs(cpu_logits))
    print(f"predict: max relative error {err.max():.2e} (tolerance "
          f"{PREDICT_TOL:.0e})")
    if not err.max() <= PREDICT_TOL:
        failures.append(f"predict: max relative error {err.max():.2e}")

    def compare_states(label, cpu_state, gpu_state):
        """Appends failures; returns (tensor, fraction, error) of the worst."""
        worst = ("-", 2.0, 0.0)
        for spec, a, b in zip(cpu.state_specs, cpu_state, gpu_state):
            if a.size == 0:
                continue
            if a.dtype == np.int8:
                agree = np.mean(a == b)
                error = float(np.mean(a != b))
            else:
                rel = np.abs(b.astype(np.float64) - a) / (1 + np.abs(a))
                agree = np.mean(rel <= STATE_TOL)
                error = float(rel.max())
            if agree < worst[1] or (agree == worst[1] and error > worst[2]):
                worst = (spec.name, agree, error)
            if agree < STATE_FRACTION:
                failures.append(f"{label}: state {spec.name}: only "
                                f"{agree:.2%} of the elements agree (worst "
                                f"error {error:.2e})")
        return worst

    gpu_state = [t.copy() for t in cpu_state]
    print(("per step, both from the CPU's state\n" if args.per_step else "") +
          f"{'step':>4} {'cpu loss':>12} {'gpu loss':>12} {'cpu ok':>6} "
          f"{'gpu ok':>6}  worst state tensor")
    for step in range(args.steps):
        images, labels = batch(cpu, rng)
        if args.per_step:
            gpu_state = cpu_state
        new_cpu, cpu_loss, cpu_correct = cpu.train_step(
            cpu_state, images, labels, args.lr, step)
        gpu_state, gpu_loss, gpu_correct = gpu.train_step(
            gpu_state, images, labels, args.lr, step)
        cpu_state = new_cpu
        worst = ""
        if args.per_step or step == args.steps - 1:
            name, fraction, error = compare_states(f"step {step}", cpu_state,
                                                   gpu_state)
            worst = (f"{name} ({fraction:.2%} within tolerance, worst error "
                     f"{error:.2e})")
        print(f"{step:>4} {cpu_loss:>12.6f} {gpu_loss:>12.6f} "
              f"{cpu_correct:>6} {gpu_correct:>6}  {worst}")
        if not abs(gpu_loss - cpu_loss) <= LOSS_TOL * (1 + abs(cpu_loss)):
            failures.append(f"step {step}: loss {gpu_loss} vs {cpu_loss}")
        if gpu_correct != cpu_correct:
            failures.append(f"step {step}: correct {gpu_correct} vs "
                            f"{cpu_correct}")

    if failures:
        print("MISMATCH:\n  " + "\n  ".join(failures[:40]) +
              (f"\n  ... and {len(failures) - 40} more"
               if len(failures) > 40 else ""))
        return 0 if args.report_only else 1
    print("GPU and CPU agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
