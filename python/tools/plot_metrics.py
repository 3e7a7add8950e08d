#!/usr/bin/env python3
"""Plots or summarizes the metrics of dq-train runs (their metrics.jsonl):

    plot_metrics.py run/ [other-run/metrics.jsonl ...] -o curves.png
    plot_metrics.py run/ --text

Each argument is a metrics.jsonl or a dq-train --out directory holding one.
The plot has two panels against --x (step, epoch or time): the train loss
and the train accuracy of the step lines (dq-train --metrics-every; the
epoch lines' train figures when a run has none) and the test accuracy after
every epoch, one colour per run; a dashed line marks where a run was resumed.
It needs matplotlib (Debian: python3-matplotlib); --text needs nothing and
prints, per run, its settings, progress, last losses and the test accuracy
of every epoch. Files of older dq-train versions (epoch lines only, several
runs appended to one file) are read too: every run in a file is its own.

Every line is checked: a JSON object with a run id and a known kind; a
number that is missing, not a number or not finite is an error naming the
file and line, except in the last line of a file a run is still writing.
"""
import argparse
import json
import math
import os
import sys

KINDS = ("run", "resume", "calibration", "step", "epoch")
SPARK = " .:-=+*#%@"


class MetricsError(Exception):
    pass


def metrics_path(arg):
    if os.path.isdir(arg):
        return os.path.join(arg, "metrics.jsonl")
    return arg


