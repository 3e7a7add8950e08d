#!/usr/bin/env python3
"""Compares `dq-opt --dq-build-training-graph` with the PyTorch reference.

For the test network of python/dq_reference/train_case.py (N = 4, 8x8x3,
10 classes, two residual blocks, batch norm) and each configuration

    w-scheme in {dq, dq-lean, lqnets} x a-scheme in {dq, lqnets}, trim = 0
    w-scheme = dq, a-scheme = dq, trim = 0.25
    optimizer=adam (dq/dq; lqnets/lqnets with weight decay 0.05) and
    optimizer=adamw weight-decay=0.05 (dq/lqnets, dq-lean/dq), epsilon 1e-2

it runs `dq-opt model.mlir --dq-quantize="w-bits=2 a-bits=2 w-scheme=W
a-scheme=A [trim=R]" --dq-build-training-graph=calibration=true`, compiles the result with
dq-compile, calls it through the runtime (dq_runtime.PackedModel), names the
state with the manifest's names and roles, and checks against
python/dq_reference/training.py:

  names    the state's names, roles, order, shapes and element types;
  init     @init_state against training.init_state;
  step k   (k = 1, 2, 3; seeded batch k, lr 0.1, step counter k - 1)
           @train_step from the compiled state after step k - 1 against
           training.train_step from that same state: loss, correct and
           every state tensor;
  traj 3   the compiled state after 3 steps against 3 reference steps from
           the compiled initial state (each side on its own trajectory);
  predict  @predict against training.predict, on the initial state and on
           the state after 3 steps;
  calib k  (k = 1, 2) @calibrate on seeded batch k - 1 after k - 1 batches
           (3 and 2 iterations), from the compiled state before, against
           training.calibrate, and @predict on the calibrated state.

Tolerances (|got - want| <= atol + rtol * |want|, element-wise):
  init:                  rtol 1e-5, atol 1e-6
  step k, predict, loss: rtol 1e-4, atol 1e-5
  traj 3:                rtol 1e-3, atol 1e-4
  correct:               exact
  codes:                 exact, except where the reference's projected value
                         lies within 1e-5 of the point where its code changes
                         (a rounding threshold; for dq-lean the stochastic
                         flip point lo + uniform * (hi - lo)). Those are
                         listed as notes, not failures.

A step whose reference forward has a quantizer input within 1e-5 of an
activation threshold may legitimately differ (the two sides sum in other
orders): its float mismatches are reported as notes ("unverified"), and a
configuration fails if every step is unverified. After such an event, or a
near-threshold code flip, mismatches of the 3-step trajectory are notes too.

Exit status: 0 all configurations pass; 1 a check failed; 2 the compiler
side is not available (no --dq-build-training-graph in dq-opt yet, dq-opt
cannot parse dq.batch_norm, or no dq-opt).

    /usr/bin/python3 python/tests/test_train_step.py [--dq-opt PATH]
        [--config dq/dq] [--config dq/dq/0.25] [--keep DIR] [-v]
    /usr/bin/python3 python/tests/test_train_step.py --self-check

--self-check needs no compiler: it runs test_training_reference.py (the
reference against finite differences and hand-derived updates) and this
harness with the reference itself standing in for the compiled module
(must pass) and with a deliberately wrong reference (must fail).
"""

import argparse
import copy
import dataclasses
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np
import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, ".."))
sys.path.insert(0, _HERE)
import dq_runtime  # noqa: E402
from dq_reference import quantizers as Q  # noqa: E402
from dq_reference import train_case as C  # noqa: E402
from dq_reference import training as T  # noqa: E402

LR = 0.1
STEPS = 3
NEAR = 1e-5
TOL_INIT = (1e-5, 1e-6)
TOL_STEP = (1e-4, 1e-5)
TOL_TRAJ = (1e-3, 1e-4)
EXIT_UNAVAILABLE = 2


