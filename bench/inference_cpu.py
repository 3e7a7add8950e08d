#!/usr/bin/env python3
"""Inference on the CPU: dq's bit-serial model against the same trained model
computed in float by dq and by PyTorch, side by side in one run.

For each precision (--precisions, e.g. W1A2 W2A2 W4A4), batch (--batches)
and thread count (--threads):
  1. python/tools/make_example_model.py --arch A gives the network (TOSA);
     dq-opt --dq-quantize --dq-build-training-graph, then
     --dq-build-inference-graph batch=B (bit-serial) and the same with
     bit-serial=false (the decoded float model: same constants, batch norm
     folded), each compiled with dq-compile;
  2. dq-run --bench --json --threads T times each (warm-up, median);
  3. PyTorch fp32: the same network as an nn.Module (python/tools/
     export_torch_model.py's BasicBlock, shapes of make_example_model) in
     eval mode under torch.no_grad(): eager contiguous, eager
     channels-last and torch.jit.optimize_for_inference (frozen TorchScript,
     batch norm folded, oneDNN), the fastest of the three reported (the
     best a PyTorch user would deploy), torch.set_num_threads(T), same
     batch, median of --runs calls.
The weights are the model's initial state: the work per image does not
depend on the values. Reported: median ms per batch, ms per image, and the
ratios torch_fp32 / dq_bitserial and dq_float / dq_bitserial (> 1: the
bit-serial model is faster).

    bench/inference_cpu.py --arch resnet20 --precisions W1A2 W2A2 W4A4 \\
        --batches 1 128 --threads 1 2
    bench/inference_cpu.py --arch tiny --precisions W2A2 --batches 2 --runs 3

--baseline-compiler PATH also compiles the same bit-serial module with
another dq-compile (an earlier build) and times it in the same run: a
before/after column and its ratio (> 1: this build is faster). --rounds N
times the dq libraries N times in turn (this build, the baseline, the
float model, again) and reports the median of the rounds' medians: on a
noisy VM a single series of each can differ by 30 % from the next.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python", "tools"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import make_example_model  # noqa: E402
from export_torch_model import BasicBlock  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def check_run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if proc.returncode != 0:
        sys.exit("bench: {} failed:\n{}{}".format(" ".join(cmd), proc.stdout, proc.stderr))
    return proc.stdout


class Net(nn.Module):
    """make_example_model's network (stem, stages, avgpool, fc) in PyTorch."""

    def __init__(self, arch, classes=10):
        super().__init__()
        stem, stages = make_example_model.ARCHS[arch]
        self.conv1 = nn.Conv2d(1, stem, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        blocks, planes = [], stem
        for width, count, stride in stages:
            for i in range(count):
                blocks.append(BasicBlock(planes, width, stride if i == 0 else 1))
                planes = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(planes, classes)

    def forward(self, x):
        x = self.blocks(self.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


def time_torch(arch, batch, threads, runs, warmup):
    """Median ms of the fastest of three ways to run the model: eager
    (contiguous), eager channels-last, and TorchScript's
    optimize_for_inference (frozen, batch norm folded, oneDNN layouts)."""
    torch.set_num_threads(threads)
    best = None
    for variant in ("eager", "channels-last", "optimize_for_inference"):
        net = Net(arch).eval()
        x = torch.rand(batch, 1, 28, 28)
        with torch.no_grad():
            if variant == "channels-last":
                net = net.to(memory_format=torch.channels_last)
                x = x.contiguous(memory_format=torch.channels_last)
            elif variant == "optimize_for_inference":
                net = torch.jit.optimize_for_inference(torch.jit.script(net))
            times = []
            for i in range(warmup + runs):
                start = time.perf_counter()
                net(x)
                if i >= warmup:
                    times.append((time.perf_counter() - start) * 1e3)
        median = statistics.median(times)
        if best is None or median < best[0]:
            best = (median, variant)
    return best


def build(args, work, precision, batch):
    """The bit-serial and the decoded float inference libraries."""
    w_bits, a_bits = precision[1:].split("A")
    train = os.path.join(work, "{}.train.mlir".format(precision))
    if not os.path.exists(train):
        model = os.path.join(work, "model.mlir")
        if not os.path.exists(model):
            with open(model, "w") as f:
                f.write(make_example_model.emit(args.arch, args.train_batch, 2020))
        check_run([args.dq_opt, model, "--dq-quantize=w-bits={} a-bits={}".format(w_bits, a_bits),
                   "--dq-build-training-graph", "-o", train])
    prefixes = {}
    for kind, bit_serial in (("bitserial", "true"), ("float", "false")):
        mlir = os.path.join(work, "{}.b{}.{}.mlir".format(precision, batch, kind))
        check_run([args.dq_opt, train, "--dq-build-inference-graph=batch={} bit-serial={}".format(
            batch, bit_serial), "-o", mlir])
        prefix = mlir[:-len(".mlir")]
        start = time.time()
        check_run([args.dq_compile, mlir, "-o", prefix])
        log("  compiled {} in {:.1f} s, {} bytes".format(os.path.basename(prefix), time.time() - start,
                                                         os.path.getsize(prefix + ".so")))
        prefixes[kind] = prefix
        if kind == "bitserial" and args.baseline_compiler:
            baseline = prefix + ".baseline"
            check_run([args.baseline_compiler, mlir, "-o", baseline, "--no-cache"])
            prefixes["baseline"] = baseline
    return prefixes


def time_dq(args, prefix, threads):
    out = check_run([args.dq_run, prefix, "--bench", "--json", "--threads", str(threads),
                     "--bench-runs", str(args.runs), "--bench-warmup", str(args.warmup)])
    return json.loads(out.strip().splitlines()[-1])["median_ms"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="resnet20", choices=sorted(make_example_model.ARCHS))
    parser.add_argument("--precisions", nargs="+", default=["W1A2", "W2A2", "W4A4"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 128])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1,
                        help="time the dq libraries this many times in turn (median of the medians)")
    parser.add_argument("--train-batch", type=int, default=128,
                        help="batch of the training graph the models come from")
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--baseline-compiler", metavar="PATH",
                        help="another dq-compile (an earlier build): its bit-serial library is timed "
                             "in the same run")
    parser.add_argument("--work", help="directory for the compiled models (default: a temporary one)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    for p in args.precisions:
        if not (p.startswith("W") and "A" in p):
            parser.error("precision {!r}: expected WxAy, e.g. W2A2".format(p))
    args.dq_opt, args.dq_compile, args.dq_run = (os.path.join(args.bin, t) for t in
                                                 ("dq-opt", "dq-compile", "dq-run"))
    work = args.work or tempfile.mkdtemp(prefix="dq-inference-bench-")
    os.makedirs(work, exist_ok=True)
    log("bench: work directory {}".format(work))

    rows = []
    for precision in args.precisions:
        for batch in args.batches:
            log("bench: {} batch {}".format(precision, batch))
            prefixes = build(args, work, precision, batch)
            for threads in args.threads:
                kinds = [k for k in ("bitserial", "baseline", "float") if k in prefixes]
                series = {k: [] for k in kinds}
                for _ in range(args.rounds):
                    for k in kinds:
                        series[k].append(time_dq(args, prefixes[k], threads))
                medians = {k: statistics.median(v) for k, v in series.items()}
                bits, decoded = medians["bitserial"], medians["float"]
                baseline = medians.get("baseline")
                torch_ms, layout = time_torch(args.arch, batch, threads, args.runs, args.warmup)
                rows.append((precision, batch, threads, bits, baseline, decoded, torch_ms, layout))
                log("  {} threads: bit-serial {:.3f} ms{}, dq float {:.3f} ms, torch {:.3f} ms ({})".format(
                    threads, bits, "" if baseline is None else " (baseline {:.3f} ms)".format(baseline),
                    decoded, torch_ms, layout))

    compare = args.baseline_compiler is not None
    print("| precision | batch | threads | dq bit-serial ms (ms/image) | "
          + ("baseline bit-serial ms | baseline / this | " if compare else "")
          + "dq decoded float ms | PyTorch fp32 ms | torch / bit-serial | dq float / bit-serial |")
    print("|---" * (10 if compare else 8) + "|")
    for precision, batch, threads, bits, baseline, decoded, torch_ms, layout in rows:
        before = "{:.2f} | {:.2f} | ".format(baseline, baseline / bits) if compare else ""
        print("| {} | {} | {} | {:.2f} ({:.3f}) | {}{:.2f} | {:.2f} ({}) | {:.2f} | {:.2f} |".format(
            precision, batch, threads, bits, bits / batch, before, decoded, torch_ms,
            layout, torch_ms / bits, decoded / bits))


if __name__ == "__main__":
    main()