def number(row, key, where, required=True):
    if key not in row or row[key] is None:
        if required:
            raise MetricsError(f"{where}: no '{key}'")
        return None
    value = row[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise MetricsError(f"{where}: '{key}' is {json.dumps(value)}, not a "
                           "finite number")
    return value


class Run:
    def __init__(self, path, run_id):
        self.path, self.id = path, run_id
        self.header = {}
        self.resumes = []  # steps
        self.calibration = None  # dict: batches, test accuracy before/after
        self.steps = []    # dicts: step, epoch, loss, accuracy, lr, time
        self.epochs = []   # dicts: epoch, step, train_loss, train_accuracy,
        #                    test_accuracy, time (None when absent)

    def label(self, several):
        name = self.path
        if name.endswith("/metrics.jsonl"):
            name = name[:-len("/metrics.jsonl")]
        return f"{name} [{self.id}]" if several else name


def read_runs(path):
    """The runs of one file, in order of first appearance."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MetricsError(f"{path}: cannot read: {e.strerror}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MetricsError(f"{path}: not UTF-8 text (byte {e.start})")
    lines = text.split("\n")
    runs = {}
    for number_, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number_}"
        last = number_ == len(lines)  # no newline after it: being written
        try:
            row = json.loads(line)
        except ValueError:
            if last:
                break
            raise MetricsError(f"{where}: not JSON")
        if not isinstance(row, dict):
            raise MetricsError(f"{where}: not a JSON object")
        run_id = row.get("run")
        if not isinstance(run_id, str) or not run_id:
            raise MetricsError(f"{where}: names no run")
        kind = row.get("kind", "epoch")
        if kind not in KINDS:
            raise MetricsError(f"{where}: kind {json.dumps(kind)}, expected "
                               "one of " + ", ".join(KINDS))
        run = runs.setdefault(run_id, Run(path, run_id))
        if kind == "run":
            run.header = row
        elif kind == "resume":
            run.resumes.append(number(row, "step", where))
        elif kind == "calibration":
            run.calibration = {
                "batches": number(row, "batches", where),
                "before": number(row, "test_accuracy_before", where, False),
                "after": number(row, "test_accuracy", where, False)}
        elif kind == "step":
            run.steps.append({
                "step": number(row, "step", where),
                "epoch": number(row, "epoch_fraction", where, False),
                "loss": number(row, "loss", where),
                "accuracy": number(row, "accuracy", where),
                "lr": number(row, "lr", where, False),
                "time": number(row, "time", where, False)})
        else:
            run.epochs.append({
                "epoch": number(row, "epoch", where),
                "step": number(row, "step", where),
                "train_loss": number(row, "train_loss", where, False),
                "train_accuracy": number(row, "train_accuracy", where, False),
                "test_accuracy": number(row, "test_accuracy", where, False),
                "time": number(row, "time", where, False)})
    if not runs:
        raise MetricsError(f"{path}: no metrics")
    return list(runs.values())


def x_of(point, axis, run):
    if axis == "step":
        return point["step"]
    if axis == "time":
        return point.get("time")
    # epoch: an epoch line's number, a step line's epoch_fraction, else the
    # step over the header's steps per epoch (resume marks, old lines)
    if "train_loss" in point or point.get("epoch") is not None:
        return point["epoch"]
    per = run.header.get("steps_per_epoch")
    return point["step"] / per if isinstance(per, int) and per > 0 else None


def spark(values, width=40):
    values = [v for v in values if v is not None]
    if not values:
        return ""
    if len(values) > width:  # the mean of each of `width` buckets
        buckets = []
        for i in range(width):
            part = values[i * len(values) // width:
                          (i + 1) * len(values) // width]
            buckets.append(sum(part) / len(part))
        values = buckets
    lo, hi = min(values), max(values)
    scale = (len(SPARK) - 1) / (hi - lo) if hi > lo else 0
    return "".join(SPARK[int(round((v - lo) * scale))] for v in values)


def summarize(run, several):
    h = run.header
    out = [run.label(several)]
    if h:
        out.append(f"  model {h.get('model')}, {h.get('dataset')}, batch "
                   f"{h.get('batch')}, {h.get('train_images')} training "
                   f"images, {h.get('epochs')} epochs of "
                   f"{h.get('steps_per_epoch')} steps, lr {h.get('lr')}, "
                   f"seed {h.get('seed')}, started {h.get('started')}")
    last_step = max([p["step"] for p in run.steps + run.epochs] or [0])
    total = h.get("total_steps")
    progress = f"  {last_step} steps" + (f" of {total}" if total else "")
    times = [p["time"] for p in run.steps + run.epochs
             if p["time"] is not None]
    if times:
        progress += f", {max(times):.1f} s of training"
    if run.resumes:
        progress += ", resumed at step " + ", ".join(
            str(s) for s in run.resumes)
    out.append(progress)
    c = run.calibration
    if c:
        line = f"  calibrated on {c['batches']} batches"
        if c["before"] is not None and c["after"] is not None:
            line += (f": test acc {100 * c['before']:.2f}% -> "
                     f"{100 * c['after']:.2f}%")
        out.append(line)
    if run.steps:
        last = run.steps[-1]
        out.append(f"  last step line: step {last['step']}, loss "
                   f"{last['loss']:.4f}, train accuracy "
                   f"{100 * last['accuracy']:.2f}%")
        out.append(f"  loss     |{spark([p['loss'] for p in run.steps])}|")
        out.append("  accuracy |" +
                   spark([p["accuracy"] for p in run.steps]) + "|")
    for e in run.epochs:
        parts = [f"  epoch {e['epoch']} (step {e['step']}):"]
        if e["train_loss"] is not None:
            parts.append(f"train loss {e['train_loss']:.4f},")
        if e["train_accuracy"] is not None:
            parts.append(f"train acc {100 * e['train_accuracy']:.2f}%,")
        if e["test_accuracy"] is not None:
            parts.append(f"test acc {100 * e['test_accuracy']:.2f}%")
        out.append(" ".join(parts).rstrip(","))
    tests = [e for e in run.epochs if e["test_accuracy"] is not None]
    if tests:
        best = max(tests, key=lambda e: e["test_accuracy"])
        out.append(f"  best test accuracy {100 * best['test_accuracy']:.2f}% "
                   f"after epoch {best['epoch']}")
    else:
        out.append("  no epoch finished yet")
    return "\n".join(out)


def plot(runs, several, axis, output, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_metrics: matplotlib is not installed for "
                 f"{sys.executable} (Debian: apt install python3-matplotlib); "
                 "--text prints a summary without it")
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, run in enumerate(runs):
        color = colors[i % len(colors)]
        label = run.label(several)

        def xs_ys(points, key):
            pairs = [(x_of(p, axis, run), p[key]) for p in points
                     if p.get(key) is not None]
            pairs = [(x, y) for x, y in pairs if x is not None]
            return [x for x, _ in pairs], [y for _, y in pairs]

        if run.steps:
            x, y = xs_ys(run.steps, "loss")
            loss_ax.plot(x, y, color=color, lw=1, label=f"{label} train")
            x, y = xs_ys(run.steps, "accuracy")
            acc_ax.plot(x, [100 * v for v in y], color=color, lw=1,
                        alpha=0.6, label=f"{label} train")
        else:
            x, y = xs_ys(run.epochs, "train_loss")
            loss_ax.plot(x, y, color=color, marker=".",
                         label=f"{label} train")
            x, y = xs_ys(run.epochs, "train_accuracy")
            acc_ax.plot(x, [100 * v for v in y], color=color, alpha=0.6,
                        marker=".", label=f"{label} train")
        x, y = xs_ys(run.epochs, "test_accuracy")
        acc_ax.plot(x, [100 * v for v in y], color=color, marker="o",
                    lw=2, label=f"{label} test")
        if axis != "time":
            for step in run.resumes:
                at = x_of({"step": step}, axis, run)
                if at is not None:
                    for ax in (loss_ax, acc_ax):
                        ax.axvline(at, color=color, ls="--", lw=0.8)
    names = {"step": "step", "epoch": "epoch", "time": "training time (s)"}
    loss_ax.set(xlabel=names[axis], ylabel="train loss", title="loss")
    acc_ax.set(xlabel=names[axis], ylabel="accuracy (%)", title="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(output, dpi=100)
    print(f"plot_metrics: wrote {output}")


def main():
    parser = argparse.ArgumentParser(
        description="Plot or summarize dq-train metrics.jsonl files.")
    parser.add_argument("runs", nargs="+",
                        help="metrics.jsonl files or dq-train --out dirs")
    parser.add_argument("-o", "--output", default="metrics.png",
                        help="the image to write (default metrics.png; the "
                             "format from its suffix: png, svg, pdf)")
    parser.add_argument("--x", choices=("step", "epoch", "time"),
                        default="step", help="the horizontal axis")
    parser.add_argument("--title", default="")
    parser.add_argument("--text", action="store_true",
                        help="print a summary of every run instead of "
                             "plotting (needs no matplotlib)")
    args = parser.parse_args()
    runs = []
    try:
        for arg in args.runs:
            runs += read_runs(metrics_path(arg))
    except MetricsError as e:
        sys.exit(f"plot_metrics: {e}")
    several = len(runs) > len(args.runs)
    if args.text:
        print("\n\n".join(summarize(r, several) for r in runs))
        return
    if args.x == "time" and not any(
            p["time"] is not None for r in runs for p in r.steps + r.epochs):
        sys.exit("plot_metrics: these runs record no training time (written "
                 "by an older dq-train); use --x step or --x epoch")
    plot(runs, several, args.x, args.output, args.title)


if __name__ == "__main__":
    main()