@dataclasses.dataclass(frozen=True)
class Config:
    w_scheme: str  # training.py's spelling: dq, dq_lean, lqnets
    a_scheme: str
    trim: float = 0.0
    optimizer: str = "sgd"
    weight_decay: float = 5e-4
    # Adam's epsilon: the conv biases before batch norm have gradients at
    # rounding-noise level, which Adam with epsilon 1e-8 scales up to steps
    # of size lr in the noise's sign on either side; 1e-2 keeps those steps
    # small while the other tensors' gradients are far above it.
    epsilon: float = 1e-2

    @property
    def label(self):
        text = f"w={self.w_scheme.replace('_', '-')} a={self.a_scheme}"
        text += f" trim={self.trim:g}" if self.trim else ""
        if self.optimizer != "sgd":
            text += f" {self.optimizer} wd={self.weight_decay:g}"
        return text

    def graph_options(self):
        if self.optimizer == "sgd":
            return "calibration=true"
        return (f"calibration=true optimizer={self.optimizer} "
                f"weight-decay={self.weight_decay!r} "
                f"epsilon={self.epsilon!r}")

    def hyper(self):
        return {"optimizer": self.optimizer,
                "weight_decay": self.weight_decay, "epsilon": self.epsilon}

    def quantize_options(self):
        options = (f"w-bits=2 a-bits=2 "
                   f"w-scheme={self.w_scheme.replace('_', '-')} "
                   f"a-scheme={self.a_scheme}")
        return options + (f" trim={self.trim:g}" if self.trim else "")


CONFIGS = [Config(w, a) for w in ("dq", "dq_lean", "lqnets")
           for a in ("dq", "lqnets")] + [Config("dq", "dq", 0.25)] + [
    Config("dq", "dq", optimizer="adam"),
    Config("dq", "lqnets", optimizer="adamw", weight_decay=0.05),
    Config("dq_lean", "dq", optimizer="adamw", weight_decay=0.05),
    Config("lqnets", "lqnets", optimizer="adam", weight_decay=0.05)]


def parse_config(text):
    parts = text.split("/")
    if len(parts) not in (2, 3, 4, 5):
        raise argparse.ArgumentTypeError(
            "expected W/A[/TRIM[/OPTIMIZER[/WEIGHT_DECAY]]], e.g. "
            "dq-lean/lqnets, dq/dq/0.25 or dq/dq/0/adamw/0.05")
    return Config(T.weight_scheme(parts[0]), parts[1],
                  float(parts[2]) if len(parts) >= 3 else 0.0,
                  parts[3] if len(parts) >= 4 else "sgd",
                  float(parts[4]) if len(parts) == 5 else 5e-4)


class Unavailable(Exception):
    """The compiler side cannot run this test yet."""


# --------------------------------------------------------------------------
# dq-opt and the state attributes of its output
# --------------------------------------------------------------------------

def run_dq_opt(dq_opt, model_path, config):
    graph = config.graph_options()
    cmd = [dq_opt, model_path, "--dq-quantize=" + config.quantize_options(),
           "--dq-build-training-graph" + (f"={graph}" if graph else "")]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if proc.returncode == 0:
        return proc.stdout
    err = proc.stderr
    shown = "\n".join("    " + line for line in err.strip().splitlines()[:12])
    command = " ".join(cmd[:2] + [f"'{c}'" for c in cmd[2:]])
    if "Unknown command line argument" in err and \
            "dq-build-training-graph" in err:
        raise Unavailable(
            "dq-opt has no --dq-build-training-graph option yet: the "
            "training-graph pass is not built into\n  " + dq_opt +
            "\nRebuild dq-opt once the pass exists; nothing was compared.\n"
            "  command: " + command + "\n  stderr:\n" + shown)
    if "dq.batch_norm" in err and ("unknown" in err or "not registered" in err
                                   or "does not exist" in err):
        raise Unavailable("dq-opt cannot parse dq.batch_norm (the op is not "
                          "registered in this build).\n  command: " + command
                          + "\n  stderr:\n" + shown)
    if proc.returncode < 0:
        raise RuntimeError(f"dq-opt crashed (signal {-proc.returncode})\n"
                           f"  command: {command}\n  stderr:\n{shown}")
    raise RuntimeError(f"dq-opt failed (exit status {proc.returncode})\n"
                       f"  command: {command}\n  stderr:\n{shown}")


