#!/usr/bin/env python3
"""Data-parallel training on one machine, and what it all-reduces.

1. Steps per second of the same W2A2 ResNet-20 training (Fashion-MNIST
   shape, global batch B) run two ways, side by side in one run:
     1 process x T threads   dq-train of the plain model, batch B
     P processes x 1 thread  mpirun -np P dq-train of the data-parallel
                             model, batch B / P each
   Each run trains --steps steps (dq-train --stop-after-steps, metrics
   every step); the rate is taken over the steps after the first two (the
   first touches every page). The order of the runs alternates over
   --rounds rounds; the median per configuration is reported.
2. The bytes and calls all-reduced per training step, from the lowered
   training graph (every dq.all_reduce of @train_step after
   convert-dq-to-linalg), for ResNet-20 and, with --models, the torchvision
   models of bench/compile.py.

    bench/data_parallel.py                       # both parts, ResNet-20
    bench/data_parallel.py --models resnet20,resnet18,mobilenet_v2 --no-timing

Needs mpirun (openmpi-bin) and a dq-train built with MPI.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_REDUCE = re.compile(
    r"dq\.all_reduce %\S+ (sum|mean) : tensor<((?:\d+x)*)(f32|f64|i32)>")
BYTES = {"f32": 4, "f64": 8, "i32": 4}
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_btl": "self,vader",
           "OMPI_MCA_rmaps_base_oversubscribe": "1"}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kw)


def training_module(bindir, work, model, batch, data_parallel):
    """The W2A2 training module of `model` at `batch`."""
    stem = os.path.join(work, f"{model}-b{batch}")
    if model == "resnet20":
        source = stem + ".mlir"
        run([sys.executable, os.path.join(ROOT, "python", "tools",
                                          "make_example_model.py"),
             "--arch", "resnet20", "--batch", str(batch), "-o", source])
    else:
        pt = os.path.join(work, f"{model}.pt")
        if not os.path.exists(pt):
            run([sys.executable, os.path.join(ROOT, "python", "tools",
                                              "export_torch_model.py"),
                 "--model", model, "--seed", "0", "--input-shape",
                 "1x3x64x64", "-o", pt])
        source = stem + ".mlir"
        run([os.path.join(bindir, "dq-import"), pt, "--input-shape",
             f"{batch}x3x64x64", "-o", source])
    train = stem + (".dp" if data_parallel else "") + ".train.mlir"
    graph = "--dq-build-training-graph" + (
        "=data-parallel=true" if data_parallel else "")
    run([os.path.join(bindir, "dq-opt"), source,
         "--dq-quantize=w-bits=2 a-bits=2", graph, "-o", train])
    return train


def all_reduced(bindir, train):
    """(calls, bytes) of @train_step's all-reduces."""
    lowered = run([os.path.join(bindir, "dq-opt"), train,
                   "--convert-dq-to-linalg"]).stdout
    body = lowered[lowered.index("func.func @train_step"):]
    body = body[:body.index("\n  func.func ", 1)] if "\n  func.func " in body[1:] else body
    calls, total, kinds = 0, 0, {}
    for reduction, dims, dtype in ALL_REDUCE.findall(body):
        n = 1
        for d in filter(None, dims.split("x")):
            n *= int(d)
        calls += 1
        total += n * BYTES[dtype]
        kinds[dtype] = kinds.get(dtype, 0) + n * BYTES[dtype]
    return calls, total, kinds


def rate(metrics_path, skip=2):
    times = [json.loads(l)["time"] for l in open(metrics_path)
             if '"kind":"step"' in l]
    if len(times) <= skip + 1:
        raise SystemExit(f"{metrics_path}: too few steps")
    return (len(times) - 1 - skip) / (times[-1] - times[skip])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=128, help="global batch")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--threads", type=int, default=2,
                   help="threads of the single process")
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--models", default="resnet20")
    p.add_argument("--no-timing", action="store_true")
    p.add_argument("--work-dir")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = p.parse_args()
    bindir = os.path.join(args.build, "bin")
    if args.batch % args.processes:
        raise SystemExit("--batch must be a multiple of --processes")
    work = args.work_dir or tempfile.mkdtemp(prefix="dq-data-parallel-")
    os.makedirs(work, exist_ok=True)

    print("## All-reduced per training step (W2A2, dq/dq)\n")
    print("| model | calls | bytes | of which f64 (level-fit histograms) |")
    print("|---|---|---|---|")
    for model in args.models.split(","):
        train = training_module(bindir, work, model, 32, True)
        calls, total, kinds = all_reduced(bindir, train)
        print(f"| {model} | {calls} | {total:,} | {kinds.get('f64', 0):,} |")
    print()
    if args.no_timing:
        return
    if not shutil.which("mpirun"):
        raise SystemExit("mpirun not found (openmpi-bin)")

    share = args.batch // args.processes
    plain = training_module(bindir, work, "resnet20", args.batch, False)
    parallel = training_module(bindir, work, "resnet20", share, True)
    libs = {}
    for name, train in (("plain", plain), ("parallel", parallel)):
        libs[name] = os.path.join(work, name)
        run([os.path.join(bindir, "dq-compile"), train, "-o", libs[name]])
    limit = args.batch * (args.steps + 1)
    common = ["--epochs", "1", "--limit-train", str(limit), "--limit-test",
              str(args.batch), "--no-progress", "--metrics-every", "1",
              "--stop-after-steps", str(args.steps)]
    single = f"1 process x {args.threads} threads"
    multi = f"{args.processes} processes x 1 thread"
    rates = {single: [], multi: []}
    for r in range(args.rounds):
        order = [single, multi] if r % 2 == 0 else [multi, single]
        for config in order:
            out = os.path.join(work, f"run-{r}-{config.split()[0]}")
            shutil.rmtree(out, ignore_errors=True)
            env = dict(os.environ)
            if config == single:
                cmd = [os.path.join(bindir, "dq-train"), libs["plain"],
                       "--threads", str(args.threads)]
            else:
                env.update(MPI_ENV)
                cmd = ["mpirun", "-x", "OMP_NUM_THREADS=1", "-np",
                       str(args.processes), os.path.join(bindir, "dq-train"),
                       libs["parallel"]]
            result = subprocess.run(cmd + common + ["--out", out], env=env,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            if result.returncode not in (0, 130):
                print(result.stdout)
                raise SystemExit(f"{config} failed")
            rates[config].append(rate(os.path.join(out, "metrics.jsonl")))
    print(f"## Steps per second, W2A2 ResNet-20, global batch {args.batch} "
          f"({args.rounds} rounds of {args.steps} steps, median)\n")
    print("| configuration | steps/s (median) | all rounds | ratio to 1 process |")
    print("|---|---|---|---|")
    base = statistics.median(rates[single])
    for config, values in rates.items():
        m = statistics.median(values)
        print(f"| {config} | {m:.3f} | "
              f"{', '.join(f'{v:.3f}' for v in values)} | {m / base:.2f} |")


if __name__ == "__main__":
    main()
