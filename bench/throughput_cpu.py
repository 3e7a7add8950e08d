#!/usr/bin/env python3
"""Throughput on the CPU: dq's compiled train_step and predict against two
PyTorch peers, same network, same batch, same thread counts, side by side in
one run.

Peers (--peers, default both):
  idiomatic   bench/torch_idiomatic.py: the network as an nn.Module with the
              same LQ-Nets/DQ quantizers written as vectorized tensor code,
              torch.optim.SGD, custom autograd Functions for the
              straight-through estimators, no numpy in the step (checked to
              compute dq_reference's step by test/Bench/torch-idiomatic.test).
              This is the figure of record: what a PyTorch user gets.
              Layout --idiomatic-layout, default channels-last (NHWC memory
              format for the model and the images): the faster of the two
              here with PyTorch 1.13's oneDNN convolutions, 10-17 % on the
              ResNet-20 train_step, 2-10 % on predict (numbers in
              bench/torch_idiomatic.py's docstring).
  reference   python/dq_reference (training.train_step / predict): the
              project's numerics oracle, written for clarity (it converts
              the state between numpy and torch every step); kept as a
              second column.

For each precision (W2A2 and fp32 unless --precision says otherwise):
  1. the network comes from python/dq_reference/resnet.py, which gives both
     the reference training.Network and the TOSA MLIR dq-opt takes (the
     idiomatic model copies the same parameters; its initial state equals
     dq_reference.training.init_state's);
  2. dq-opt [--dq-quantize="w-bits=2 a-bits=2"] --dq-build-training-graph,
     then dq-compile -> .so/.manifest.json/.state;
  3. the compiled train_step (parallel: OpenMP) is timed through the
     runtime's C++ CompiledModel (bench/step_timer.cpp, built here with one
     `c++` command against build/runtime/libDQRuntime.a), one process per
     timed step with OMP_NUM_THREADS=T for each T in --threads: open +
     init_state + 1 untimed warm-up step + 1 timed step;
  4. each PyTorch peer's step is timed with torch.set_num_threads(T) for
     each T in --threads, after 1 warm-up step per thread count.
predict (inference-mode logits of the batch) is timed the same way
(step_timer -p; the idiomatic model in eval mode under no_grad;
dq_reference.training.predict). Timed calls are interleaved (dq T1,
idiomatic T1, reference T1, dq T2, ...) so machine noise hits every variant
alike. Reported: median (and min) ms per step and, per thread count, the
ratios idiomatic_ms / dq_ms (the figure of record) and reference_ms / dq_ms
(> 1: dq is faster).

Images and labels are a fixed seeded batch (uniform [0,1) pixels, random
labels), as in step_timer; the idiomatic peer gets them as tensors once,
before timing (as from a DataLoader).

    bench/throughput_cpu.py --arch resnet20 --batch 128 --steps 3
    bench/throughput_cpu.py --arch tiny --batch 2 --steps 1   # seconds
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from dq_reference import resnet as R  # noqa: E402
from dq_reference import training as T  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "bench"))
import torch_idiomatic as I  # noqa: E402

PEERS = ("idiomatic", "reference")
LAYOUTS = {"contiguous": torch.contiguous_format,
           "channels-last": torch.channels_last}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def check_run(cmd, env=None):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env)
    if proc.returncode != 0:
        sys.exit("bench: {} failed:\n{}{}".format(" ".join(cmd), proc.stdout,
                                                   proc.stderr))
    return proc.stdout


def build_step_timer(args, work):
    if args.step_timer:
        return args.step_timer
    exe = os.path.join(work, "step_timer")
    check_run([args.cxx, "-O2", "-std=c++17", "-I",
               os.path.join(ROOT, "runtime", "include"),
               os.path.join(ROOT, "bench", "step_timer.cpp"),
               os.path.join(args.build, "runtime", "libDQRuntime.a"),
               "-ldl", "-lz", "-o", exe])
    return exe


def compile_dq(args, net, precision, work):
    """dq-opt + dq-compile; returns the output prefix."""
    d = os.path.join(work, precision)
    os.makedirs(d, exist_ok=True)
    model = os.path.join(d, "model.mlir")
    train = os.path.join(d, "train.mlir")
    prefix = os.path.join(d, "model")
    text = R.emit_mlir(net, args.batch)
    # The compile options are part of what a kept model must match.
    text += "".join(f"// dq-compile {a}\n" for a in args.dq_compile_arg)
    bindir = os.path.join(args.build, "bin")
    compiler = os.path.join(bindir, "dq-compile")
    # A kept --work-dir reuses a model compiled from the same IR by the
    # same dq-compile binary.
    if (os.path.exists(prefix + ".so") and os.path.exists(model) and
            os.path.getmtime(prefix + ".so") > os.path.getmtime(compiler)):
        with open(model, encoding="utf-8") as f:
            if f.read() == text:
                log(f"  {precision}: reusing {prefix}.so")
                return prefix
    with open(model, "w", encoding="utf-8") as f:
        f.write(text)
    passes = []
    if precision != "fp32":
        w, a = bits(precision)
        passes.append(f"--dq-quantize=w-bits={w} a-bits={a}")
    passes.append("--dq-build-training-graph")
    t0 = time.perf_counter()
    check_run([os.path.join(bindir, "dq-opt"), model] + passes +
              ["-o", train])
    check_run([compiler, train, "-o", prefix] + args.dq_compile_arg)
    log(f"  {precision}: dq-opt + dq-compile {time.perf_counter() - t0:.1f} s")
    return prefix


def bits(precision):
    m = re.fullmatch(r"w(\d+)a(\d+)", precision)
    if not m:
        sys.exit(f"bench: precision must be fp32 or wNaM, got {precision}")
    return int(m.group(1)), int(m.group(2))


def dq_step_ms(step_timer, prefix, threads, entry):
    """One timed call (after one warm-up) of the compiled model, ms."""
    out = check_run([step_timer, "-n", "1", "-r", "1"] +
                    (["-p"] if entry == "predict" else []) + [prefix],
                    env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == prefix:
            return float(fields[1])
    sys.exit(f"bench: cannot parse step_timer output:\n{out}")


class ReferenceRunner:
    """dq_reference.training: train_step / predict on a numpy state."""

    def __init__(self, net, images, labels, lr):
        self.net, self.images, self.labels, self.lr = net, images, labels, lr
        self.state = T.init_state(net)
        self.step = 0

    def run(self, threads, entry="train_step"):
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        if entry == "predict":
            T.predict(self.net, self.state, self.images)
            return (time.perf_counter() - t0) * 1e3
        self.state, loss, _ = T.train_step(self.net, self.state, self.images,
                                           self.labels, self.lr, self.step)
        ms = (time.perf_counter() - t0) * 1e3
        self.step += 1
        self.loss = float(loss)
        return ms


class IdiomaticRunner:
    """bench/torch_idiomatic.py: nn.Module + torch.optim.SGD."""

    def __init__(self, arch, precision, seed, images, labels, lr, layout):
        fmt = LAYOUTS[layout]
        self.model = I.build(arch, precision, seed=seed, memory_format=fmt)
        self.optimizer = I.make_optimizer(self.model, lr)
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(
            memory_format=fmt)
        self.labels = torch.from_numpy(labels).long()

    def run(self, threads, entry="train_step"):
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        if entry == "predict":
            I.predict(self.model, self.images)
            return (time.perf_counter() - t0) * 1e3
        loss, _ = I.train_step(self.model, self.optimizer, self.images,
                               self.labels)
        ms = (time.perf_counter() - t0) * 1e3
        self.loss = float(loss)
        return ms


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="resnet20", choices=sorted(R.ARCHS))
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3,
                        help="timed steps per variant (after 1 warm-up)")
    parser.add_argument("--threads", default="1,2",
                        help="thread counts (dq and PyTorch alike), "
                        "comma-separated")
    parser.add_argument("--precision", default="w2a2,fp32",
                        help="comma-separated: wNaM and/or fp32")
    parser.add_argument("--entries", default="train_step,predict",
                        help="entry points to time: train_step and/or "
                        "predict")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help="PyTorch peers to time, comma-separated: "
                        "idiomatic (the figure of record) and/or reference")
    parser.add_argument("--idiomatic-layout", default="channels-last",
                        choices=sorted(LAYOUTS),
                        help="memory format of the idiomatic peer")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--cxx", default=os.environ.get("CXX", "c++"))
    parser.add_argument("--step-timer", help="prebuilt bench/step_timer")
    parser.add_argument("--dq-compile-arg", action="append", default=[],
                        help="an option for dq-compile, such as "
                        "--dq-compile-arg=--conv-library (repeatable)")
    parser.add_argument("--work-dir", help="keep compiled models here "
                        "(default: a temporary directory)")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    precisions = args.precision.split(",")
    entries = args.entries.split(",")
    peers = [p for p in args.peers.split(",") if p]
    for p in peers:
        if p not in PEERS:
            sys.exit(f"bench: unknown peer '{p}' (known: {', '.join(PEERS)})")
    peers = [p for p in PEERS if p in peers]  # report order
    for e in entries:
        if e not in ("train_step", "predict"):
            sys.exit(f"bench: unknown entry point '{e}'")

    work = args.work_dir or tempfile.mkdtemp(prefix="dq-throughput-")
    os.makedirs(work, exist_ok=True)
    try:
        step_timer = build_step_timer(args, work)
        rng = np.random.default_rng([args.seed, 1])
        images = rng.random(R.images_shape(args.batch)).astype(np.float32)
        labels = rng.integers(0, R.CLASSES, args.batch).astype(np.int32)
        fp_net = R.build_network(args.arch, args.batch, args.seed)
        results = []
        for precision in precisions:
            if precision == "fp32":
                net = fp_net
            else:
                w, a = bits(precision)
                net = R.quantized_network(fp_net, w, a)
            prefix = compile_dq(args, fp_net, precision, work)
            runners = {}
            if "idiomatic" in peers:
                runners["idiomatic"] = IdiomaticRunner(
                    args.arch, precision, args.seed, images, labels, args.lr,
                    args.idiomatic_layout)
            if "reference" in peers:
                runners["reference"] = ReferenceRunner(net, images, labels,
                                                       args.lr)
            for entry in entries:
                for t in threads:  # warm-up (dq warms up in each process)
                    for runner in runners.values():
                        runner.run(t, entry)
                dq_ms = {t: [] for t in threads}
                peer_ms = {p: {t: [] for t in threads} for p in runners}
                for _ in range(args.steps):
                    for t in threads:
                        dq_ms[t].append(dq_step_ms(step_timer, prefix, t,
                                                   entry))
                        for p, runner in runners.items():
                            peer_ms[p][t].append(runner.run(t, entry))
                results.append((f"{precision} {entry}", dq_ms, peer_ms))
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)

    print(f"{args.arch} batch {args.batch}, input 28x28x1, {args.steps} timed "
          f"steps per variant (median), torch {torch.__version__}, "
          f"{os.cpu_count()} cpus, idiomatic layout {args.idiomatic_layout}")
    print("{:<17} {:<26} {:>10} {:>10} {:>8}".format(
        "what", "variant", "median_ms", "min_ms", "calls/s"))
    for precision, dq_ms, peer_ms in results:
        for t in threads:
            rows = [(f"dq compiled ({t} thr)", dq_ms[t])]
            rows += [(f"torch {p} ({t} thr)", peer_ms[p][t]) for p in peers]
            for name, ms in rows:
                m = statistics.median(ms)
                print("{:<17} {:<26} {:>10.1f} {:>10.1f} {:>8.2f}".format(
                    precision, name, m, min(ms), 1e3 / m))
    print("ratios torch_ms / dq_ms (> 1: dq is faster); figure of record: "
          "idiomatic/dq")
    for precision, dq_ms, peer_ms in results:
        for t in threads:
            dq = statistics.median(dq_ms[t])
            cols = " ".join(
                f"{p}/dq: {statistics.median(peer_ms[p][t]) / dq:.2f}"
                for p in peers)
            print(f"ratio {precision} {t} thread{'s' if t > 1 else ''} "
                  f"{cols}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