def _type_of(array):
    element = {np.dtype(np.float32): "f32", np.dtype(np.int8): "i8",
               np.dtype(np.int32): "i32"}.get(np.asarray(array).dtype, "?")
    return "tensor<" + "x".join([str(d) for d in np.shape(array)] +
                                [element]) + ">"


def _first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"#{i}: {x!r} vs {y!r}"
    return f"#{min(len(a), len(b))}: lengths {len(a)} vs {len(b)}"


# --------------------------------------------------------------------------
# Backends: the compiled module, or the reference standing in for it
# --------------------------------------------------------------------------

class CompiledBackend:
    """The module compiled by dq-compile and called through the runtime
    (PackedModel); the state's names and roles are the manifest's, which
    dq-compile derives from the verified training-module contract."""

    def __init__(self, config, model_path, dq_opt, keep_dir=None):
        text = run_dq_opt(dq_opt, model_path, config)
        if keep_dir:
            stem = config.label.replace(" ", "_").replace("=", "-")
            with open(os.path.join(keep_dir, stem + ".train.mlir"), "w",
                      encoding="utf-8") as f:
                f.write(text)
        self.module = dq_runtime.load_model(text)
        self.spec = [(s.name, s.role, _type_of(np.empty(s.shape, s.dtype)))
                     for s in self.module.state_specs]
        self.problems = []
        self.names = [name for name, _, _ in self.spec]

    def _named(self, values):
        return dict(zip(self.names, values))

    def init_state(self):
        return self._named(self.module.init_state())

    def train_step(self, state, images, labels, lr, step):
        out, loss, correct = self.module.train_step(
            [state[n] for n in self.names], images, labels, float(lr),
            int(step))
        return self._named(out), np.float32(loss), correct

    def predict(self, state, images):
        return self.module.predict([state[n] for n in self.names], images)

    def calibrate(self, state, images, batches, iterations):
        return self._named(self.module.calibrate(
            [state[n] for n in self.names], images, int(batches),
            int(iterations)))


class ReferenceBackend:
    """The reference as the 'compiled' side (a self-test of this harness);
    `hyper` can make it deliberately wrong."""

    def __init__(self, net, config, hyper=None):
        self.net = net
        self.hyper = dict(config.hyper(), **(hyper or {}))
        self.optimizer = config.optimizer
        init = T.init_state(net, optimizer=self.optimizer)
        self.spec = [(n, r, _type_of(init[n]))
                     for n, r in T.state_spec(net, self.optimizer)]
        self.problems = []
        self.names = [n for n, _, _ in self.spec]

    def init_state(self):
        return T.init_state(self.net, optimizer=self.optimizer)

    def train_step(self, state, images, labels, lr, step):
        return T.train_step(self.net, state, images, labels,
                            np.float32(lr), step, self.hyper)

    def predict(self, state, images):
        return T.predict(self.net, state, images)

    def calibrate(self, state, images, batches, iterations):
        return T.calibrate(self.net, state, images, batches, iterations,
                           self.hyper)


# --------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------

class Report:
    def __init__(self, label):
        self.label = label
        self.failures = []
        self.notes = []
        self.lines = []

    def fail(self, text):
        self.failures.append(text)

    def note(self, text):
        self.notes.append(text)


def _worst(got, want):
    g = np.asarray(got, np.float64)
    w = np.asarray(want, np.float64)
    if g.size == 0:
        return 0.0, ""
    diff = np.abs(g - w)
    diff = np.where(np.isnan(g) != np.isnan(w), np.inf,
                    np.where(np.isnan(g), 0.0, diff))
    i = np.unravel_index(np.argmax(diff), g.shape)
    return float(diff[i]), f"at {tuple(int(k) for k in i)}: got {g[i]!r}, " \
        f"want {w[i]!r}"


