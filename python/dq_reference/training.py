"""One training step of docs/TrainingGraph.md in PyTorch (float32, CPU).

An independent implementation of the contract of `--dq-build-training-graph`
(`@init_state`, `@train_step`, `@predict`), written from the text, for tests
that compare it with the compiled functions. It reuses the quantizers of
docs/Numerics.md from quantizers.py.

A network is described in Python (`Network`: a list of ops in program order
that read and write named values), not parsed from MLIR. `quantize_network`
marks layers as quantized and inserts the activation quantizers, as
`--dq-quantize` does.

State: a dict {name: numpy array} with exactly the contract's names
(`state_spec` lists them, in the contract's order, with their roles). Codes
are int8 (dq's storage, read as unsigned), everything else float32.

    new_state, loss, correct = train_step(net, state, images, labels,
                                          lr, step, hyper)
    logits = predict(net, state, images)

Conventions this file fixes where the contract leaves room (the compiler side
must match them; docs/TrainingGraph.md should say them):

* trim: a channel is left out of the activation fit (weight 0) if its rank by
  descending relative error, ties broken by lower channel index first, is
  < floor(trim * C). Energies and errors are computed on the clamped input
  x (the value the quantizer levels), as means over every axis but the
  channel axis, in float32. Energy weights are normalized to average 1 over
  all C channels *before* the trimmed channels are set to 0. Trim applies
  with either weighting (with `uniform` the kept channels weigh 1).
* The bias of a quantized conv is trained like a full-precision parameter:
  `L.bias`, `L.bias.momentum` after the weight's state (the contract's table
  lists a bias only for full-precision convs).
* Roles: weights, biases, gamma and beta are "param"; every momentum buffer
  is "momentum".
* ReLU is `tosa.clamp` with bounds [0, 3.4e38]; its gradient passes where
  lo < x < hi strictly (the compiler's tosa.clamp rule).
* Batch norm uses its op's epsilon (1e-5 in the test model, the same as the
  `bn-epsilon` default).
* An activation quantizer read by several quantized layers is shared and
  named after the first of them in program order.
"""

import dataclasses
import math
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from . import quantizers as Q

# Pass options of --dq-build-training-graph and their defaults.
DEFAULT_HYPER = {
    "optimizer": "sgd",
    "momentum": 0.9,
    "beta1": 0.9,
    "beta2": 0.999,
    "epsilon": 1e-8,
    "weight_decay": 5e-4,
    "ridge": Q.DEFAULT_RIDGE,
    "act_momentum": 0.9,
    "lqnets_basis_momentum": 0.9,
    "bn_momentum": 0.1,
    "bn_epsilon": 1e-5,
    "seed": 0,
    "trim_epsilon": 1e-8,
}

# The state roles, in the order of include/dq/Contract/Roles.h's kRoleNames
# (test/Python/roles-mirror.test compares the two).
ROLES = ("codes", "basis", "latent", "momentum", "second_moment",
         "act_basis", "param", "running_mean", "running_var")
OPTIMIZERS = ("sgd", "adam", "adamw")

WEIGHT_SCHEMES = ("dq", "dq_lean", "lqnets")
ACT_SCHEMES = ("dq", "lqnets")
WEIGHTINGS = ("energy", "uniform")

# tosa.clamp's upper bound in the model's ReLUs.
RELU_MAX = 3.4e38


def weight_scheme(name):
    """Canonical weight scheme name ('dq-lean' on dq-opt's command line)."""
    name = name.replace("-", "_")
    if name not in WEIGHT_SCHEMES:
        raise ValueError(f"weight scheme must be one of {WEIGHT_SCHEMES}, "
                         f"got {name!r}")
    return name


# --------------------------------------------------------------------------
# Network description
# --------------------------------------------------------------------------

@dataclasses.dataclass
class WeightQuant:
    bits: int
    scheme: str  # dq, dq_lean or lqnets


@dataclasses.dataclass
class Conv2D:
    """tosa.conv2d: NHWC input, weight [O, KH, KW, I], bias [O]."""
    name: str
    input: str
    output: str
    weight: np.ndarray
    bias: np.ndarray
    pad: Tuple[int, int, int, int] = (0, 0, 0, 0)  # top, bottom, left, right
    stride: Tuple[int, int] = (1, 1)
    quant: Optional[WeightQuant] = None

    weight_axis = 0  # output channels of [O, KH, KW, I]

    def fan_out(self):
        o, kh, kw, _ = self.weight.shape
        return o * kh * kw


