#!/usr/bin/env python3
"""Checks python/dq_reference/training.py on its own (no compiler needed).

* layouts: the NHWC conv against a direct loop (TOSA weight [O,KH,KW,I],
  pad [top, bottom, left, right], stride);
* batch norm in training mode against torch.nn.functional.batch_norm
  (output, gradients, running statistics after a train_step);
* gradients against finite differences (torch.autograd.gradcheck, float64):
  the whole full-precision path, and G = dL/dW_q plus everything downstream
  of a quantizer on the quantized path;
* the clipped straight-through estimator of dq.quantize_act;
* loss and correct (first maximum on ties) on hand-made logits;
* channel weights (energy, trim and its tie rule) on hand-made activations;
* every update formula of docs/TrainingGraph.md, re-derived in numpy from
  the step's gradients on a tiny network with non-zero momenta, for the
  weight schemes dq, lqnets, dq_lean (two quantized layers: seed + i) and
  the activation schemes (energy with trim, uniform); the least-squares fits
  re-solved from explicit normal equations;
* the state names, roles and order of the test network.

With --compiled-inference it also compiles the test network (batch norm in
its inference form, plain TOSA) with today's dq-opt, full precision and
after --dq-quantize, and compares @model with training.predict on
training.init_state (layer selection, weight initialization, quantizer
placement, layouts).

Standalone: `/usr/bin/python3 python/tests/test_training_reference.py`
exits 0 when every check passes and 1 (listing the failures) otherwise.
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
import traceback

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from dq_reference import quantizers as Q  # noqa: E402
from dq_reference import train_case as C  # noqa: E402
from dq_reference import training as T  # noqa: E402

_failures = []
_checks = [0]


def check(condition, message):
    _checks[0] += 1
    if not condition:
        _failures.append(message)


def close(actual, expected, rtol, atol):
    a = np.asarray(actual, np.float64)
    e = np.asarray(expected, np.float64)
    return a.shape == e.shape and bool(np.all(np.abs(a - e) <=
                                              atol + rtol * np.abs(e)))


def worst(actual, expected):
    a = np.asarray(actual, np.float64)
    e = np.asarray(expected, np.float64)
    if a.shape != e.shape:
        return f"shape {a.shape} vs {e.shape}"
    if a.size == 0:
        return "empty"
    i = np.unravel_index(np.argmax(np.abs(a - e)), a.shape)
    return f"max |diff| {abs(a[i] - e[i]):.3g} at {i}: {a[i]!r} vs {e[i]!r}"


# --------------------------------------------------------------------------
# The tiny network of the gradient and update checks.
#
#   images [4,3,3,2] -> c1 conv 2->4 3x3 pad 1 -> bn1 -> relu -> (q) c2 conv
#   4->4 1x1 -> bn2 -> + relu1 -> relu -> avg pool 3x3 -> reshape [1,4,4]
#   -> (q) fc matmul [1,4,3] -> head bias add [1,1,3] -> reshape [4,3]
# --------------------------------------------------------------------------

def tiny_network(seed=1):
    rng = np.random.default_rng(seed)

    def normal(*shape, scale=1.0):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    ops = [
        T.Conv2D("c1", "images", "c1", normal(4, 3, 3, 2, scale=0.4),
                 normal(4, scale=0.1), (1, 1, 1, 1), (1, 1)),
        T.BatchNorm("bn1", "c1", "bn1", 1 + normal(4, scale=0.2),
                    normal(4, scale=0.2), normal(4, scale=0.2),
                    rng.uniform(0.5, 2.0, 4).astype(np.float32)),
        T.Relu("bn1", "relu1"),
        T.Conv2D("c2", "relu1", "c2", normal(4, 1, 1, 4, scale=0.7),
                 normal(4, scale=0.1)),
        T.BatchNorm("bn2", "c2", "bn2", 1 + normal(4, scale=0.2),
                    normal(4, scale=0.2), normal(4, scale=0.2),
                    rng.uniform(0.5, 2.0, 4).astype(np.float32)),
        T.Add("bn2", "relu1", "sum"),
        T.Relu("sum", "relu2"),
        T.AvgPool2D("relu2", "pool", (3, 3)),
        T.Reshape("pool", "flat", (1, 4, 4)),
        T.MatMul("fc", "flat", "fc", normal(1, 4, 3, scale=0.7)),
        T.BiasAdd("head", "fc", "biased", normal(1, 1, 3, scale=0.1)),
        T.Reshape("biased", "logits", (4, 3)),
    ]
    net = T.Network("images", "logits", ops)
    images = normal(4, 3, 3, 2)
    labels = np.array([0, 2, 1, 2], np.int32)
    return net, images, labels


def with_random_momenta(net, state, seed=3):
    """State with large random momentum buffers (the mu * m term shows and
    weights cross code thresholds in one step) and latent weights away from
    W_q (so that using one for the other shows)."""
    rng = np.random.default_rng(seed)
    out = dict(state)
    for name, role in T.state_spec(net):
        noise = rng.standard_normal(state[name].shape)
        if role == "momentum":
            out[name] = (0.5 * noise).astype(np.float32)
        elif role == "latent":
            out[name] = (state[name] + 0.05 * noise).astype(np.float32)
    return out


# --------------------------------------------------------------------------
# Layouts, batch norm
# --------------------------------------------------------------------------

def conv_by_loops(x, w, b, pad, stride):
    """tosa.conv2d by its definition (float64)."""
    n, h, wd, c = x.shape
    o, kh, kw, _ = w.shape
    top, bottom, left, right = pad
    xp = np.zeros((n, h + top + bottom, wd + left + right, c))
    xp[:, top:top + h, left:left + wd, :] = x
    oh = (h + top + bottom - kh) // stride[0] + 1
    ow = (wd + left + right - kw) // stride[1] + 1
    y = np.zeros((n, oh, ow, o))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, i * stride[0]:i * stride[0] + kh,
                        j * stride[1]:j * stride[1] + kw, :]
            y[:, i, j, :] = np.einsum("nhwc,ohwc->no", window, w) + b
    return y


def test_conv_layout():
    rng = np.random.default_rng(0)
    for x_shape, w_shape, pad, stride in (
            ((2, 5, 6, 3), (4, 3, 2, 3), (1, 0, 2, 1), (2, 1)),
            ((1, 8, 8, 8), (16, 3, 3, 8), (1, 0, 1, 0), (2, 2)),
            ((1, 7, 7, 2), (3, 1, 1, 2), (0, 0, 0, 0), (2, 2))):
        x = rng.standard_normal(x_shape)
        w = rng.standard_normal(w_shape)
        b = rng.standard_normal(w_shape[0])
        got = T.conv2d_nhwc(torch.from_numpy(x), torch.from_numpy(w),
                            torch.from_numpy(b), pad, stride).numpy()
        want = conv_by_loops(x, w, b, pad, stride)
        check(close(got, want, 1e-10, 1e-10),
              f"conv2d_nhwc {x_shape} {w_shape} pad {pad} stride {stride}: "
              + worst(got, want))


def test_batch_norm():
    """Batch norm on the images themselves, so that F.batch_norm sees the
    same input: output and gradients (float64), and the running statistics
    after a float32 train_step."""
    rng = np.random.default_rng(5)
    # Values representable in float32: init_state stores float32.
    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731
    x = f32(rng.standard_normal((4, 3, 2, 5)) * 2 + 1)
    gamma = f32(1 + 0.2 * rng.standard_normal(5))
    beta = f32(0.3 * rng.standard_normal(5))
    mean = f32(0.1 * rng.standard_normal(5))
    var = f32(rng.uniform(0.5, 2.0, 5))
    net = T.Network("images", "logits", [
        T.BatchNorm("bn", "images", "bn", gamma, beta, mean, var, 1e-5, 3),
        T.AvgPool2D("bn", "pool", (3, 2)),
        T.Reshape("pool", "logits", (4, 5))])
    state = {k: v.astype(np.float64) for k, v in
             T.init_state(net).items()}
    params = T.model_params(net, state, requires_grad=True,
                            dtype=torch.float64)
    xt = torch.from_numpy(x).requires_grad_(True)
    y = T.forward(net, params, xt, training=True)
    dy = torch.from_numpy(rng.standard_normal(y.shape))
    (y * dy).sum().backward()

    g = torch.from_numpy(gamma).requires_grad_(True)
    bt = torch.from_numpy(beta).requires_grad_(True)
    x2 = torch.from_numpy(x).requires_grad_(True)
    ref = F.batch_norm(x2.permute(0, 3, 1, 2), torch.from_numpy(mean.copy()),
                       torch.from_numpy(var.copy()), g, bt, training=True,
                       momentum=0.1, eps=1e-5).permute(0, 2, 3, 1)
    ref = ref.mean(dim=(1, 2))
    (ref * dy).sum().backward()
    check(close(y.detach(), ref.detach(), 1e-10, 1e-10),
          "batch norm (training) output vs F.batch_norm: " +
          worst(y.detach(), ref.detach()))
    for name, mine, theirs in (("x", xt.grad, x2.grad),
                               ("gamma", params["bn.gamma"].grad, g.grad),
                               ("beta", params["bn.beta"].grad, bt.grad)):
        check(close(mine, theirs, 1e-9, 1e-10),
              f"batch norm gradient of {name} vs F.batch_norm: "
              + worst(mine, theirs))

    # Running statistics: momentum 0.1 and the unbiased variance.
    rm = torch.from_numpy(mean.astype(np.float32))
    rv = torch.from_numpy(var.astype(np.float32))
    F.batch_norm(torch.from_numpy(x.astype(np.float32)).permute(0, 3, 1, 2),
                 rm, rv, training=True, momentum=0.1, eps=1e-5)
    state32 = T.init_state(net)
    new, _, _ = T.train_step(net, state32, x.astype(np.float32),
                             np.array([0, 1, 2, 3], np.int32), 0.1, 0)
    check(close(new["bn.running_mean"], rm, 1e-6, 1e-7),
          "running_mean vs F.batch_norm: " +
          worst(new["bn.running_mean"], rm))
    check(close(new["bn.running_var"], rv, 1e-6, 1e-7),
          "running_var vs F.batch_norm: " + worst(new["bn.running_var"], rv))


# --------------------------------------------------------------------------
# Gradients against finite differences
# --------------------------------------------------------------------------

def gradcheck_loss(net, state, images, labels, names, what):
    params = T.model_params(net, state, dtype=torch.float64)
    x = torch.from_numpy(images.astype(np.float64))
    leaves = [params[n].detach().clone().requires_grad_(True) for n in names]

    def loss_of(*tensors):
        p = dict(params)
        p.update(zip(names, tensors))
        logits = T.forward(net, p, x, training=True)
        return T.softmax_cross_entropy(logits, labels)[0]

    try:
        ok = torch.autograd.gradcheck(loss_of, leaves, eps=1e-6, atol=1e-7,
                                      rtol=1e-5, raise_exception=True)
    except RuntimeError as err:
        ok = False
        message = str(err).splitlines()[0]
        check(False, f"gradcheck ({what}): {message}")
        return
    check(ok, f"gradcheck ({what}) failed")


def test_gradients():
    net, images, labels = tiny_network()
    state = T.init_state(net)
    trainable = [n for n, p in T.model_params(net, state, True).items()
                 if p.requires_grad]
    gradcheck_loss(net, state, images, labels, trainable,
                   "full-precision path, every parameter")

    # Quantized c2: the loss is smooth in W_q and in everything downstream
    # of the quantizer (nothing after c2 is quantized here).
    qnet = T.quantize_network(net, ["c2"], 2, 2, "dq", "dq")
    qstate = T.init_state(qnet)
    gradcheck_loss(qnet, qstate, images, labels,
                   ["c2.weight", "c2.bias", "bn2.gamma", "bn2.beta",
                    "fc.weight", "head.bias"],
                   "quantized c2: G = dL/dW_q and downstream parameters")

    # Gradients of train_step's float32 pass agree with the float64 ones.
    _, _, params32, grads32, _ = T.gradients(qnet, qstate, images, labels)
    p64 = T.model_params(qnet, qstate, requires_grad=True,
                         dtype=torch.float64)
    logits = T.forward(qnet, p64, torch.from_numpy(images.astype(np.float64)),
                       training=True)
    T.softmax_cross_entropy(logits, labels)[0].backward()
    for name, g in grads32.items():
        check(close(g, p64[name].grad, 1e-4, 1e-6),
              f"float32 gradient of {name} vs float64: "
              + worst(g, p64[name].grad))


def test_ste():
    u = torch.tensor([0.5, 1.0])
    x = torch.tensor([-1.0, 0.0, 0.2, 1.5, 1.5001, 2.0, float("nan")],
                     requires_grad=True)
    y = T.QuantizeActSTE.apply(x, u)
    y.backward(torch.ones_like(y))
    want_y = [0.0, 0.0, 0.0, 1.5, 1.5, 1.5]
    check(torch.equal(y.detach()[:6], torch.tensor(want_y)) and
          bool(torch.isnan(y[6])),
          f"quantize_act forward: {y.detach().tolist()}")
    # Passes for x <= 1.5 (top = 0.5 + 1.0), negative inputs included.
    check(x.grad.tolist() == [1, 1, 1, 1, 0, 0, 0],
          f"STE gradient (top 1.5): {x.grad.tolist()}")
    # A negative basis value does not count towards the top level.
    u = torch.tensor([0.5, -0.2])
    check(float(T.act_top_level(u)) == 0.5,
          f"top level of [0.5, -0.2]: {float(T.act_top_level(u))}")
    x = torch.tensor([0.5, 0.50001, -3.0], requires_grad=True)
    T.QuantizeActSTE.apply(x, u).sum().backward()
    check(x.grad.tolist() == [1, 0, 1],
          f"STE gradient (top 0.5): {x.grad.tolist()}")


def test_relu_gradient():
    x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    net = T.Network("x", "y", [T.Relu("x", "y")])
    T.forward(net, {}, x, training=True).sum().backward()
    check(x.grad.tolist() == [0, 0, 1],
          f"clamp gradient passes strictly inside (0, 3.4e38): "
          f"{x.grad.tolist()}")


def test_loss_and_correct():
    logits = torch.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0], [3.0, 1.0, 2.0]],
                          dtype=torch.float64)
    labels = np.array([1, 2, 0])
    loss, correct = T.softmax_cross_entropy(logits, labels)
    want = 0.0
    for row, label in zip(logits.tolist(), labels):
        want += math.log(sum(math.exp(v) for v in row)) - row[label]
    want /= 3
    check(abs(float(loss) - want) < 1e-12, f"loss {float(loss)} vs {want}")
    # Row 0 ties 2.0 at indices 1 and 2: the first (1) is the label.
    check(correct == 2, f"correct {correct}, want 2")


# --------------------------------------------------------------------------
# Channel weights of the activation fit
# --------------------------------------------------------------------------

def test_channel_weights():
    u = torch.tensor([0.5, 1.0])  # levels 0, 0.5, 1, 1.5
    # [1, 1, 2, 4]: channel c holds two values.
    per_channel = [[0.5, 1.0], [0.2, 0.2], [0.3, 0.3], [0.2, 0.2]]
    x = torch.tensor(per_channel).t().reshape(1, 1, 2, 4)
    codes = Q.project_nearest(x, u, None, Q.UNIPOLAR)
    eps = 1e-8
    energy = [sum(v * v for v in c) / 2 for c in per_channel]
    raw = [1 / (e + eps) for e in energy]
    want = [r * 4 / sum(raw) for r in raw]
    w = T.act_channel_weights(x, u, codes, "energy", 0.0, 3, eps)
    check(close(w, want, 1e-6, 0), f"energy weights {w.tolist()} vs {want}")
    # Relative errors: 0, 1.0, 0.444, 1.0; channels 1 and 3 tie.
    w = T.act_channel_weights(x, u, codes, "energy", 0.25, 3, eps)
    want_trim = [want[0], 0.0, want[2], want[3]]
    check(close(w, want_trim, 1e-6, 0),
          f"trim 0.25 (tie: lower index first) {w.tolist()} vs {want_trim}")
    w = T.act_channel_weights(x, u, codes, "energy", 0.5, 3, eps)
    want_trim = [want[0], 0.0, want[2], 0.0]
    check(close(w, want_trim, 1e-6, 0),
          f"trim 0.5 {w.tolist()} vs {want_trim}")
    # floor(0.3 * 4) = 1 channel.
    w = T.act_channel_weights(x, u, codes, "uniform", 0.3, 3, eps)
    check(w is not None and w.tolist() == [1, 0, 1, 1],
          f"uniform with trim 0.3: {None if w is None else w.tolist()}")
    check(T.act_channel_weights(x, u, codes, "uniform", 0.0, 3, eps) is None,
          "uniform without trim has no weights")
    trimmed = T.trimmed_channels([0.5, 0.5, 0.9, 0.5], 2)
    check(trimmed == [0, 2], f"trimmed_channels tie rule: {trimmed}")


# --------------------------------------------------------------------------
# Update formulas, re-derived in numpy
# --------------------------------------------------------------------------

def fit_by_normal_equations(codes, targets, previous, axis, encoding,
                            channel_weights=None, ridge=1e-4):
    """(B^T W B + ridge I)^-1 (B^T W t + ridge prev) from an explicit B,
    float64; per channel along `axis` (bipolar) or whole tensor (unipolar)."""
    codes = np.asarray(codes, np.int64) & 0xFF
    t = np.asarray(targets, np.float64)
    prev = np.asarray(previous, np.float64)
    bits = prev.shape[-1]
    w = np.ones(t.shape)
    if channel_weights is not None:
        shape = [1] * t.ndim
        shape[axis] = -1
        w = w * np.asarray(channel_weights, np.float64).reshape(shape)

    def solve(c, tt, ww, p):
        bit = (c.reshape(-1, 1) >> np.arange(bits)) & 1
        b = (2.0 * bit - 1.0) if encoding == Q.BIPOLAR else bit * 1.0
        wv = ww.reshape(-1)
        a = b.T @ (b * wv[:, None]) + ridge * np.eye(bits)
        rhs = b.T @ (wv * tt.reshape(-1)) + ridge * p
        return np.linalg.solve(a, rhs)

    if encoding == Q.UNIPOLAR:
        return solve(codes, t, w, prev).astype(np.float32)
    out = np.zeros(prev.shape)
    for o in range(prev.shape[0]):
        take = lambda a: np.take(a, o, axis=axis)  # noqa: E731
        out[o] = solve(take(codes), take(t), take(w), prev[o])
    return out.astype(np.float32)


def expected_step(net, state, images, labels, lr, step, hyper):
    """The contract's updates, in numpy, from the reference's gradients."""
    h = dict(T.DEFAULT_HYPER, **hyper)
    _, _, params, grads, trace = T.gradients(net, state, images, labels)
    f32 = np.float32
    lr, mu, wd = f32(lr), f32(h["momentum"]), f32(h["weight_decay"])
    g = {k: v.numpy() for k, v in grads.items()}
    new = {}

    def sgd(name, grad):
        m = mu * state[name + ".momentum"] + grad + wd * state[name]
        new[name + ".momentum"] = m
        new[name] = state[name] - lr * m

    index = 0
    for op in net.ops:
        if isinstance(op, (T.Conv2D, T.MatMul)):
            n, axis = op.name, op.weight_axis
            if op.quant is None:
                sgd(n + ".weight", g[n + ".weight"])
            else:
                v = state[n + ".weight.basis"]
                w_q = Q.decode_weights(state[n + ".weight.codes"], v,
                                       axis).numpy()
                G = g[n + ".weight"]
                scheme = op.quant.scheme
                if scheme == "dq_lean":
                    m = mu * state[n + ".weight.momentum"] + G + wd * w_q
                    target = w_q - lr * m
                    codes = Q.project_stochastic(target, v, axis, Q.BIPOLAR,
                                                 h["seed"] + index,
                                                 step).numpy()
                    basis = fit_by_normal_equations(codes, target, v, axis,
                                                    Q.BIPOLAR)
                else:
                    w = state[n + ".weight.latent"]
                    m = mu * state[n + ".weight.momentum"] + G + wd * w
                    w_new = w - lr * m
                    codes = Q.project_nearest(w_new, v, axis,
                                              Q.BIPOLAR).numpy()
                    if scheme == "dq":
                        basis = fit_by_normal_equations(
                            codes, w_q - lr * m, v, axis, Q.BIPOLAR)
                    else:
                        basis = (f32(0.9) * v + f32(0.1) *
                                 fit_by_normal_equations(codes, w_new, v,
                                                         axis, Q.BIPOLAR))
                    new[n + ".weight.latent"] = w_new
                new[n + ".weight.codes"] = codes.astype(np.int8)
                new[n + ".weight.basis"] = basis
                new[n + ".weight.momentum"] = m
                index += 1
            if isinstance(op, T.Conv2D):
                sgd(n + ".bias", g[n + ".bias"])
        elif isinstance(op, T.BatchNorm):
            n = op.name
            sgd(n + ".gamma", g[n + ".gamma"])
            sgd(n + ".beta", g[n + ".beta"])
            count = trace[n + ".count"]
            new[n + ".running_mean"] = (f32(0.9) * state[n + ".running_mean"]
                                        + f32(0.1) *
                                        trace[n + ".batch_mean"].numpy())
            new[n + ".running_var"] = (f32(0.9) * state[n + ".running_var"] +
                                       f32(0.1) *
                                       trace[n + ".batch_var"].numpy() *
                                       f32(count / (count - 1)))
        elif isinstance(op, T.BiasAdd):
            sgd(op.name + ".bias", g[op.name + ".bias"])
        elif isinstance(op, T.QuantizeAct):
            u = state[op.name + ".input.basis"]
            x = trace[op.name + ".input"].numpy().astype(np.float64)
            codes = Q.project_nearest(x.astype(np.float32), u, None,
                                      Q.UNIPOLAR).numpy()
            axis = op.axis % x.ndim
            dims = tuple(d for d in range(x.ndim) if d != axis)
            channels = x.shape[axis]
            energy = (x * x).mean(axis=dims)
            weights = None
            if op.weighting == "energy":
                weights = 1.0 / (energy + 1e-8)
                weights = weights / weights.mean()
            elif op.trim > 0:
                weights = np.ones(channels)
            trimmed = int(math.floor(op.trim * channels))
            if trimmed:
                lv = Q.levels(u, op.bits, Q.UNIPOLAR).numpy()
                rel = ((x - lv[codes]) ** 2).mean(axis=dims) / (energy + 1e-8)
                order = np.argsort(-rel, kind="stable")  # ties: lower first
                weights[order[:trimmed]] = 0.0
            fitted = fit_by_normal_equations(codes, x, u, axis, Q.UNIPOLAR,
                                             weights)
            new[op.name + ".input.basis"] = f32(0.9) * u + f32(0.1) * fitted
    return new


def test_updates():
    net, images, labels = tiny_network()
    hyper = {"seed": 7}
    lr, step = 1.0, 5
    for w_scheme in ("dq", "lqnets", "dq_lean"):
        for a_scheme, trim in (("dq", 0.25), ("lqnets", 0.0), ("dq", 0.0)):
            qnet = T.quantize_network(net, ["c2", "fc"], 2, 2, w_scheme,
                                      a_scheme, trim)
            state = with_random_momenta(qnet, T.init_state(qnet))
            got, _, _ = T.train_step(qnet, state, images, labels, lr, step,
                                     hyper)
            want = expected_step(qnet, state, images, labels, lr, step, hyper)
            where = f"[{w_scheme}/{a_scheme} trim={trim}]"
            check(list(got) == [n for n, _ in T.state_spec(qnet)],
                  f"{where} new state names/order differ from state_spec")
            check(set(want) == set(got),
                  f"{where} updated names differ: "
                  f"{sorted(set(want) ^ set(got))}")
            for name in sorted(set(want) & set(got)):
                a, e = got[name], want[name]
                if name.endswith(".codes"):
                    check(a.dtype == np.int8 and np.array_equal(a, e),
                          f"{where} {name}: codes differ at "
                          f"{int(np.sum(a != e))} elements")
                else:
                    check(a.dtype == np.float32 and close(a, e, 1e-5, 1e-7),
                          f"{where} {name}: " + worst(a, e))
            # The step must move codes, or the checks above could not tell
            # which value was projected with which basis or seed.
            for layer in ("c2", "fc"):
                moved = int(np.sum(got[layer + ".weight.codes"] !=
                                   state[layer + ".weight.codes"]))
                check(moved > 0, f"{where} {layer}: no code changed; the "
                      "check is too weak")


def test_adam_matches_torch_optim():
    """optimizer=adam / adamw on the full-precision tiny network against
    torch.optim.Adam / AdamW: at each of three steps torch's optimizer (its
    own moments, its own step count) is given the reference's parameters and
    gradients; its parameters and moments after the step must be the
    reference's."""
    net, images, labels = tiny_network()
    lr = 0.01
    for kind, decay in (("adam", 0.0), ("adam", 0.05), ("adamw", 0.05)):
        hyper = {"optimizer": kind, "weight_decay": decay, "beta1": 0.8,
                 "beta2": 0.95, "epsilon": 1e-6}
        state = T.init_state(net, optimizer=kind)
        names = [n for n, r in T.state_spec(net, kind) if r == "param"]
        tensors = {n: torch.tensor(state[n], requires_grad=True)
                   for n in names}
        make = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        opt = make(list(tensors.values()), lr=lr, betas=(0.8, 0.95),
                   eps=1e-6, weight_decay=decay)
        where = f"[{kind} weight_decay={decay}]"
        for step in range(3):
            _, _, _, grads, _ = T.gradients(net, state, images, labels)
            new, _, _ = T.train_step(net, state, images, labels, lr, step,
                                     hyper)
            with torch.no_grad():
                for n in names:
                    tensors[n].copy_(torch.from_numpy(state[n]))
                    tensors[n].grad = grads[n].detach().clone()
            opt.step()
            for n in names:
                t = tensors[n]
                moments = opt.state[t]
                for got, want, what in (
                        (new[n], t.detach().numpy(), ""),
                        (new[n + ".momentum"],
                         moments["exp_avg"].numpy(), ".momentum"),
                        (new[n + ".second_moment"],
                         moments["exp_avg_sq"].numpy(), ".second_moment")):
                    check(close(got, want, 1e-5, 1e-7),
                          f"{where} step {step + 1} {n}{what}: "
                          + worst(got, want))
            moved = max(float(np.max(np.abs(new[n] - state[n])))
                        for n in names)
            check(moved > 1e-3, f"{where} the step moved nothing")
            state = new


