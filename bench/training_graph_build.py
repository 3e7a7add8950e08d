#!/usr/bin/env python3
"""Times dq-opt building the training graph of a ResNet, stage by stage.

Generates the model (python/tools/make_example_model.py), then runs, each
`--repeat` times, and reports the median wall time of:
    parse + print             dq-opt model.mlir                (baseline)
    quantize                  --dq-quantize
    build training graph      --dq-build-training-graph (on the quantized IR)
    lower to LLVM             --dq-lower-to-llvm (on the training graph)
The training-graph figure minus the parse+print of its input is the cost of
the pass itself. Target (docs/TrainingGraph.md): well under 2 s for
ResNet-20 at batch 128.

    bench/training_graph_build.py --arch resnet20 --batch 128
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          universal_newlines=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("bench: {} failed:\n{}".format(" ".join(cmd), proc.stderr))
    return elapsed


def median_time(cmd, repeat):
    return statistics.median(run(cmd) for _ in range(repeat))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="resnet20")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dq-opt", default=os.path.join(ROOT, "build", "bin", "dq-opt"))
    parser.add_argument("--skip-lowering", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.mlir")
        quantized = os.path.join(tmp, "quantized.mlir")
        training = os.path.join(tmp, "training.mlir")
        subprocess.run([sys.executable, os.path.join(ROOT, "python", "tools", "make_example_model.py"),
                        "--arch", args.arch, "--batch", str(args.batch), "-o", model], check=True)
        subprocess.run([args.dq_opt, model, "--dq-quantize", "-o", quantized], check=True)
        subprocess.run([args.dq_opt, quantized, "--dq-build-training-graph", "-o", training], check=True)
        rows = [
            ("parse + print (model)", [args.dq_opt, model, "-o", os.devnull]),
            ("quantize", [args.dq_opt, model, "--dq-quantize", "-o", os.devnull]),
            ("parse + print (quantized)", [args.dq_opt, quantized, "-o", os.devnull]),
            ("build training graph", [args.dq_opt, quantized, "--dq-build-training-graph", "-o", os.devnull]),
        ]
        if not args.skip_lowering:
            rows.append(("lower to LLVM (training graph)",
                         [args.dq_opt, training, "--dq-lower-to-llvm", "-o", os.devnull]))
        print("{} batch {}, median of {} runs on this machine:".format(args.arch, args.batch, args.repeat))
        times = {}
        for label, cmd in rows:
            times[label] = median_time(cmd, args.repeat)
            print("  {:32s} {:8.3f} s".format(label, times[label]))
        own = times["build training graph"] - times["parse + print (quantized)"]
        print("  {:32s} {:8.3f} s  (build minus parse + print of its input)".format("training-graph pass", own))


if __name__ == "__main__":
    main()