def compare_state(got, want, tol, margins=None):
    """(float mismatches, code mismatches, near-threshold code notes, max
    |diff| over floats) between two state dicts with the same names."""
    rtol, atol = tol
    mismatches, code_bad, code_near = [], [], []
    worst_all = 0.0
    for name, w in want.items():
        g = got[name]
        if np.shape(g) != np.shape(w) or np.asarray(g).dtype != \
                np.asarray(w).dtype:
            mismatches.append(f"{name}: got {_type_of(g)}, want {_type_of(w)}")
            continue
        if name.endswith(".codes"):
            differ = np.asarray(g).view(np.uint8) != np.asarray(w).view(
                np.uint8)
            if not differ.any():
                continue
            margin = (margins or {}).get(name)
            near = differ & (margin < NEAR) if margin is not None else \
                np.zeros_like(differ)
            if near.any():
                code_near.append(f"{name}: {int(near.sum())} code(s) differ "
                                 f"where the value is within {NEAR:g} of a "
                                 f"threshold (min margin "
                                 f"{float(margin[near].min()):.2g})")
            bad = differ & ~near
            if bad.any():
                i = tuple(int(k) for k in np.argwhere(bad)[0])
                extra = (f", margin {float(margin[i]):.3g}"
                         if margin is not None else "")
                code_bad.append(f"{name}: {int(bad.sum())} of {bad.size} "
                                f"codes differ (first at {i}: got "
                                f"{int(np.asarray(g).view(np.uint8)[i])}, "
                                f"want {int(np.asarray(w).view(np.uint8)[i])}"
                                f"{extra})")
            continue
        g64 = np.asarray(g, np.float64)
        w64 = np.asarray(w, np.float64)
        ok = np.abs(g64 - w64) <= atol + rtol * np.abs(w64)
        ok |= np.isnan(g64) & np.isnan(w64)
        diff, where = _worst(g, w)
        worst_all = max(worst_all, diff)
        if not ok.all():
            mismatches.append(f"{name}: {int((~ok).sum())} of {ok.size} "
                              f"elements outside tolerance; max |diff| "
                              f"{diff:.3g} {where}")
    return mismatches, code_bad, code_near, worst_all


def init_code_margins(net, state):
    """Margins of the initial codes: nearest(W0, v) of the model's weights
    under the final initialized basis."""
    margins = {}
    for op in net.quantized_layers():
        v = torch.from_numpy(state[op.name + ".weight.basis"])
        margins[op.name + ".weight.codes"] = T.nearest_margin_of(
            torch.from_numpy(np.asarray(op.weight, np.float32)), v,
            op.weight_axis)
    return margins


def inference_act_margin(net, state, images):
    """Smallest distance of a quantizer input to a threshold in @predict."""
    trace = {}
    with torch.no_grad():
        T.forward(net, T.model_params(net, state),
                  torch.from_numpy(images), training=False, trace=trace)
    smallest = math.inf
    for op in net.ops:
        if isinstance(op, T.QuantizeAct):
            lv = Q.levels(torch.from_numpy(state[op.name + ".input.basis"]),
                          op.bits, Q.UNIPOLAR)
            x = trace[op.name + ".input"].reshape(1, -1)
            smallest = min(smallest, float(T.nearest_margin(x, lv[None, :])
                                           .min()))
    return smallest


def compare_predict(report, where, backend, net, state, images):
    got = np.asarray(backend.predict(state, images))
    want = T.predict(net, state, images)
    rtol, atol = TOL_STEP
    diff, at = _worst(got, want)
    if got.shape != want.shape:
        report.fail(f"{where}: logits shape {got.shape}, want {want.shape}")
    elif not np.all(np.abs(got - want) <= atol + rtol * np.abs(want)):
        margin = inference_act_margin(net, state, images)
        text = f"{where}: logits max |diff| {diff:.3g} {at}"
        if margin < NEAR:
            report.note(text + f" (unverified: an activation is {margin:.2g} "
                        f"from a threshold)")
        else:
            report.fail(text)
    return diff


