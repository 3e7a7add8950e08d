#!/usr/bin/env python3
"""Compile time and peak memory of dq from a PyTorch model to native code.

For each model (TorchScript exported by python/tools/export_torch_model.py,
seeded random weights), every stage runs as its own process and is measured
with wait4 (wall seconds, CPU seconds, peak resident memory of that
process; CPU seconds are the figure to compare on a busy machine):
  import     dq-import model.pt --input-shape NxCxHxW
  quantize   dq-opt --dq-quantize="w-bits=2 a-bits=2"
  training   dq-opt --dq-build-training-graph
  compile    dq-compile (lowering, LLVM -O2 for this CPU, link) -> model.so
             (--no-cache), once per --variant
  cached     with --cached: dq-compile again into a fresh --cache-dir, then
             the timed run, a cache hit
Prints one row per model and stage, then the totals. The export itself
(PyTorch) is not timed.

    bench/compile.py                                  # resnet20, resnet18, mobilenet_v2
    bench/compile.py --models resnet20 --batch 8      # quicker
    bench/compile.py --variant "unsplit=--ops-per-function 0" --variant default=
                                                      # before/after rows
    bench/compile.py --compiler before=old/bin/dq-compile --variant after=
                                                      # against an earlier build
"""

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Input (C, H, W) per model: CIFAR-sized ResNet-20, ImageNet-style
# networks at 64x64 (their layers do not depend on the image size).
INPUTS = {"resnet20": (3, 32, 32), "resnet18": (3, 64, 64),
          "mobilenet_v2": (3, 64, 64), "lenet5": (1, 28, 28),
          "alexnet": (3, 64, 64)}


def measured(cmd, log_path):
    """Runs cmd (output to log_path); returns (wall seconds, CPU seconds
    (user + system), peak RSS MiB) of that process, from wait4. Exits on
    failure."""
    with open(log_path, "w") as log:
        t0 = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, log.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, log.fileno(), 2)])
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        with open(log_path) as f:
            sys.exit("compile-bench: {} failed (exit {}):\n{}".format(
                " ".join(cmd), code, f.read()[-4000:]))
    return (seconds, usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024.0)  # ru_maxrss is in KiB on Linux


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--models", default="resnet20,resnet18,mobilenet_v2")
    parser.add_argument("--batch", type=int, default=32,
                        help="batch of the imported model and training step")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--work-dir", help="keep the files here")
    parser.add_argument(
        "--variant", action="append", metavar="NAME=ARGS",
        help="a compile row named compile:NAME with these extra dq-compile "
             "arguments (repeatable; default: one row, no extra arguments)")
    parser.add_argument(
        "--compiler", action="append", metavar="NAME=PATH",
        help="a compile row named compile:NAME run by this dq-compile instead "
             "of the build's (e.g. a copy of an earlier build's bin/ and lib/, "
             "for before/after rows in one run; repeatable)")
    parser.add_argument("--cached", action="store_true",
                        help="also time a cached recompile (a cache hit)")
    args = parser.parse_args()
    variants = []
    for v in args.variant or []:
        name, sep, extra = v.partition("=")
        if not sep or not name:
            sys.exit(f"compile-bench: --variant '{v}': expected NAME=ARGS")
        variants.append((f"compile:{name}", None, shlex.split(extra)))
    for c in args.compiler or []:
        name, sep, path = c.partition("=")
        if not sep or not name or not os.access(path, os.X_OK):
            sys.exit(f"compile-bench: --compiler '{c}': expected NAME=PATH of "
                     "an executable dq-compile")
        variants.append((f"compile:{name}", os.path.abspath(path), []))
    if not variants:
        variants = [("compile", None, [])]
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in INPUTS:
            sys.exit(f"compile-bench: unknown model '{m}' "
                     f"(expected {', '.join(sorted(INPUTS))})")
    bindir = os.path.join(args.build, "bin")
    for tool in ("dq-import", "dq-opt", "dq-compile"):
        if not os.access(os.path.join(bindir, tool), os.X_OK):
            sys.exit(f"compile-bench: {tool} not built in {bindir}")

    work = args.work_dir or tempfile.mkdtemp(prefix="dq-compile-bench-")
    os.makedirs(work, exist_ok=True)
    rows = []
    try:
        for model in models:
            c, h, w = INPUTS[model]
            shape = f"{args.batch}x{c}x{h}x{w}"
            pt = os.path.join(work, f"{model}.pt")
            subprocess.run(
                [sys.executable,
                 os.path.join(ROOT, "python", "tools", "export_torch_model.py"),
                 "--model", model, "--seed", "0", "--input-shape",
                 f"1x{c}x{h}x{w}", "-o", pt], check=True,
                stdout=subprocess.DEVNULL)
            imported = os.path.join(work, f"{model}.mlir")
            quantized = os.path.join(work, f"{model}.q.mlir")
            train = os.path.join(work, f"{model}.train.mlir")
            prefix = os.path.join(work, f"{model}")
            stages = [
                ("import", [os.path.join(bindir, "dq-import"), pt,
                            "--input-shape", shape, "-o", imported]),
                ("quantize", [os.path.join(bindir, "dq-opt"), imported,
                              "--dq-quantize=w-bits=2 a-bits=2", "-o",
                              quantized]),
                ("training", [os.path.join(bindir, "dq-opt"), quantized,
                              "--dq-build-training-graph", "-o", train]),
            ]
            compile_cmd = [os.path.join(bindir, "dq-compile"), train]
            # --no-cache: a cache hit would time a copy, not a compile.
            for name, tool, extra in variants:
                stages.append((name, ([tool, train] if tool else compile_cmd) + [
                    "-o", f"{prefix}.{name.replace(':', '-')}",
                    "--no-cache"] + extra))
            cache = os.path.join(work, f"{model}.cache")
            if args.cached:
                stages.append(("cached", compile_cmd + [
                    "-o", f"{prefix}.hit", "--cache-dir", cache]))
            for stage, cmd in stages:
                if stage == "cached":
                    # The entry the timed run finds: a first compile.
                    shutil.rmtree(cache, ignore_errors=True)
                    subprocess.run(compile_cmd + ["-o", f"{prefix}.miss",
                                                  "--cache-dir", cache],
                                   check=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                print(f"compile-bench: {model} {stage} ...", file=sys.stderr,
                      flush=True)
                seconds, cpu, mib = measured(
                    cmd, os.path.join(work, f"{model}.{stage}.log"))
                rows.append((model, shape, stage, seconds, cpu, mib))
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)

    print(f"dq compile time and peak memory, batch {args.batch}, "
          f"{os.cpu_count()} cpus")
    print("{:<13} {:<14} {:<18} {:>9} {:>9} {:>10}".format(
        "model", "input", "stage", "wall s", "cpu s", "peak MiB"))
    for model, shape, stage, seconds, cpu, mib in rows:
        print("{:<13} {:<14} {:<18} {:>9.2f} {:>9.2f} {:>10.0f}".format(
            model, shape, stage, seconds, cpu, mib))
    # Totals: the stages up to the training graph plus each compile row.
    for model in models:
        mine = [r for r in rows if r[0] == model]
        front = [r for r in mine if r[2] in ("import", "quantize", "training")]
        for r in mine:
            if r[2] in ("import", "quantize", "training", "cached"):
                continue
            label = "total" + r[2][len("compile"):]
            print("{:<13} {:<14} {:<18} {:>9.2f} {:>9.2f} {:>10.0f}".format(
                model, mine[0][1], label, sum(f[3] for f in front) + r[3],
                sum(f[4] for f in front) + r[4],
                max([f[5] for f in front] + [r[5]])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