@dataclasses.dataclass
class MatMul:
    """tosa.matmul with a constant right operand [B, C, K] (fully connected
    layer when B = 1)."""
    name: str
    input: str
    output: str
    weight: np.ndarray
    quant: Optional[WeightQuant] = None

    weight_axis = 2  # output features of [B, C, K]

    def fan_out(self):
        return self.weight.shape[2]


@dataclasses.dataclass
class BatchNorm:
    """dq.batch_norm; gamma, beta, running mean and variance have shape
    [C]."""
    name: str
    input: str
    output: str
    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    epsilon: float = 1e-5
    axis: int = 3


@dataclasses.dataclass
class Relu:
    input: str
    output: str


@dataclasses.dataclass
class Add:
    """tosa.add of two computed values (a residual connection)."""
    input: str
    other: str
    output: str


@dataclasses.dataclass
class BiasAdd:
    """tosa.add of a computed value and a trainable constant."""
    name: str
    input: str
    output: str
    bias: np.ndarray


@dataclasses.dataclass
class Slice:
    input: str
    output: str
    start: Tuple[int, ...]
    size: Tuple[int, ...]


@dataclasses.dataclass
class AvgPool2D:
    """tosa.avg_pool2d, NHWC, no padding."""
    input: str
    output: str
    kernel: Tuple[int, int]
    stride: Tuple[int, int] = (1, 1)


@dataclasses.dataclass
class Reshape:
    input: str
    output: str
    shape: Tuple[int, ...]


@dataclasses.dataclass
class QuantizeAct:
    """dq.quantize_act inserted by --dq-quantize. `name` is the layer that
    reads it (state `<name>.input.basis`)."""
    name: str
    input: str
    output: str
    bits: int
    weighting: str = "energy"
    trim: float = 0.0
    axis: int = -1


@dataclasses.dataclass
class Network:
    input: str
    output: str
    ops: Sequence[object]

    def layers(self):
        return [op for op in self.ops if isinstance(op, (Conv2D, MatMul))]

    def quantized_layers(self):
        """Quantized conv/matmul layers in program order (their index is the
        `i` of dq_lean's seed)."""
        return [op for op in self.layers() if op.quant is not None]


def quantize_network(net, layer_names, w_bits, a_bits, w_scheme="dq",
                     a_scheme="dq", trim=0.0):
    """A copy of `net` as `--dq-quantize` leaves it: the named layers get
    quantized weights and a dq.quantize_act on their input.

    Weighting follows the activation scheme: energy for dq, uniform for
    lqnets. The quantizer's channel axis is the input's last axis (NHWC
    convs, [1, N, C] matmuls).
    """
    w_scheme = weight_scheme(w_scheme)
    if a_scheme not in ACT_SCHEMES:
        raise ValueError(f"activation scheme must be one of {ACT_SCHEMES}, "
                         f"got {a_scheme!r}")
    wanted = set(layer_names)
    known = {op.name for op in net.layers()}
    if wanted - known:
        raise ValueError(f"no such layers: {sorted(wanted - known)}")
    weighting = "energy" if a_scheme == "dq" else "uniform"
    quantized_value = {}  # input value -> output of its shared quantizer
    ops = []
    for op in net.ops:
        if isinstance(op, (Conv2D, MatMul)) and op.name in wanted:
            if op.input not in quantized_value:
                out = op.name + ".input.quantized"
                ops.append(QuantizeAct(op.name, op.input, out, a_bits,
                                       weighting, trim))
                quantized_value[op.input] = out
            op = dataclasses.replace(op, input=quantized_value[op.input],
                                     quant=WeightQuant(w_bits, w_scheme))
        ops.append(op)
    return Network(net.input, net.output, ops)


# --------------------------------------------------------------------------
# State: names, roles, order, initial values
# --------------------------------------------------------------------------

def _op_state(op):
    """(name, role) of the state an op owns, in the contract's role order."""
    if isinstance(op, (Conv2D, MatMul)):
        n = op.name
        if op.quant is None:
            out = [(n + ".weight", "param"), (n + ".weight.momentum",
                                              "momentum")]
        else:
            out = [(n + ".weight.codes", "codes"),
                   (n + ".weight.basis", "basis")]
            if op.quant.scheme != "dq_lean":
                out.append((n + ".weight.latent", "latent"))
            out.append((n + ".weight.momentum", "momentum"))
        if isinstance(op, Conv2D):
            out += [(n + ".bias", "param"), (n + ".bias.momentum", "momentum")]
        return out
    if isinstance(op, BatchNorm):
        n = op.name
        return [(n + ".gamma", "param"), (n + ".gamma.momentum", "momentum"),
                (n + ".beta", "param"), (n + ".beta.momentum", "momentum"),
                (n + ".running_mean", "running_mean"),
                (n + ".running_var", "running_var")]
    if isinstance(op, BiasAdd):
        return [(op.name + ".bias", "param"),
                (op.name + ".bias.momentum", "momentum")]
    if isinstance(op, QuantizeAct):
        return [(op.name + ".input.basis", "act_basis")]
    return []