def check_names(report, net, backend, optimizer):
    want = [(n, r) for n, r in T.state_spec(net, optimizer)]
    got = [(n, r) for n, r, _ in backend.spec]
    for problem in backend.problems:
        report.fail("signature: " + problem)
    want_names = [n for n, _ in want]
    got_names = [n for n, _ in got]
    missing = [n for n in want_names if n not in got_names]
    extra = [n for n in got_names if n not in want_names]
    if missing:
        report.fail(f"state missing from @train_step ({len(missing)}): "
                    + ", ".join(missing))
    if extra:
        report.fail(f"unexpected state in @train_step ({len(extra)}): "
                    + ", ".join(extra))
    if not missing and not extra and got_names != want_names:
        report.fail("state order differs from the contract's (program order "
                    "of the owning op, then role order): first difference "
                    + _first_difference(got_names, want_names))
    want_roles = dict(want)
    for name, role in got:
        if name in want_roles and role != want_roles[name]:
            report.fail(f"{name}: role {role!r}, want {want_roles[name]!r}")
    init = T.init_state(net, optimizer=optimizer)
    for name, _, type_text in backend.spec:
        if name in init and type_text != _type_of(init[name]):
            report.fail(f"{name}: type {type_text}, want "
                        f"{_type_of(init[name])}")
    return not missing and not extra


def check_calibration(report, config, backend, net, state, seed):
    """@calibrate on two batches against training.calibrate, each from the
    compiled state before it."""
    for k in range(2):
        images, _ = C.make_batch(seed, k)
        iterations = 3 - k
        got = backend.calibrate(state, images, k, iterations)
        diag = {}
        want = T.calibrate(net, state, images, k, iterations, config.hyper(),
                           diagnostics=diag)
        where = f"calib {k + 1}"
        near = {n[:-len(".input.margin")]: v for n, v in diag.items()
                if v < NEAR}
        bad, codes_bad, _, diff = compare_state(got, want, TOL_STEP)
        for text in bad + codes_bad:
            if near:
                report.note(f"{where} (unverified, a quantizer input is "
                            f"within {NEAR:g} of a threshold): {text}")
            else:
                report.fail(f"{where}: {text}")
        moved = max(float(np.abs(np.asarray(want[n], np.float64) -
                                 np.asarray(state[n], np.float64)).max())
                    for n in want if n.endswith(".input.basis"))
        report.lines.append(f"{where}: max |diff| {diff:.2g} (act bases "
                            f"moved by up to {moved:.2g})")
        state = got
    images, _ = C.make_batch(seed, 2)
    compare_predict(report, "predict@calibrated", backend, net, state, images)


