#!/usr/bin/env python3
"""The PyTorch side of the GPU benchmark: dq's training step (the contract
of docs/TrainingGraph.md) with the project's quantizers
(python/dq_reference/quantizers.py), state kept on the device, eager or
under torch.compile.

It follows dq_reference.training.train_step operation for operation (that
file converts the state to and from numpy every step and runs on the CPU;
this one keeps every tensor on `--device`). `--check` runs a few steps on
the CPU and compares them with dq_reference.training.train_step.

    torch_gpu_step.py --arch resnet20 --batch 256 --mode eager --steps 10
    torch_gpu_step.py --mode compile ...   # torch.compile of the whole step
    torch_gpu_step.py --check --arch tiny --batch 4 --device cpu

Prints one JSON line: {"mode", "device", "ms": [per timed step], "loss"}.
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# In a GPU bundle the reference package sits next to this file.
for candidate in (os.path.join(ROOT, "python"), os.path.dirname(
        os.path.abspath(__file__))):
    if os.path.isdir(os.path.join(candidate, "dq_reference")):
        sys.path.insert(0, candidate)
        break

import numpy as np  # noqa: E402
import torch  # noqa: E402

from dq_reference import quantizers as Q  # noqa: E402
from dq_reference import resnet as R  # noqa: E402
from dq_reference import training as T  # noqa: E402


def to_device_state(state, device):
    return {k: torch.as_tensor(np.array(v)).to(device)
            for k, v in state.items()}


def make_step(net, hyper=None):
    """step(state, images, labels, lr, step) -> (new_state, loss, correct),
    every tensor on the caller's device (torch's default device must be that
    device: the quantizers create their constants there)."""
    h = dict(T.DEFAULT_HYPER, **(hyper or {}))
    spec = [name for name, _ in T.state_spec(net)]

    def step(state, images, labels, lr, step_index):
        params, trainable = {}, []

        def leaf(name, tensor):
            tensor = tensor.detach().clone().requires_grad_(True)
            params[name] = tensor
            trainable.append(name)

        for op in net.ops:
            if isinstance(op, (T.Conv2D, T.MatMul)):
                n = op.name
                if op.quant is None:
                    leaf(n + ".weight", state[n + ".weight"])
                else:
                    leaf(n + ".weight", Q.decode_weights(
                        state[n + ".weight.codes"], state[n + ".weight.basis"],
                        op.weight_axis))
                if isinstance(op, T.Conv2D):
                    leaf(n + ".bias", state[n + ".bias"])
            elif isinstance(op, T.BatchNorm):
                n = op.name
                leaf(n + ".gamma", state[n + ".gamma"])
                leaf(n + ".beta", state[n + ".beta"])
                params[n + ".running_mean"] = state[n + ".running_mean"]
                params[n + ".running_var"] = state[n + ".running_var"]
            elif isinstance(op, T.BiasAdd):
                leaf(op.name + ".bias", state[op.name + ".bias"])
            elif isinstance(op, T.QuantizeAct):
                params[op.name + ".input.basis"] = state[op.name +
                                                         ".input.basis"]
        trace = {}
        logits = T.forward(net, params, images, training=True, trace=trace)
        if logits.dim() == 3 and logits.shape[0] == 1:
            logits = logits[0]
        picked = logits.gather(1, labels[:, None].long())[:, 0]
        loss = (torch.logsumexp(logits, dim=1) - picked).mean()
        correct = (logits.detach().argmax(dim=1) == labels.long()).sum()
        grads = dict(zip(trainable, torch.autograd.grad(
            loss, [params[n] for n in trainable])))

        eta = torch.tensor(lr, dtype=torch.float32)
        mu = torch.tensor(h["momentum"], dtype=torch.float32)
        decay = torch.tensor(h["weight_decay"], dtype=torch.float32)
        new = {}

        def sgd(name):
            p = state[name]
            m = mu * state[name + ".momentum"] + grads[name] + decay * p
            new[name] = p - eta * m
            new[name + ".momentum"] = m

        quantized_index = 0
        for op in net.ops:
            if isinstance(op, (T.Conv2D, T.MatMul)):
                n = op.name
                if op.quant is None:
                    sgd(n + ".weight")
                else:
                    update_quantized(op, quantized_index, state, params, grads,
                                     eta, mu, decay, step_index, h, new)
                    quantized_index += 1
                if isinstance(op, T.Conv2D):
                    sgd(n + ".bias")
            elif isinstance(op, T.BatchNorm):
                n = op.name
                sgd(n + ".gamma")
                sgd(n + ".beta")
                bm = torch.tensor(h["bn_momentum"], dtype=torch.float32)
                keep = torch.tensor(1.0 - h["bn_momentum"], dtype=torch.float32)
                count = trace[n + ".count"]
                unbias = torch.tensor(count / (count - 1), dtype=torch.float32)
                new[n + ".running_mean"] = (keep * state[n + ".running_mean"] +
                                            bm * trace[n + ".batch_mean"])
                new[n + ".running_var"] = (
                    keep * state[n + ".running_var"] +
                    bm * (trace[n + ".batch_var"] * unbias))
            elif isinstance(op, T.BiasAdd):
                sgd(op.name + ".bias")
            elif isinstance(op, T.QuantizeAct):
                key = op.name + ".input.basis"
                new[key] = T.act_basis_update(trace[op.name + ".input"],
                                              state[key], op.weighting,
                                              op.trim, op.axis, h)
        return {name: new[name] for name in spec}, loss.detach(), correct

    return step


def update_quantized(op, index, state, params, grads, eta, mu, decay, step,
                     h, new):
    """dq_reference.training._update_quantized_weight on device tensors."""
    n = op.name
    axis = op.weight_axis
    scheme = op.quant.scheme
    v = state[n + ".weight.basis"]
    w_q = params[n + ".weight"].detach()
    g = grads[n + ".weight"]
    m_old = state[n + ".weight.momentum"]
    ridge = h["ridge"]
    if scheme in ("dq", "lqnets"):
        w = state[n + ".weight.latent"]
        m = mu * m_old + g + decay * w
        w_new = w - eta * m
        codes = Q.project_nearest(w_new, v, axis, Q.BIPOLAR)
        if scheme == "dq":
            v_new = Q.fit_levels(codes, w_q - eta * m, v, axis, Q.BIPOLAR,
                                 ridge=ridge)
        else:
            b = h["lqnets_basis_momentum"]
            fitted = Q.fit_levels(codes, w_new, v, axis, Q.BIPOLAR,
                                  ridge=ridge)
            v_new = (torch.tensor(b, dtype=torch.float32) * v +
                     torch.tensor(1.0 - b, dtype=torch.float32) * fitted)
        new[n + ".weight.latent"] = w_new
    elif scheme == "dq_lean":
        m = mu * m_old + g + decay * w_q
        target = w_q - eta * m
        codes = Q.project_stochastic(target, v, axis, Q.BIPOLAR,
                                     int(h["seed"]) + index, step)
        v_new = Q.fit_levels(codes, target, v, axis, Q.BIPOLAR, ridge=ridge)
    else:
        raise ValueError(f"unknown weight scheme {scheme!r}")
    new[n + ".weight.codes"] = codes.to(torch.uint8).view(torch.int8)
    new[n + ".weight.basis"] = v_new
    new[n + ".weight.momentum"] = m


def check(args):
    """A few CPU steps against dq_reference.training.train_step."""
    net = R.quantized_network(R.build_network(args.arch, args.batch,
                                              args.seed), 2, 2)
    rng = np.random.default_rng([args.seed, 1])
    images = rng.random(R.images_shape(args.batch)).astype(np.float32)
    labels = rng.integers(0, R.CLASSES, args.batch).astype(np.int32)
    ref = T.init_state(net)
    state = to_device_state(ref, "cpu")
    step = make_step(net)
    worst = 0.0
    for i in range(args.steps):
        ref, ref_loss, ref_correct = T.train_step(net, ref, images, labels,
                                                  args.lr, i)
        state, loss, correct = step(state, torch.from_numpy(images),
                                    torch.from_numpy(labels), args.lr, i)
        if int(correct) != int(ref_correct):
            sys.exit(f"step {i}: correct {int(correct)} != {ref_correct}")
        worst = max(worst, abs(float(loss) - float(ref_loss)))
        for name, value in ref.items():
            got = state[name].numpy()
            if got.dtype != value.dtype or got.shape != value.shape:
                sys.exit(f"step {i}: {name}: {got.dtype}{got.shape} != "
                         f"{value.dtype}{value.shape}")
            diff = float(np.max(np.abs(got.astype(np.float64) -
                                       value.astype(np.float64)))) \
                if value.size else 0.0
            worst = max(worst, diff)
    print(json.dumps({"check": "ok" if worst <= 1e-5 else "mismatch",
                      "max_abs_diff": worst}))
    return 0 if worst <= 1e-5 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="resnet20", choices=sorted(R.ARCHS))
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--mode", default="eager", choices=("eager", "compile"))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.check:
        return check(args)

    device = torch.device(args.device)
    # The network and its initial state are built on the CPU (init_state
    # returns numpy arrays), then moved.
    net = R.quantized_network(R.build_network(args.arch, args.batch,
                                              args.seed), 2, 2)
    initial = T.init_state(net)
    if hasattr(torch, "set_default_device"):
        torch.set_default_device(device)
    elif device.type != "cpu":
        sys.exit("torch_gpu_step.py: torch " + torch.__version__ + " has no "
                 "torch.set_default_device (PyTorch >= 2.0 needed on a GPU)")
    if args.mode == "compile" and not hasattr(torch, "compile"):
        print(json.dumps({"mode": args.mode, "device": str(device),
                          "unavailable": "torch " + torch.__version__ +
                          " has no torch.compile"}))
        return 0
    rng = np.random.default_rng([args.seed, 1])
    images = torch.as_tensor(
        rng.random(R.images_shape(args.batch)).astype(np.float32)).to(device)
    labels = torch.as_tensor(
        rng.integers(0, R.CLASSES, args.batch).astype(np.int32)).to(device)
    state = to_device_state(initial, device)
    step = make_step(net)
    if args.mode == "compile":
        # Static shapes: the quantizers' helpers run once per layer (graph
        # breaks at their data-dependent checks) with other channel counts,
        # and automatic dynamic shapes then made Inductor fail on a symbolic
        # size ("Cannot convert symbols to int", PyTorch 2.11, H200 run of
        # 2026-11-30). Each shape compiles once instead.
        torch._dynamo.config.cache_size_limit = max(
            64, torch._dynamo.config.cache_size_limit)
        step = torch.compile(step, dynamic=False)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    t0 = time.perf_counter()
    for i in range(args.warmup):
        state, loss, _ = step(state, images, labels, args.lr, i)
    sync()
    warmup_s = time.perf_counter() - t0
    ms = []
    for i in range(args.steps):
        sync()
        t0 = time.perf_counter()
        state, loss, _ = step(state, images, labels, args.lr,
                              args.warmup + i)
        sync()
        ms.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"mode": args.mode, "device": str(device), "ms": ms,
                      "warmup_s": warmup_s, "loss": float(loss),
                      "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