def _with_second_moments(entries, optimizer):
    """Adam keeps a second moment after every momentum."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}")
    out = []
    for name, role in entries:
        out.append((name, role))
        if role == "momentum" and optimizer != "sgd":
            out.append((name[:-len(".momentum")] + ".second_moment",
                        "second_moment"))
    return out


def state_spec(net, optimizer="sgd"):
    """[(name, role)] of every state tensor, in the contract's order: program
    order of the owning op, then the role order of the contract's table."""
    spec = [entry for op in net.ops
            for entry in _with_second_moments(_op_state(op), optimizer)]
    assert all(role in ROLES for _, role in spec)
    names = [name for name, _ in spec]
    if len(set(names)) != len(names):
        raise ValueError("duplicate state names: op names must be unique")
    return spec


def _codes_to_i8(codes):
    """int64 codes in [0, 256) as dq's i8 storage (read back as unsigned)."""
    return np.asarray(codes, dtype=np.int64).astype(np.uint8).view(np.int8)


def init_state(net, ridge=Q.DEFAULT_RIDGE, optimizer="sgd"):
    """@init_state: the model's constants, LQ-Nets-initialized weight state
    (quantizers.init_weight_state), initial activation bases, zero momenta
    (and Adam's second moments), latent weights equal to the decoded
    weights."""
    state = {}
    for op in net.ops:
        if isinstance(op, (Conv2D, MatMul)):
            n = op.name
            w = np.asarray(op.weight, np.float32)
            if op.quant is None:
                state[n + ".weight"] = w.copy()
            else:
                ws = Q.init_weight_state(torch.from_numpy(w), op.quant.bits,
                                         op.weight_axis, op.fan_out(),
                                         ridge=ridge)
                state[n + ".weight.codes"] = _codes_to_i8(ws.codes.numpy())
                state[n + ".weight.basis"] = ws.basis.numpy()
                if op.quant.scheme != "dq_lean":
                    state[n + ".weight.latent"] = Q.decode_weights(
                        ws.codes, ws.basis, op.weight_axis).numpy()
            state[n + ".weight.momentum"] = np.zeros_like(w)
            if isinstance(op, Conv2D):
                state[n + ".bias"] = np.asarray(op.bias, np.float32).copy()
                state[n + ".bias.momentum"] = np.zeros_like(
                    state[n + ".bias"])
        elif isinstance(op, BatchNorm):
            n = op.name
            for what in ("gamma", "beta"):
                value = np.asarray(getattr(op, what), np.float32).copy()
                state[f"{n}.{what}"] = value
                state[f"{n}.{what}.momentum"] = np.zeros_like(value)
            state[n + ".running_mean"] = np.asarray(op.mean, np.float32).copy()
            state[n + ".running_var"] = np.asarray(op.var, np.float32).copy()
        elif isinstance(op, BiasAdd):
            value = np.asarray(op.bias, np.float32).copy()
            state[op.name + ".bias"] = value
            state[op.name + ".bias.momentum"] = np.zeros_like(value)
        elif isinstance(op, QuantizeAct):
            state[op.name + ".input.basis"] = Q.init_act_basis(op.bits).numpy()
    for name, role in state_spec(net, optimizer):
        if role == "second_moment":
            state[name] = np.zeros_like(
                state[name[:-len(".second_moment")] + ".momentum"])
    return {name: state[name] for name, _ in state_spec(net, optimizer)}


# --------------------------------------------------------------------------
# Forward
# --------------------------------------------------------------------------