def run_config(config, make_backend, seed=0, verbose=False):
    report = Report(config.label)
    params = C.make_params(seed)
    net = C.quantized_network(params, 2, 2, config.w_scheme, config.a_scheme,
                              config.trim)
    backend = make_backend(config, net)
    if not check_names(report, net, backend, config.optimizer):
        report.lines.append("names: differ; nothing else compared")
        return report
    report.lines.append(f"names: {len(backend.names)} state tensors")

    # @init_state
    init_c = backend.init_state()
    init_r = T.init_state(net, optimizer=config.optimizer)
    bad, codes_bad, codes_near, diff = compare_state(
        init_c, init_r, TOL_INIT, init_code_margins(net, init_r))
    for text in bad + codes_bad:
        report.fail("init: " + text)
    for text in codes_near:
        report.note("init: " + text)
    report.lines.append(f"init: max |diff| {diff:.2g}, "
                        f"{'ok' if not bad + codes_bad else 'MISMATCH'}")
    images0, _ = C.make_batch(seed, 0)
    compare_predict(report, "predict@init", backend, net, init_c, images0)
    check_calibration(report, config, backend, net, init_c, seed)

    state_c = init_c
    state_traj = copy.deepcopy(init_c)
    near_events = []
    verified_steps = 0
    for step in range(STEPS):
        images, labels = C.make_batch(seed, step)
        new_c, loss_c, correct_c = backend.train_step(state_c, images, labels,
                                                      LR, step)
        diag = {}
        new_r, loss_r, correct_r = T.train_step(
            net, state_c, images, labels, LR, step, config.hyper(),
            diagnostics=diag)
        where = f"step {step + 1}"
        act_near = {k[:-len(".input.margin")]: v for k, v in diag.items()
                    if k.endswith(".input.margin") and v < NEAR}
        bad, codes_bad, codes_near, diff = compare_state(new_c, new_r,
                                                         TOL_STEP, diag)
        rtol, atol = TOL_STEP
        if not abs(float(loss_c) - float(loss_r)) <= atol + rtol * abs(
                float(loss_r)):
            bad.insert(0, f"loss {float(loss_c)!r}, want {float(loss_r)!r}")
        if correct_c != correct_r:
            bad.insert(0, f"correct {correct_c}, want {correct_r}")
        for text in codes_near:
            report.note(f"{where}: {text}")
        if codes_near:
            near_events.append(where)
        if act_near:
            near_events.append(where)
            report.note(f"{where}: quantizer input within {NEAR:g} of a "
                        "threshold: " + ", ".join(
                            f"{k} ({v:.2g})" for k, v in act_near.items()))
        if (bad or codes_bad) and act_near:
            for text in bad + codes_bad:
                report.note(f"{where} (unverified): {text}")
        else:
            for text in bad + codes_bad:
                report.fail(f"{where}: {text}")
            verified_steps += 1
        report.lines.append(
            f"{where}: loss {float(loss_c):.6f} (ref {float(loss_r):.6f}), "
            f"correct {correct_c} (ref {correct_r}), state max |diff| "
            f"{diff:.2g}" + (", codes exact" if not codes_bad + codes_near
                             else f", {len(codes_near)} near-threshold code "
                             "tensor(s)" if not codes_bad else
                             ", CODES DIFFER"))
        tdiag = {}
        state_traj, _, _ = T.train_step(net, state_traj, images, labels, LR,
                                        step, config.hyper(),
                                        diagnostics=tdiag)
        if any(k.endswith(".input.margin") and v < NEAR
               for k, v in tdiag.items()):
            near_events.append(f"trajectory step {step + 1}")
        state_c = new_c
    if verified_steps == 0:
        report.fail("no step could be verified (every step had a quantizer "
                    "input near a threshold); try another --seed")

    bad, codes_bad, codes_near, diff = compare_state(state_c, state_traj,
                                                     TOL_TRAJ)
    for text in bad + codes_bad:
        if near_events:
            report.note(f"traj {STEPS} (after near-threshold events in "
                        f"{', '.join(sorted(set(near_events)))}): {text}")
        else:
            report.fail(f"traj {STEPS}: {text}")
    report.lines.append(f"traj {STEPS}: max |diff| {diff:.2g}, "
                        f"{'ok' if not bad + codes_bad else 'differs'}")
    images, _ = C.make_batch(seed, STEPS)
    diff = compare_predict(report, f"predict@step{STEPS}", backend, net,
                           state_c, images)
    report.lines.append(f"predict: max |diff| {diff:.2g}")
    return report


def print_report(report, elapsed, verbose):
    status = "FAIL" if report.failures else "PASS"
    print(f"[{status}] {report.label}  ({elapsed:.1f}s)")
    if verbose or report.failures:
        for line in report.lines:
            print("    " + line)
    for text in report.failures[:20]:
        print("    FAIL: " + text)
    if len(report.failures) > 20:
        print(f"    ... {len(report.failures) - 20} more failures")
    for text in report.notes[:10] if (verbose or report.failures) else []:
        print("    note: " + text)
    if report.notes and not (verbose or report.failures):
        print(f"    ({len(report.notes)} note(s); -v shows them)")


