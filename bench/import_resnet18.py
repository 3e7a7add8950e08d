#!/usr/bin/env python3
"""Times dq-import of torchvision's ResNet-18 (target: under 5 s).

    /usr/bin/python3 bench/import_resnet18.py [--repeat 5] [--input-shape 1x3x224x224]

Exports the traced model once (seeded random weights, 11.7M parameters),
then runs dq-import `--repeat` times for the text and the bytecode output
and prints the median wall time of the whole process (LibTorch start-up
included), the peak resident memory, the output size and dq-import's own
per-phase timing (--timing) of the last run. `--model` picks another model
of python/tools/export_torch_model.py (the lit test runs LeNet-5 once, so
the script cannot rot).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_import(dq_import, model, shape, output, extra, tmp):
    """(wall seconds, peak RSS in KB, --timing report) of one run."""
    cmd = [dq_import, model, "--input-shape", shape, "-o", output,
           "--timing"] + extra
    log = os.path.join(tmp, "stderr.txt")
    with open(log, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    with open(log, "r", encoding="utf-8", errors="replace") as f:
        report = f.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(report)
        raise SystemExit("dq-import failed: " + " ".join(cmd))
    return wall, usage.ru_maxrss, report


def phases(report):
    """(seconds, name) rows of an MLIR timing report."""
    rows = []
    for line in report.splitlines():
        m = re.match(r"\s*([0-9.]+) \(\s*[0-9.]+%\)\s+(.+)$", line)
        if m and m.group(2) not in ("Total",):
            rows.append((float(m.group(1)), m.group(2)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--input-shape", default="1x3x224x224")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dq-import",
                        default=os.path.join(ROOT, "build", "bin", "dq-import"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dq_import_bench_") as tmp:
        model = os.path.join(tmp, args.model + ".pt")
        subprocess.run([sys.executable,
                        os.path.join(ROOT, "python", "tools",
                                     "export_torch_model.py"),
                        "--model", args.model, "--mode", "trace",
                        "--seed", str(args.seed), "--input-shape",
                        args.input_shape, "-o", model], check=True)
        print("dq-import %s (traced, %.1f MB), input %s, median of %d runs"
              % (args.model, os.path.getsize(model) / 1e6, args.input_shape,
                 args.repeat))
        for label, suffix, extra in (("text", ".mlir", []),
                                     ("bytecode", ".mlirbc", ["--emit-bytecode"])):
            output = os.path.join(tmp, args.model + suffix)
            walls, report, peak = [], "", 0
            for _ in range(args.repeat):
                wall, rss, report = run_import(args.dq_import, model,
                                               args.input_shape, output, extra,
                                               tmp)
                walls.append(wall)
                peak = max(peak, rss)
            print("  %-8s %6.2f s wall (min %.2f, max %.2f), peak RSS %.0f MB, "
                  "output %.1f MB" % (label, statistics.median(walls),
                                      min(walls), max(walls), peak / 1024.0,
                                      os.path.getsize(output) / 1e6))
            for seconds, name in phases(report):
                print("      %6.3f s  %s" % (seconds, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