class _Clamp(torch.autograd.Function):
    """tosa.clamp; the gradient passes where lo < x < hi (strictly), as the
    compiler's rule (torch.clamp would also pass it at x == lo)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return torch.clamp(x, lo, hi)

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        return dy * ((x > lo) & (x < hi)).to(dy.dtype), None, None


def act_top_level(u):
    """The top unipolar level: sum of the positive basis values, summed in
    float32 in bit order from 0."""
    top = torch.zeros((), dtype=torch.float32)
    for value in torch.as_tensor(u, dtype=torch.float32):
        top = top + torch.clamp(value, min=0.0)
    return top


class QuantizeActSTE(torch.autograd.Function):
    """dq.quantize_act: forward clamps below at 0 and takes the nearest
    unipolar level; backward is the clipped straight-through estimator: dy
    where x <= the top level. That includes x < 0 (it is not the derivative
    of the clamp). The basis gets no gradient: it is refitted."""

    @staticmethod
    def forward(ctx, x, u):
        ctx.save_for_backward(x, u)
        return Q.quantize_act(x.detach().float(), u).to(x.dtype)

    @staticmethod
    def backward(ctx, dy):
        x, u = ctx.saved_tensors
        passes = x <= act_top_level(u).to(x.dtype)
        return dy * passes.to(dy.dtype), None


def conv2d_nhwc(x, weight, bias, pad, stride):
    """tosa.conv2d (NHWC input, [O, KH, KW, I] weight) through NCHW
    F.conv2d."""
    top, bottom, left, right = pad
    xn = F.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom))
    y = F.conv2d(xn, weight.permute(0, 3, 1, 2), bias, stride=tuple(stride))
    return y.permute(0, 2, 3, 1)


def _reduce_dims(x, axis):
    axis = axis % x.dim()
    return [d for d in range(x.dim()) if d != axis], axis


def _channel_view(vec, x, axis):
    shape = [1] * x.dim()
    shape[axis] = -1
    return vec.reshape(shape)


def forward(net, params, images, training, trace=None, act_basis=None):
    """Logits of the model.

    params: {name: tensor} as `model_params` builds it: `<layer>.weight` is the
    weight the layer uses (the decoded W_q for a quantized layer), plus biases,
    gamma/beta, running statistics, activation bases.
    training: batch norm with batch statistics (else running statistics).
    trace (a dict, optional) receives, detached: `<bn>.batch_mean`,
    `<bn>.batch_var` (biased), `<bn>.count`; `<quantizer>.input` (the
    quantizer's input clamped at 0).
    act_basis (optional): act_basis(op, x clamped at 0, u) -> the basis the
    quantizer `op` uses instead of its state's `u` (calibration).
    """
    env = {net.input: images}
    for op in net.ops:
        x = env[op.input]
        if isinstance(op, Conv2D):
            y = conv2d_nhwc(x, params[op.name + ".weight"],
                            params[op.name + ".bias"], op.pad, op.stride)
        elif isinstance(op, MatMul):
            y = torch.matmul(x, params[op.name + ".weight"])
        elif isinstance(op, BatchNorm):
            dims, axis = _reduce_dims(x, op.axis)
            gamma = _channel_view(params[op.name + ".gamma"], x, axis)
            beta = _channel_view(params[op.name + ".beta"], x, axis)
            if training:
                mean = x.mean(dim=dims, keepdim=True)
                var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
                if trace is not None:
                    trace[op.name + ".batch_mean"] = mean.detach().reshape(-1)
                    trace[op.name + ".batch_var"] = var.detach().reshape(-1)
                    trace[op.name + ".count"] = x.numel() // x.shape[axis]
            else:
                mean = _channel_view(params[op.name + ".running_mean"], x,
                                     axis)
                var = _channel_view(params[op.name + ".running_var"], x, axis)
            y = (x - mean) / torch.sqrt(var + op.epsilon) * gamma + beta
        elif isinstance(op, Relu):
            y = _Clamp.apply(x, 0.0, RELU_MAX)
        elif isinstance(op, Add):
            y = x + env[op.other]
        elif isinstance(op, BiasAdd):
            y = x + params[op.name + ".bias"]
        elif isinstance(op, Slice):
            index = tuple(slice(s, s + n) for s, n in zip(op.start, op.size))
            y = x[index]
        elif isinstance(op, AvgPool2D):
            y = F.avg_pool2d(x.permute(0, 3, 1, 2), tuple(op.kernel),
                             tuple(op.stride)).permute(0, 2, 3, 1)
        elif isinstance(op, Reshape):
            # tosa.reshape is row-major, as torch's on a contiguous tensor.
            y = x.contiguous().reshape(op.shape)
        elif isinstance(op, QuantizeAct):
            if trace is not None:
                xd = x.detach().float()
                trace[op.name + ".input"] = torch.where(
                    xd < 0, torch.zeros_like(xd), xd)
            u = params[op.name + ".input.basis"]
            if act_basis is not None:
                xd = x.detach().float()
                u = act_basis(op, torch.where(xd < 0, torch.zeros_like(xd),
                                              xd), u)
            y = QuantizeActSTE.apply(x, u)
        else:
            raise TypeError(f"unknown op {type(op).__name__}")
        env[op.output] = y
    logits = env[net.output]
    # The contract also accepts a [1, N, K] result (a TOSA fc layer's shape).
    if logits.dim() == 3 and logits.shape[0] == 1:
        logits = logits[0]
    return logits


def _tensor(value):
    value = np.asarray(value)
    if value.dtype == np.int8:
        return torch.from_numpy(value.copy())
    return torch.from_numpy(np.array(value, dtype=np.float32))


def model_params(net, state, requires_grad=False, dtype=torch.float32):
    """The tensors `forward` reads, from a state dict.

    Quantized layers get `<layer>.weight` = decode(codes, basis). With
    requires_grad, every trainable tensor (full-precision weights and biases,
    gamma, beta, and the decoded W_q whose gradient is G) is a leaf that
    requires grad.
    """
    params = {}

    def leaf(name, tensor, trainable=True):
        tensor = tensor.to(dtype).clone()
        if requires_grad and trainable:
            tensor.requires_grad_(True)
        params[name] = tensor

    for op in net.ops:
        if isinstance(op, (Conv2D, MatMul)):
            n = op.name
            if op.quant is None:
                leaf(n + ".weight", _tensor(state[n + ".weight"]))
            else:
                leaf(n + ".weight", Q.decode_weights(
                    _tensor(state[n + ".weight.codes"]),
                    _tensor(state[n + ".weight.basis"]), op.weight_axis))
            if isinstance(op, Conv2D):
                leaf(n + ".bias", _tensor(state[n + ".bias"]))
        elif isinstance(op, BatchNorm):
            n = op.name
            leaf(n + ".gamma", _tensor(state[n + ".gamma"]))
            leaf(n + ".beta", _tensor(state[n + ".beta"]))
            leaf(n + ".running_mean", _tensor(state[n + ".running_mean"]),
                 False)
            leaf(n + ".running_var", _tensor(state[n + ".running_var"]), False)
        elif isinstance(op, BiasAdd):
            leaf(op.name + ".bias", _tensor(state[op.name + ".bias"]))
        elif isinstance(op, QuantizeAct):
            # Bases stay float32: the quantizer's levels are float32.
            params[op.name + ".input.basis"] = _tensor(
                state[op.name + ".input.basis"])
    return params


def softmax_cross_entropy(logits, labels):
    """(loss, correct): mean_n(logsumexp(z_n) - z_n[label_n]) and the number
    of rows whose argmax (first maximum on ties) is the label."""
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    picked = logits.gather(1, labels[:, None])[:, 0]
    loss = (torch.logsumexp(logits, dim=1) - picked).mean()
    # torch.argmax returns the first maximal index.
    correct = int((logits.detach().argmax(dim=1) == labels).sum())
    return loss, correct


def gradients(net, state, images, labels):
    """Training-mode forward and backward from a state.

    Returns (loss float32 tensor, correct int, params, grads {name: tensor},
    trace). params/grads are keyed as model_params: `<layer>.weight` of a
    quantized layer is W_q and its gradient is G.
    """
    params = model_params(net, state, requires_grad=True)
    trace = {}
    x = torch.from_numpy(np.array(images, dtype=np.float32))
    logits = forward(net, params, x, training=True, trace=trace)
    loss, correct = softmax_cross_entropy(logits, labels)
    loss.backward()
    grads = {}
    for name, p in params.items():
        if p.requires_grad:
            grads[name] = (p.grad if p.grad is not None
                           else torch.zeros_like(p)).detach()
    trace["logits"] = logits.detach()
    return loss.detach(), correct, params, grads, trace


# --------------------------------------------------------------------------
# Activation basis update
# --------------------------------------------------------------------------

def trimmed_channels(rel_error, count):
    """Indices of the `count` channels left out of the fit: the largest
    relative errors; on equal errors the lower channel index goes first."""
    errors = [float(e) for e in rel_error]
    order = sorted(range(len(errors)), key=lambda c: (-errors[c], c))
    return sorted(order[:count])


def act_channel_weights(x, u, codes, weighting, trim, axis, eps):
    """Channel weights Omega of the activation fit (None: no weights).

    x: the quantizer's input clamped at 0; codes: nearest(x, u).
    energy: w_c = 1 / (mean(x_c^2) + eps), normalized to average 1 over all
    channels; trim = rho: then the floor(rho * C) channels with the largest
    mean((x_c - q(x_c))^2) / (mean(x_c^2) + eps) get weight 0.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, "
                         f"got {weighting!r}")
    dims, axis = _reduce_dims(x, axis)
    channels = x.shape[axis]
    eps = torch.tensor(eps, dtype=torch.float32)
    energy = (x * x).mean(dim=dims)
    if weighting == "energy":
        w = 1.0 / (energy + eps)
        w = w / w.mean()
    elif trim > 0:
        w = torch.ones(channels, dtype=torch.float32, device=x.device)
    else:
        return None
    count = math.floor(trim * channels)
    if count > 0:
        lv = Q.levels(u, u.shape[0], Q.UNIPOLAR)
        err = ((x - lv[codes]) ** 2).mean(dim=dims)
        rel = err / (energy + eps)
        w = w.clone()
        w[trimmed_channels(rel, count)] = 0.0
    return w