def run_all(configs, make_backend, seed, verbose):
    failed = 0
    for config in configs:
        start = time.time()
        try:
            report = run_config(config, make_backend, seed, verbose)
        except Unavailable:
            raise
        except Exception:
            report = Report(config.label)
            report.fail("raised:\n" + traceback.format_exc().rstrip())
        print_report(report, time.time() - start, verbose)
        failed += bool(report.failures)
    return failed


# --------------------------------------------------------------------------
# Self-check (no compiler)
# --------------------------------------------------------------------------

def self_check(verbose):
    import test_training_reference
    status = test_training_reference.main([])
    print("harness with the reference as the compiled side (must pass):")
    failed = run_all(CONFIGS,
                     lambda config, net: ReferenceBackend(net, config), 0,
                     verbose)
    if failed:
        status = 1
    # A wrong implementation must be caught: lqnets' basis moving average
    # 0.8 instead of 0.9, and dq-lean's seed without the layer index.
    wrong = [(Config("lqnets", "dq"), {"lqnets_basis_momentum": 0.8}),
             (Config("dq_lean", "lqnets"), {"seed": 1}),
             (Config("dq", "dq", 0.25), {"act_momentum": 0.8}),
             (Config("dq", "dq", optimizer="adam"), {"beta2": 0.99}),
             (Config("dq", "lqnets", optimizer="adamw", weight_decay=0.05),
              {"optimizer": "adam"})]
    print("harness with a wrong reference as the compiled side (must fail):")
    for config, hyper in wrong:
        report = run_config(config,
                            lambda config, net: ReferenceBackend(net, config,
                                                                 hyper))
        caught = bool(report.failures)
        print(f"    {config.label} with {hyper}: "
              f"{'caught' if caught else 'NOT CAUGHT'}"
              + (f" ({report.failures[0][:100]}...)" if caught else ""))
        if not caught:
            status = 1
    print("self-check: " + ("ok" if status == 0 else "FAILED"))
    return status


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dq-opt", help="dq-opt binary (default: $DQ_OPT or "
                        "build/bin/dq-opt)")
    parser.add_argument("--config", action="append", type=parse_config,
                        help="W/A[/TRIM[/OPTIMIZER[/WEIGHT_DECAY]]], e.g. "
                        "dq-lean/lqnets or dq/dq/0/adamw/0.05 (repeatable; "
                        "default: all eleven)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the parameters and batches")
    parser.add_argument("--keep", metavar="DIR",
                        help="write the model and dq-opt's outputs here")
    parser.add_argument("--self-check", action="store_true",
                        help="check the reference and this harness; needs no "
                        "compiler")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # reproducible float32 sums
    if args.self_check:
        return self_check(args.verbose)

    configs = args.config or CONFIGS
    print(f"test_train_step: {len(configs)} configuration(s), lr {LR}, "
          f"{STEPS} steps; tolerances (rtol, atol): init {TOL_INIT}, "
          f"step {TOL_STEP}, traj {TOL_TRAJ}; codes exact except within "
          f"{NEAR:g} of a threshold")
    try:
        dq_opt = dq_runtime.find_dq_opt(args.dq_opt)
    except dq_runtime.CompileError as err:
        print(f"test_train_step: UNAVAILABLE: {err}")
        return EXIT_UNAVAILABLE
    work = args.keep or tempfile.mkdtemp(prefix="dq_train_step_")
    os.makedirs(work, exist_ok=True)
    model_path = os.path.join(work, "model.mlir")
    with open(model_path, "w", encoding="utf-8") as f:
        f.write(C.emit_mlir(C.build_network(C.make_params(args.seed))))
    try:
        failed = run_all(
            configs, lambda config, net: CompiledBackend(
                config, model_path, dq_opt, args.keep), args.seed,
            args.verbose)
    except Unavailable as err:
        print(f"test_train_step: UNAVAILABLE: {err}")
        return EXIT_UNAVAILABLE
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"test_train_step: {len(configs) - failed} of {len(configs)} "
          f"configuration(s) passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
