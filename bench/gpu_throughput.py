#!/usr/bin/env python3
"""GPU training-step throughput: dq's compiled train_step (a GPU model from
dq-compile --target cuda) against the same step in PyTorch with the same
quantizers (bench/torch_gpu_step.py), eager and torch.compile, on the same
GPU in the same run. Prints median ms per step and the ratios
torch/dq (> 1: dq is faster).

The dq step is timed as the runtime calls it: state and batch copied from
the host, the step's kernels, the new state copied back (the calling
convention dq-train uses). The PyTorch step keeps its state on the GPU.

    gpu_throughput.py --model bundle/bench/resnet20-w2a2-b256/sm_90/model
"""

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for candidate in (os.path.join(ROOT, "python"), HERE):
    if os.path.isdir(os.path.join(candidate, "dq_runtime")) or \
            os.path.exists(os.path.join(candidate, "dq_packed.py")):
        sys.path.insert(0, candidate)
        break

import numpy as np  # noqa: E402

try:
    from dq_runtime.packed import PackedModel  # noqa: E402
except ImportError:
    from dq_packed import PackedModel  # noqa: E402


def describe_device(model_prefix):
    runtime = os.path.join(os.path.dirname(os.path.abspath(model_prefix)),
                           "libdq_cuda_runtime.so")
    try:
        lib = ctypes.CDLL(runtime)
        buffer = ctypes.create_string_buffer(512)
        lib.dqCudaDescribeDevice(buffer, ctypes.c_size_t(512))
        return buffer.value.decode()
    except OSError:
        return "unknown device"


def dq_times(args, prefix):
    t0 = time.perf_counter()
    model = PackedModel(prefix)
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng([args.seed, 1])
    images = rng.random(model.image_shape).astype(np.float32)
    labels = rng.integers(0, model.classes, model.batch).astype(np.int32)
    state = model.init_state()
    for i in range(args.warmup):
        state, loss, _ = model.train_step(state, images, labels, args.lr, i)
    ms = []
    for i in range(args.steps):
        t0 = time.perf_counter()
        state, loss, _ = model.train_step(state, images, labels, args.lr,
                                          args.warmup + i)
        ms.append((time.perf_counter() - t0) * 1e3)
    return model, ms, loss, load_s


def torch_times(args, batch, mode):
    cmd = [sys.executable, os.path.join(HERE, "torch_gpu_step.py"),
           "--arch", args.arch, "--batch", str(batch), "--mode", mode,
           "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--lr", str(args.lr), "--seed", str(args.seed)]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=args.torch_timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {args.torch_timeout} s"
    if args.log_dir:
        with open(os.path.join(args.log_dir, f"torch-{mode}.log"), "w") as f:
            f.write(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"failed: {tail}"
    result = json.loads(lines[-1])
    if "unavailable" in result:
        return None, result["unavailable"]
    return result, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, action="append",
                        help="GPU model prefix (dq-compile --target cuda); "
                        "repeat to time several builds side by side (ratios "
                        "are against the first); its folder names the row")
    parser.add_argument("--arch", default="resnet20",
                        help="the network the model was built from "
                        "(dq_reference.resnet)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch-timeout", type=int, default=420,
                        help="seconds for each PyTorch variant (torch.compile "
                        "compiles first)")
    parser.add_argument("--log-dir",
                        help="write each PyTorch variant's output there "
                        "(torch-<mode>.log)")
    parser.add_argument("--modes", default="eager,compile",
                        help="PyTorch variants to time (empty: dq only)")
    args = parser.parse_args()

    rows = []
    for prefix in args.model:
        model, dq_ms, dq_loss, load_s = dq_times(args, prefix)
        label = os.path.basename(os.path.dirname(os.path.abspath(prefix)))
        rows.append((f"dq {label}", dq_ms, f"loss {dq_loss:.4f}, "
                     f"model load {load_s:.1f} s"))
    device = describe_device(args.model[0])
    notes = []
    torch_version = "?"
    for mode in filter(None, args.modes.split(",")):
        result, why = torch_times(args, model.batch, mode)
        name = f"torch {mode}"
        if result is None:
            notes.append(f"{name}: {why}")
            continue
        torch_version = result.get("torch", torch_version)
        rows.append((name, result["ms"], f"loss {result['loss']:.4f}, "
                     f"warm-up {result['warmup_s']:.1f} s"))

    print(f"{args.arch} W2A2 train_step, batch {model.batch}, input "
          f"{'x'.join(map(str, model.image_shape[1:]))}, on {device}; "
          f"{args.steps} timed steps after {args.warmup} warm-up (median); "
          f"torch {torch_version}")
    print("{:<22} {:>10} {:>10} {:>9}  {}".format("variant", "median_ms",
                                                 "min_ms", "steps/s", ""))
    for name, ms, extra in rows:
        m = statistics.median(ms)
        print("{:<22} {:>10.2f} {:>10.2f} {:>9.1f}  {}".format(
            name, m, min(ms), 1e3 / m, extra))
    for note in notes:
        print("note: " + note)
    dq_name, dq_ms = rows[0][0], rows[0][1]
    dq_median = statistics.median(dq_ms)
    for name, ms, _ in rows[1:]:
        print(f"ratio {name} / {dq_name}: "
              f"{statistics.median(ms) / dq_median:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