def act_basis_fit(x, u, weighting, trim, axis, hyper):
    """fit(nearest(x, u), x; prev u, Omega): one least-squares fit of the
    activation basis to the clamped input x."""
    u = torch.as_tensor(u, dtype=torch.float32)
    codes = Q.project_nearest(x, u, None, Q.UNIPOLAR)
    omega = act_channel_weights(x, u, codes, weighting, trim, axis,
                                hyper["trim_epsilon"])
    axis = axis % x.dim()
    return Q.fit_levels(codes, x, u, axis, Q.UNIPOLAR, weights=omega,
                        ridge=hyper["ridge"])


def act_basis_update(x, u, weighting, trim, axis, hyper):
    """u <- a u + (1 - a) fit(nearest(x, u), x; prev u, Omega), a = 0.9."""
    u = torch.as_tensor(u, dtype=torch.float32)
    fitted = act_basis_fit(x, u, weighting, trim, axis, hyper)
    a = hyper["act_momentum"]
    return (torch.tensor(a, dtype=torch.float32) * u +
            torch.tensor(1.0 - a, dtype=torch.float32) * fitted)


# --------------------------------------------------------------------------
# The step
# --------------------------------------------------------------------------

def _f32(value):
    return torch.tensor(value, dtype=torch.float32)