def test_state_spec():
    net = C.quantized_network(C.make_params(0), 2, 2, "dq", "dq")
    spec = T.state_spec(net)
    names = [n for n, _ in spec]
    roles = dict(spec)
    check(names[:4] == ["stem.conv.weight", "stem.conv.weight.momentum",
                        "stem.conv.bias", "stem.conv.bias.momentum"],
          f"stem.conv state order: {names[:4]}")
    i = names.index("block1.conv1.input.basis")
    check(names[i:i + 4] == ["block1.conv1.input.basis",
                             "block1.conv1.weight.codes",
                             "block1.conv1.weight.basis",
                             "block1.conv1.weight.latent"],
          f"quantizer then quantized conv: {names[i:i + 4]}")
    check(names[-4:] == ["fc.weight", "fc.weight.momentum",
                         "fc.bias_add.bias", "fc.bias_add.bias.momentum"],
          f"head state order: {names[-4:]}")
    check(roles["block2.bn1.running_var"] == "running_var" and
          roles["block2.conv2.weight.codes"] == "codes" and
          roles["block2.conv2.input.basis"] == "act_basis" and
          roles["block2.shortcut.conv.weight"] == "param",
          "roles of the test network")
    lean = C.quantized_network(C.make_params(0), 2, 2, "dq_lean", "dq")
    check(not any(n.endswith(".latent") for n, _ in T.state_spec(lean)),
          "dq_lean keeps no latent weights")
    quantized = [op.name for op in net.quantized_layers()]
    check(quantized == list(C.QUANTIZED_LAYERS),
          f"quantized layers {quantized}")
    state = T.init_state(net)
    w = state["block1.conv1.weight.latent"]
    check(np.array_equal(w, Q.decode_weights(
        state["block1.conv1.weight.codes"], state["block1.conv1.weight.basis"],
        0).numpy()), "initial latent = decode(codes, basis)")


