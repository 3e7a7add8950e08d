#!/usr/bin/env python3
"""The accuracy table: fp32 and every weight x activation scheme at several
bit widths, trained by dq on Fashion-MNIST with the same seeds and epochs,
side by side (docs/Algorithm.md, evaluation protocol).

For each configuration and seed:
  1. python/tools/make_example_model.py --arch A --batch B --seed S (the
     same initial network for every scheme of a seed);
  2. dq-opt [--dq-quantize="w-bits=.. a-bits=.. w-scheme=.. a-scheme=.."]
     --dq-build-training-graph, then dq-compile;
  3. dq-train --epochs E --seed S (cosine schedule from --lr, augmentation)
     and its metrics.jsonl (test accuracy after every epoch).
Every finished run is appended to <work>/runs.jsonl (or --runs-file), so an
interrupted table continues where it stopped (--work-dir); a run interrupted mid-way resumes
from dq-train's last checkpoint (written after every epoch and on Ctrl-C),
bit for bit, when its settings are unchanged.

Fine-tuned rows (--finetune dq/dq,lqnets/lqnets): the recipe "fp32, then
low bits". Each starts from the fp32 row's final state of the same seed
(dq-opt --dq-init-from-state, then --dq-quantize latent-init=fp32) and
trains --epochs more epochs: 2 x --epochs in all, which the table says. At the end it writes the table
(--out, Markdown: scheme, bits, epochs, seeds, mean and spread of the final
test accuracy, device, wall time per run) and, when matplotlib is present,
PNG plots next to it: accuracy vs bits per scheme, and the test-accuracy
curves of the 2/2 row.

    # the full protocol (ResNet-20, 15 epochs; hours on a CPU)
    bench/accuracy.py --out docs/RESULTS.md
    # the table of record (docs/RESULTS.md): every bits row of dq/dq and
    # lqnets/lqnets first, then the other scheme pairs
    bench/accuracy.py --pairs dq/dq,lqnets/lqnets --epochs 1 \\
        --limit-train 30000 --out docs/RESULTS.md
    bench/accuracy.py --seeds-22 0 --epochs 1 --limit-train 30000 \\
        --out docs/RESULTS.md
    # the calibration setting of docs/Algorithm.md with its reference column
    bench/accuracy.py --preset calibration --out docs/RESULTS-calibration.md
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W_SCHEMES = ("dq", "dq-lean", "lqnets")
A_SCHEMES = ("dq", "lqnets")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kwargs)
    if proc.returncode != 0:
        sys.exit("accuracy: {} failed (exit {}):\n{}{}".format(
            " ".join(cmd), proc.returncode, proc.stdout[-4000:],
            proc.stderr[-4000:]))
    return proc.stdout


class Config:
    """One row of the table: fp32, or (w bits, a bits, w scheme, a scheme)."""

    def __init__(self, w_bits=None, a_bits=None, w_scheme=None, a_scheme=None,
                 finetune=False):
        self.w_bits, self.a_bits = w_bits, a_bits
        self.w_scheme, self.a_scheme = w_scheme, a_scheme
        # Starts from the fp32 row's final state of the same seed.
        self.finetune = finetune

    @property
    def fp32(self):
        return self.w_bits is None

    @property
    def key(self):
        if self.fp32:
            return "fp32"
        key = f"w{self.w_bits}a{self.a_bits}-{self.w_scheme}-{self.a_scheme}"
        return key + ("-ft" if self.finetune else "")

    @property
    def scheme(self):
        if self.fp32:
            return "fp32"
        text = f"{self.w_scheme} / {self.a_scheme}"
        return text + (", fine-tuned from fp32" if self.finetune else "")

    @property
    def bits(self):
        return "32/32" if self.fp32 else f"{self.w_bits}/{self.a_bits}"


def split_schemes(text):
    """'dq-lean-lqnets' -> ('dq-lean', 'lqnets')."""
    for w in sorted(W_SCHEMES, key=len, reverse=True):
        if text.startswith(w + "-") and text[len(w) + 1:] in A_SCHEMES:
            return w, text[len(w) + 1:]
    raise ValueError(text)


def parse_bits(text):
    pairs = []
    for item in text.split(","):
        w, _, a = item.partition("/")
        try:
            pairs.append((int(w), int(a)))
        except ValueError:
            sys.exit(f"accuracy: --bits expects W/A pairs like 2/2, got '{item}'")
        if not (1 <= pairs[-1][0] <= 8 and 1 <= pairs[-1][1] <= 8):
            sys.exit(f"accuracy: bits must be 1 to 8, got '{item}'")
    return pairs


def parse_list(text, allowed, option):
    items = [t for t in text.split(",") if t]
    for t in items:
        if t not in allowed:
            sys.exit(f"accuracy: {option}: unknown '{t}' "
                     f"(expected {', '.join(allowed)})")
    return items


def parse_seeds(text, option):
    try:
        return [int(s) for s in text.split(",") if s]
    except ValueError:
        sys.exit(f"accuracy: {option} expects comma-separated integers")


def parse_pairs(text, option):
    """'dq/dq,lqnets/lqnets' -> [('dq', 'dq'), ('lqnets', 'lqnets')]."""
    pairs = []
    for pair in text.split(","):
        w_scheme, _, a_scheme = pair.partition("/")
        parse_list(w_scheme, W_SCHEMES, f"{option} (weights)")
        parse_list(a_scheme, A_SCHEMES, f"{option} (activations)")
        pairs.append((w_scheme, a_scheme))
    return pairs


# docs/Algorithm.md's calibration points: an independent PyTorch
# implementation, ResNet-8, 20k training / 4k test images, 6 epochs, W2A2.
CALIBRATION = {
    ("fp32", 0): 84.8,
    ("w2a2-lqnets-lqnets", 0): 82.8, ("w2a2-lqnets-lqnets", 1): 83.4,
    ("w2a2-lqnets-dq", 0): 83.2,
    ("w2a2-dq-lean-lqnets", 0): 82.5,
    ("w2a2-dq-lqnets", 0): 84.7,
    ("w2a2-dq-dq", 0): 84.0, ("w2a2-dq-dq", 1): 83.2,
}


def apply_preset(args):
    if args.preset == "calibration":
        args.arch, args.batch, args.epochs, args.lr = "resnet8", 128, 6, 0.1
        args.limit_train, args.limit_test = 20000, 4000


def plan(args):
    """(config, seed) pairs in table order."""
    if args.preset == "calibration":
        work = []
        for key, seed in CALIBRATION:
            if key == "fp32":
                work.append((Config(), seed))
            else:
                w_scheme, a_scheme = split_schemes(key.split("-", 1)[1])
                work.append((Config(2, 2, w_scheme, a_scheme), seed))
        return work
    seeds = parse_seeds(args.seeds, "--seeds")
    seeds22 = parse_seeds(args.seeds_22, "--seeds-22") if args.seeds_22 \
        else seeds
    work = []
    if not args.no_fp32:
        work += [(Config(), s) for s in seeds22]
    if args.pairs:
        pairs = parse_pairs(args.pairs, "--pairs")
    else:
        pairs = [(w, a)
                 for w in parse_list(args.w_schemes, W_SCHEMES, "--w-schemes")
                 for a in parse_list(args.a_schemes, A_SCHEMES, "--a-schemes")]
    finetuned = parse_pairs(args.finetune, "--finetune") if args.finetune \
        else []
    if finetuned and args.no_fp32:
        sys.exit("accuracy: --finetune starts from the fp32 rows: drop "
                 "--no-fp32")
    for w_bits, a_bits in parse_bits(args.bits):
        row_seeds = seeds22 if (w_bits, a_bits) == (2, 2) else seeds
        for w_scheme, a_scheme in pairs:
            cfg = Config(w_bits, a_bits, w_scheme, a_scheme)
            work += [(cfg, s) for s in row_seeds]
        for w_scheme, a_scheme in finetuned:
            missing = [s for s in row_seeds if s not in seeds22]
            if missing:
                sys.exit(f"accuracy: --finetune at {w_bits}/{a_bits} needs "
                         f"the fp32 run of seed {missing[0]} (fp32 runs the "
                         "--seeds-22 seeds)")
            cfg = Config(w_bits, a_bits, w_scheme, a_scheme, finetune=True)
            work += [(cfg, s) for s in row_seeds]
    # Every row's first seed before any second seed: an interrupted table
    # still has every row.
    first = seeds22[0] if seeds22 else None
    work.sort(key=lambda item: item[1] != first and item[1] not in seeds)
    return work


def settings(args):
    """What must match for a stored run to count for this table."""
    return {"arch": args.arch, "batch": args.batch, "epochs": args.epochs,
            "lr": args.lr, "limit_train": args.limit_train,
            "limit_test": args.limit_test, "device": args.device}


def train_one(args, cfg, seed, work):
    bindir = os.path.join(args.build, "bin")
    run_dir = os.path.join(work, f"{cfg.key}-s{seed}")
    os.makedirs(run_dir, exist_ok=True)
    model = os.path.join(work, f"model-{args.arch}-b{args.batch}-s{seed}.mlir")
    if not os.path.exists(model):
        run([sys.executable,
             os.path.join(ROOT, "python", "tools", "make_example_model.py"),
             "--arch", args.arch, "--batch", str(args.batch), "--seed",
             str(seed), "-o", model])
    t0 = time.perf_counter()
    train_mlir = os.path.join(run_dir, "train.mlir")
    passes = []
    if cfg.finetune:
        start = os.path.join(work, f"fp32-s{seed}")
        state = os.path.join(start, "run", "final.state")
        if not os.path.exists(state):
            sys.exit(f"accuracy: {cfg.key} seed {seed} starts from {state}, "
                     "which the fp32 run of that seed writes; it is missing")
        passes.append("--dq-init-from-state=manifest=" +
                      os.path.join(start, "model.manifest.json") +
                      f" state={state}")
    if not cfg.fp32:
        passes.append(f"--dq-quantize=w-bits={cfg.w_bits} a-bits={cfg.a_bits} "
                      f"w-scheme={cfg.w_scheme} a-scheme={cfg.a_scheme}" +
                      (" latent-init=fp32" if cfg.finetune else ""))
    passes.append(f"--dq-build-training-graph=seed={seed}")
    run([os.path.join(bindir, "dq-opt"), model, *passes, "-o", train_mlir])
    prefix = os.path.join(run_dir, "model")
    compile_cmd = [os.path.join(bindir, "dq-compile"), train_mlir, "-o", prefix]
    if args.device != "cpu":
        compile_cmd += ["--target", args.device]
    run(compile_cmd)
    compiled = time.perf_counter()
    out = os.path.join(run_dir, "run")
    metrics = os.path.join(out, "metrics.jsonl")
    checkpoint = os.path.join(out, "checkpoint.state")
    # A checkpoint of this very run (same settings, same compiled model)
    # continues it; anything else starts over.
    identity = {"settings": settings(args), "config": cfg.key, "seed": seed,
                "module": open(prefix + ".manifest.json").read()}
    identity_path = os.path.join(run_dir, "run-identity.json")
    resume = False
    if os.path.exists(checkpoint) and os.path.exists(identity_path):
        with open(identity_path) as f:
            resume = json.load(f) == identity
    if not resume:
        for stale in (metrics, checkpoint):
            if os.path.exists(stale):
                os.remove(stale)
        with open(identity_path, "w") as f:
            json.dump(identity, f)
    train_cmd = [os.path.join(bindir, "dq-train"), prefix,
                 "--epochs", str(args.epochs), "--lr", str(args.lr),
                 "--seed", str(seed), "--out", out, "--no-progress"]
    if resume:
        log(f"    resuming from {checkpoint}")
        train_cmd += ["--resume", checkpoint]
    if args.stop_after_steps is not None:
        train_cmd += ["--stop-after-steps", str(args.stop_after_steps)]
    if args.limit_train:
        train_cmd += ["--limit-train", str(args.limit_train)]
    if args.limit_test:
        train_cmd += ["--limit-test", str(args.limit_test)]
    if args.threads:
        train_cmd += ["--threads", str(args.threads)]
    if args.device != "cpu":
        train_cmd += ["--device", args.device]
    if args.data:
        train_cmd += ["--data", args.data]
    run(train_cmd)
    done = time.perf_counter()
    with open(metrics) as f:
        # The epoch lines (dq-train also writes a header and step lines).
        curve = [e for e in (json.loads(line) for line in f if line.strip())
                 if e.get("kind", "epoch") == "epoch"]
    if len(curve) != args.epochs:
        sys.exit(f"accuracy: {metrics} has {len(curve)} epochs, expected "
                 f"{args.epochs}")
    return {"config": cfg.key, "scheme": cfg.scheme, "bits": cfg.bits,
            "seed": seed, "settings": settings(args),
            "final_test_accuracy": curve[-1]["test_accuracy"],
            "test_accuracy_curve": [e["test_accuracy"] for e in curve],
            "train_loss_curve": [e["train_loss"] for e in curve],
            "compile_seconds": compiled - t0, "train_seconds": done - compiled}


def load_runs(path, wanted):
    runs = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if r.get("settings") == wanted:
                    runs[(r["config"], r["seed"])] = r
    return runs


def describe_machine(args):
    if args.device != "cpu":
        return args.device
    cpus = os.cpu_count()
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    threads = args.threads or cpus
    return f"CPU ({model}, {threads} of {cpus} threads)"


def public_argv(argv):
    """The command line without machine-local paths (work dir, output)."""
    local = ("--work-dir", "--out", "--build", "--data", "--note",
             "--runs-file")
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in local:
            skip = True
        elif a == "--table-only":
            continue
        elif not a.startswith(tuple(o + "=" for o in local)):
            out.append(a)
    return out


def write_table(args, work_plan, runs, path):
    s = settings(args)
    rows = []
    seen = set()
    for cfg, _ in work_plan:
        if cfg.key in seen:
            continue
        seen.add(cfg.key)
        done = [r for (key, _), r in sorted(runs.items()) if key == cfg.key]
        rows.append((cfg, done))
    calibration = args.preset == "calibration"
    lines = [
        "# Accuracy: dq vs LQ-Nets vs fp32",
        "",
        "Written by `bench/accuracy.py` (rerun it to reproduce; finished runs "
        "are kept in its work directory). Every row trains the same initial "
        "network per seed with the same data order, augmentation and "
        "schedule; only the quantization schemes and bits differ.",
        "",
        f"Setting: {s['arch']}, batch {s['batch']}, {s['epochs']} "
        f"epoch{'s' if s['epochs'] != 1 else ''}, "
        f"cosine schedule from lr {s['lr']}, SGD momentum 0.9, weight decay "
        f"5e-4, Fashion-MNIST "
        f"({s['limit_train'] or 60000} training / {s['limit_test'] or 10000} "
        f"test images), pad-2 crop + flip augmentation. Device: "
        f"{describe_machine(args)}.",
        "",
        "Command: `" + " ".join(["bench/accuracy.py"] + public_argv(args.argv))
        + "`",
        "",
    ] + ([args.note, ""] if args.note else []) + [
        "| weights / activations | W/A bits | epochs | seeds | test accuracy "
        "(mean) | spread (min–max) | wall time per run |" +
        (" reference (docs/Algorithm.md) |" if calibration else ""),
        "|---|---|---|---|---|---|---|" + ("---|" if calibration else ""),
    ]
    for cfg, done in rows:
        epochs = (f"{s['epochs']} after {s['epochs']} fp32" if cfg.finetune
                  else str(s['epochs']))
        if not done:
            lines.append(f"| {cfg.scheme} | {cfg.bits} | {epochs} | — | "
                         "not run | | |" + (" |" if calibration else ""))
            continue
        accs = [100 * r["final_test_accuracy"] for r in done]
        secs = [r["compile_seconds"] + r["train_seconds"] for r in done]
        spread = (f"{min(accs):.2f}–{max(accs):.2f}" if len(accs) > 1
                  else "one seed")
        row = (f"| {cfg.scheme} | {cfg.bits} | {epochs} | "
               f"{','.join(str(r['seed']) for r in done)} | "
               f"{statistics.mean(accs):.2f}% | {spread} | "
               f"{statistics.mean(secs) / 60:.1f} min |")
        if calibration:
            refs = [CALIBRATION[(cfg.key, r["seed"])] for r in done
                    if (cfg.key, r["seed"]) in CALIBRATION]
            row += (f" {statistics.mean(refs):.2f}% (seeds "
                    f"{','.join(str(r['seed']) for r in done)}) |"
                    if refs else " |")
        lines.append(row)
    plots = write_plots(args, rows, os.path.dirname(path) or ".")
    if plots:
        lines += ["", "Plots:", ""] + [f"![{title}]({name})"
                                       for title, name in plots]
    text = "\n".join(lines) + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return text


def write_plots(args, rows, out_dir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("accuracy: matplotlib not found; no plots")
        return []
    stem = os.path.splitext(os.path.basename(args.out))[0].lower()
    plots = []
    fig = ax = None

    def save(title, suffix, legend_size):
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(title)
        ax.legend(fontsize=legend_size)
        ax.grid(alpha=0.3)
        name = f"{stem}-{suffix}.png"
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, name), dpi=100)
        plt.close(fig)
        plots.append((title, name))
    # Accuracy vs bits, one line per scheme (mean over seeds).
    fig, ax = plt.subplots(figsize=(6, 4))
    by_scheme = {}
    fp32 = None
    for cfg, done in rows:
        if not done:
            continue
        mean = statistics.mean(100 * r["final_test_accuracy"] for r in done)
        if cfg.fp32:
            fp32 = mean
        else:
            by_scheme.setdefault(cfg.scheme, []).append((cfg.w_bits, mean))
    for scheme, points in sorted(by_scheme.items()):
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                label=scheme)
    if fp32 is not None:
        ax.axhline(fp32, color="gray", linestyle="--", label="fp32")
    ax.set_xticks(sorted({b for pts in by_scheme.values() for b, _ in pts}))
    ax.set_xlabel("weight bits (activation bits alike, 1/2 at 1)")
    save("Fashion-MNIST test accuracy vs bits", "accuracy-vs-bits", 8)
    # Training curves of the 2/2 row and fp32, every seed (per epoch: none
    # from one-epoch runs).
    if all(len(r["test_accuracy_curve"]) <= 1 for _, done in rows
           for r in done):
        return plots
    fig, ax = plt.subplots(figsize=(6, 4))
    for cfg, done in rows:
        if cfg.fp32 or (cfg.w_bits, cfg.a_bits) == (2, 2):
            for r in done:
                curve = [100 * a for a in r["test_accuracy_curve"]]
                ax.plot(range(1, len(curve) + 1), curve, marker=".",
                        label=f"{cfg.scheme} s{r['seed']}")
    ax.set_xlabel("epoch")
    save("Test accuracy per epoch (W2A2 and fp32)", "curves-w2a2", 7)
    return plots


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--arch", default="resnet20",
                        choices=("resnet20", "resnet8", "small"))
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--bits", default="1/2,2/2,3/3,4/4",
                        help="W/A bit pairs, comma-separated")
    parser.add_argument("--w-schemes", default=",".join(W_SCHEMES))
    parser.add_argument("--a-schemes", default=",".join(A_SCHEMES))
    parser.add_argument("--pairs", default="",
                        help="weight/activation scheme pairs to run, e.g. "
                        "dq/dq,lqnets/lqnets (default: every --w-schemes x "
                        "--a-schemes pair)")
    parser.add_argument("--no-fp32", action="store_true")
    parser.add_argument("--finetune", default="",
                        help="scheme pairs (e.g. dq/dq,lqnets/lqnets) that "
                        "also get a row fine-tuned from the fp32 row's final "
                        "state of the same seed, at every --bits pair")
    parser.add_argument("--stop-after-steps", type=int, default=None,
                        help=argparse.SUPPRESS)  # tests: interrupt dq-train
    parser.add_argument("--seeds", default="0", help="seeds of every row")
    parser.add_argument("--seeds-22", default="0,1",
                        help="seeds of the 2/2 row and fp32 (at least two, "
                        "so differences can be told from noise)")
    parser.add_argument("--limit-train", type=int, default=0)
    parser.add_argument("--limit-test", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--data", help="dataset directory for dq-train")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--work-dir", default=os.path.join(
        ROOT, "build", "bench-accuracy"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs",
                                                      "RESULTS.md"))
    parser.add_argument("--runs-file",
                        help="where finished runs are recorded and read "
                        "(default: runs.jsonl in the work directory); a file "
                        "kept in the repository (e.g. next to --out) keeps a "
                        "long table's finished rows when the work directory "
                        "is lost with its machine")
    parser.add_argument("--preset", choices=("calibration",),
                        help="calibration: docs/Algorithm.md's calibration "
                        "runs (ResNet-8, 20k/4k images, 6 epochs, W2A2, the "
                        "scheme pairs and seeds it reports) with its "
                        "reference accuracies side by side")
    parser.add_argument("--table-only", action="store_true",
                        help="write the table from the finished runs in the "
                        "work directory; train nothing")
    parser.add_argument("--note", default="",
                        help="a paragraph for the table's header (e.g. what "
                        "else the machine was doing)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the runs and exit")
    args = parser.parse_args()
    args.argv = sys.argv[1:]
    apply_preset(args)
    if args.epochs < 1 or args.batch < 1:
        sys.exit("accuracy: --epochs and --batch must be positive")

    work_plan = plan(args)
    if args.dry_run:
        for cfg, seed in work_plan:
            print(f"{cfg.key} seed {seed}")
        return 0
    os.makedirs(args.work_dir, exist_ok=True)
    runs_path = args.runs_file or os.path.join(args.work_dir, "runs.jsonl")
    if os.path.dirname(runs_path):
        os.makedirs(os.path.dirname(runs_path), exist_ok=True)
    runs = load_runs(runs_path, settings(args))
    todo = [(c, s) for c, s in work_plan if (c.key, s) not in runs]
    log(f"accuracy: {len(work_plan)} runs, {len(work_plan) - len(todo)} "
        f"already done in {runs_path}")
    if args.table_only:
        todo = []
    started = time.perf_counter()
    for i, (cfg, seed) in enumerate(todo):
        elapsed = time.perf_counter() - started
        eta = (f", ETA {elapsed / i * (len(todo) - i) / 60:.0f} min"
               if i else "")
        log(f"[{i + 1}/{len(todo)}] {cfg.key} seed {seed}{eta}")
        r = train_one(args, cfg, seed, args.work_dir)
        log(f"    test accuracy {100 * r['final_test_accuracy']:.2f}% "
            f"({(r['compile_seconds'] + r['train_seconds']) / 60:.1f} min)")
        runs[(cfg.key, seed)] = r
        with open(runs_path, "a") as f:
            f.write(json.dumps(r) + "\n")
        write_table(args, work_plan, runs, args.out)
    print(write_table(args, work_plan, runs, args.out), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