def train_step(net, state, images, labels, lr, step, hyper=None,
               diagnostics=None):
    """@train_step: returns (new_state, loss, correct).

    new_state has the names and order of state_spec(net) (numpy arrays);
    loss is a numpy float32, correct an int. lr is used as float32, step is
    the i64 counter of dq_lean's random numbers. Every update reads the
    values from before the step.

    diagnostics (a dict, optional) receives, for tests that compare against
    another implementation, the distance of every projected value to the
    nearest point where its code would change:
    `<layer>.weight.codes.margin` (numpy, the weight's shape) and
    `<quantizer>.input.margin` (the smallest distance of a quantizer input
    to a threshold in this step's forward), and the trace.
    """
    h = dict(DEFAULT_HYPER, **(hyper or {}))
    loss, correct, params, grads, trace = gradients(net, state, images,
                                                    labels)
    eta = _f32(lr)
    new = {}
    opt = Optimizer(h, lr, step)

    def sgd(name, grad):
        """Full-precision p: one optimizer step of p."""
        p = _tensor(state[name])
        move = opt.step(name, state, new, grad, p)
        new[name] = move(p).numpy()

    quantized_index = 0
    for op in net.ops:
        if isinstance(op, (Conv2D, MatMul)):
            n = op.name
            if op.quant is None:
                sgd(n + ".weight", grads[n + ".weight"])
            else:
                _update_quantized_weight(op, quantized_index, state, params,
                                         grads, opt, step, h, new,
                                         diagnostics)
                quantized_index += 1
            if isinstance(op, Conv2D):
                sgd(n + ".bias", grads[n + ".bias"])
        elif isinstance(op, BatchNorm):
            n = op.name
            sgd(n + ".gamma", grads[n + ".gamma"])
            sgd(n + ".beta", grads[n + ".beta"])
            bm = _f32(h["bn_momentum"])
            keep = _f32(1.0 - h["bn_momentum"])
            count = trace[n + ".count"]
            unbias = _f32(count / (count - 1))
            new[n + ".running_mean"] = (
                keep * _tensor(state[n + ".running_mean"]) +
                bm * trace[n + ".batch_mean"]).numpy()
            new[n + ".running_var"] = (
                keep * _tensor(state[n + ".running_var"]) +
                bm * (trace[n + ".batch_var"] * unbias)).numpy()
        elif isinstance(op, BiasAdd):
            sgd(op.name + ".bias", grads[op.name + ".bias"])
        elif isinstance(op, QuantizeAct):
            key = op.name + ".input.basis"
            x = trace[op.name + ".input"]
            new[key] = act_basis_update(x, _tensor(state[key]), op.weighting,
                                        op.trim, op.axis, h).numpy()
            if diagnostics is not None:
                diagnostics[op.name + ".input.margin"] = float(
                    nearest_margin(x.reshape(1, -1),
                                   Q.levels(_tensor(state[key]), op.bits,
                                            Q.UNIPOLAR)[None, :]).min()
                    if x.numel() else math.inf)
    if diagnostics is not None:
        diagnostics["trace"] = trace
    ordered = {name: new[name] for name, _ in state_spec(net, h["optimizer"])}
    return ordered, loss.numpy().astype(np.float32), correct