# --------------------------------------------------------------------------
# Optional: the test network compiled by today's dq-opt
# --------------------------------------------------------------------------

def test_compiled_inference(dq_opt):
    import dq_runtime
    params = C.make_params(0)
    net = C.build_network(params)
    text = C.emit_mlir(net, batch_norm="inference")
    images, _ = C.make_batch(0, 0)
    with tempfile.TemporaryDirectory(prefix="dq_train_ref_") as tmp:
        path = os.path.join(tmp, "model.mlir")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        quantized = subprocess.run(
            [dq_opt, path, "--dq-quantize=w-bits=2 a-bits=2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True)
        check(quantized.returncode == 0,
              "dq-opt --dq-quantize failed: " + quantized.stderr[-2000:])
        if quantized.returncode != 0:
            return
        for what, module_text, ref_net in (
                ("full precision", text, net),
                ("w2a2 quantized", quantized.stdout,
                 C.quantized_network(params))):
            got = dq_runtime.load(module_text).model(images)
            want = T.predict(ref_net, T.init_state(ref_net), images)
            check(close(got, want, 1e-4, 1e-5),
                  f"compiled @model ({what}) vs training.predict: "
                  + worst(got, want))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compiled-inference", action="store_true",
                        help="also compare today's dq-opt on the test "
                        "network's inference form")
    parser.add_argument("--dq-opt", help="dq-opt binary (default: $DQ_OPT "
                        "or build/bin/dq-opt)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    tests = [test_conv_layout, test_batch_norm, test_gradients, test_ste,
             test_relu_gradient, test_loss_and_correct, test_channel_weights,
             test_updates, test_adam_matches_torch_optim, test_state_spec]
    if args.compiled_inference:
        import dq_runtime
        dq_opt = dq_runtime.find_dq_opt(args.dq_opt)
        tests.append(lambda: test_compiled_inference(dq_opt))
    for test in tests:
        try:
            test()
        except Exception:  # report and go on with the other checks
            _failures.append(f"{getattr(test, '__name__', 'test')} raised:\n"
                             + traceback.format_exc())
    if _failures:
        print(f"test_training_reference: {len(_failures)} of {_checks[0]} "
              f"checks failed:")
        for message in _failures:
            print("  - " + message)
        return 1
    print(f"test_training_reference: all {_checks[0]} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