class Optimizer:
    """The optimizer's step of one trained tensor (--dq-build-training-graph
    optimizer=sgd|adam|adamw), in float32 like the compiled step.

    step(name, state, new, g, p) stores the new moments of `name` in `new`
    and returns move(x): x moved by the step. p is the tensor weight decay
    pulls toward zero; x is p, or for the dq scheme also its decoded weights
    (both descend along the same direction).

      sgd    m' = mu m + g + lambda p;            move(x) = x - lr m'
      adam   g~ = g + lambda p; m' = b1 m + (1 - b1) g~;
             v' = b2 v + (1 - b2) g~^2;
             move(x) = x - s m' / (sqrt(v') / c + eps)
      adamw  as adam with g~ = g, and the step adds lr lambda p

    with t = step + 1, s = lr / (1 - b1^t) and c = sqrt(1 - b2^t) (computed
    in double, then rounded to float32), as torch.optim.Adam / AdamW.
    """

    def __init__(self, h, lr, step):
        self.kind = h["optimizer"]
        if self.kind not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.kind!r}")
        self.eta = _f32(lr)
        self.mu = _f32(h["momentum"])
        self.decay = _f32(h["weight_decay"])
        self.b1, self.b2 = h["beta1"], h["beta2"]
        self.eps = _f32(h["epsilon"])
        t = float(step) + 1.0
        lr32 = float(np.float32(lr))
        self.step_size = _f32(lr32 / (1.0 - self.b1 ** t))
        self.correction2 = _f32(math.sqrt(1.0 - self.b2 ** t))

    def step(self, name, state, new, g, p):
        m_old = _tensor(state[name + ".momentum"])
        if self.kind == "sgd":
            m = self.mu * m_old + g + self.decay * p
            new[name + ".momentum"] = m.numpy()
            return lambda x: x - self.eta * m
        v_old = _tensor(state[name + ".second_moment"])
        if self.kind == "adam" and float(self.decay) != 0.0:
            g = g + self.decay * p
        m = _f32(self.b1) * m_old + _f32(1.0 - self.b1) * g
        v = _f32(self.b2) * v_old + _f32(1.0 - self.b2) * (g * g)
        new[name + ".momentum"] = m.numpy()
        new[name + ".second_moment"] = v.numpy()
        denominator = torch.sqrt(v) / self.correction2 + self.eps
        delta = (self.step_size * m) / denominator
        if self.kind == "adamw" and float(self.decay) != 0.0:
            delta = delta + (self.eta * self.decay) * p
        return lambda x: x - delta


def _update_quantized_weight(op, index, state, params, grads, opt, step, h,
                             new, diagnostics):
    """The weight schemes of the contract for quantized layer `op`, the
    `index`-th quantized weight in program order."""
    n = op.name
    axis = op.weight_axis
    scheme = op.quant.scheme
    v = _tensor(state[n + ".weight.basis"])
    w_q = params[n + ".weight"].detach()
    g = grads[n + ".weight"]
    ridge = h["ridge"]
    if scheme in ("dq", "lqnets"):
        w = _tensor(state[n + ".weight.latent"])
        move = opt.step(n + ".weight", state, new, g, w)
        w_new = move(w)
        # Codes: nearest level of the updated latent weight under the old
        # basis.
        codes = Q.project_nearest(w_new, v, axis, Q.BIPOLAR)
        if scheme == "dq":
            target = move(w_q)
            v_new = Q.fit_levels(codes, target, v, axis, Q.BIPOLAR,
                                 ridge=ridge)
        else:
            b = h["lqnets_basis_momentum"]
            fitted = Q.fit_levels(codes, w_new, v, axis, Q.BIPOLAR,
                                  ridge=ridge)
            v_new = _f32(b) * v + _f32(1.0 - b) * fitted
        new[n + ".weight.latent"] = w_new.numpy()
        margin = nearest_margin_of(w_new, v, axis)
    elif scheme == "dq_lean":
        move = opt.step(n + ".weight", state, new, g, w_q)
        target = move(w_q)
        seed = int(h["seed"]) + index
        codes = Q.project_stochastic(target, v, axis, Q.BIPOLAR, seed, step)
        v_new = Q.fit_levels(codes, target, v, axis, Q.BIPOLAR, ridge=ridge)
        margin = stochastic_margin_of(target, v, axis, seed, step)
    else:
        raise ValueError(f"unknown weight scheme {scheme!r}")
    new[n + ".weight.codes"] = _codes_to_i8(codes.numpy())
    new[n + ".weight.basis"] = v_new.numpy()
    if diagnostics is not None:
        diagnostics[n + ".weight.codes.margin"] = margin


def calibrate(net, state, images, batches, iterations=3, hyper=None,
              diagnostics=None):
    """@calibrate: the state with every activation basis fitted to this
    batch (numpy arrays, state_spec's order).

    Forward in inference mode; each quantizer, in forward order, starts from
    its state's u, alternates nearest projection and the fit `iterations`
    times, and quantizes with the running average
    u + (fit - u) / (batches + 1) over the batches calibrated on so far,
    which the state keeps. diagnostics (optional) receives
    `<quantizer>.input.margin`: the smallest distance of an input to a
    threshold of any basis it was projected onto.
    """
    h = dict(DEFAULT_HYPER, **(hyper or {}))
    params = model_params(net, state)
    new = {name: np.array(state[name]) for name, _ in
           state_spec(net, h["optimizer"])}
    weight = _f32(1.0) / _f32(float(batches + 1))

    def fit(op, x, u):
        current = u
        margin = math.inf
        for _ in range(iterations):
            if x.numel():
                margin = min(margin, float(nearest_margin(
                    x.reshape(1, -1),
                    Q.levels(current, op.bits, Q.UNIPOLAR)[None, :]).min()))
            current = act_basis_fit(x, current, op.weighting, op.trim,
                                    op.axis, h)
        average = u + weight * (current - u)
        if x.numel():
            margin = min(margin, float(nearest_margin(
                x.reshape(1, -1),
                Q.levels(average, op.bits, Q.UNIPOLAR)[None, :]).min()))
        if diagnostics is not None:
            diagnostics[op.name + ".input.margin"] = margin
        new[op.name + ".input.basis"] = average.numpy()
        return average

    x = torch.from_numpy(np.array(images, dtype=np.float32))
    with torch.no_grad():
        forward(net, params, x, training=False, act_basis=fit)
    return new


def predict(net, state, images):
    """@predict: inference-mode logits [N, K] (numpy float32): batch norm
    with running statistics, decoded weights, current activation bases."""
    params = model_params(net, state)
    x = torch.from_numpy(np.array(images, dtype=np.float32))
    with torch.no_grad():
        return forward(net, params, x, training=False).numpy()


# --------------------------------------------------------------------------
# Distances to decision points (to tell rounding-order noise from bugs)
# --------------------------------------------------------------------------

def nearest_margin(rows, lv):
    """Distance (float64) of every element of rows [C, M] to the nearest
    threshold (midpoint of distinct neighbouring levels of its row in
    lv [C, L]); inf where a row has a single distinct level."""
    rows = rows.to(torch.float64)
    out = torch.full(rows.shape, math.inf, dtype=torch.float64)
    for c in range(rows.shape[0]):
        distinct = torch.unique(lv[c].to(torch.float64))
        if distinct.numel() < 2:
            continue
        mids = (distinct[1:] + distinct[:-1]) / 2
        out[c] = (rows[c][:, None] - mids[None, :]).abs().min(dim=1).values
    return out


def _rows(x, axis):
    return x.movedim(axis, 0).reshape(x.shape[axis], -1)


def _unrows(rows, like, axis):
    moved = list(like.shape)
    moved.insert(0, moved.pop(axis))
    return rows.reshape(moved).movedim(0, axis)


def nearest_margin_of(w, v, axis):
    """nearest_margin of a bipolar weight w under basis v (numpy, w's
    shape)."""
    lv = Q.levels(v, v.shape[1], Q.BIPOLAR)
    return _unrows(nearest_margin(_rows(w, axis), lv), w, axis).numpy()


def stochastic_margin_of(t, v, axis, seed, counter):
    """Distance of every element of t to the value where its stochastic code
    flips: lo + uniform * (hi - lo) in the interval [lo, hi) holding it
    (numpy, t's shape; inf outside the levels' range)."""
    uniform = Q.counter_uniform(seed, counter, t.numel()).reshape(t.shape)
    lv = Q.levels(v, v.shape[1], Q.BIPOLAR).to(torch.float64)
    rows = _rows(t, axis).to(torch.float64)
    u_rows = _rows(uniform, axis).to(torch.float64)
    out = torch.full(rows.shape, math.inf, dtype=torch.float64)
    for c in range(rows.shape[0]):
        distinct = torch.unique(lv[c])
        x = rows[c]
        hi_index = torch.searchsorted(distinct, x, right=True)
        inside = (hi_index > 0) & (hi_index < distinct.numel())
        k = hi_index.clamp(1, max(1, distinct.numel() - 1))
        lo = distinct[k - 1]
        hi = distinct[k] if distinct.numel() > 1 else lo
        flip = lo + u_rows[c] * (hi - lo)
        out[c] = torch.where(inside, (x - flip).abs(), out[c])
    return _unrows(out, t, axis).numpy()
