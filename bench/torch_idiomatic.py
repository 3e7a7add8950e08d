#!/usr/bin/env python3
"""The idiomatic PyTorch peer of dq's training step, for speed comparisons.

The same networks (python/dq_reference/resnet.py: `tiny`, `resnet8`,
`resnet20`), the same quantized-layer rule (every conv but the first and the
1x1 projection shortcuts; the fc layer stays fp32), the same LQ-Nets / DQ
weight quantizers and channel-aware activation quantizers (docs/Algorithm.md)
as python/dq_reference, written the way a PyTorch user writes them for speed
rather than for clarity:

* an `nn.Module` ResNet (NCHW `nn.Conv2d` / `nn.BatchNorm2d` / `nn.Linear`,
  in-place ReLU, `torch.optim.SGD(momentum=0.9, weight_decay=5e-4,
  foreach=True)` on every fp32 parameter, biases and batch norm included, as
  the reference) whose parameters are copied from
  dq_reference.resnet.build_network (same seed, same values);
* weight quantizer (`QConv2d`): the latent weight is the `nn.Parameter`; the
  forward decodes the codes into W_q with a custom autograd Function that
  hands G = dL/dW_q to the latent weight (straight-through). After
  `optimizer.step()` (which does m <- mu m + G + lambda W, W <- W - eta m),
  `update_quantizers` does the scheme's update in place under no_grad,
  vectorized over channels: codes = nearest level of the updated W
  (`torch.searchsorted` on each channel's sorted thresholds), then the basis
  fit from `bincount` histograms and one batched `torch.linalg.solve`:
  dq: v <- fit(codes, W_q - eta m); lqnets: v <- 0.9 v + 0.1 fit(codes, W);
* activation quantizer (`QuantAct`): nearest level by compare-and-count
  against the sorted thresholds (up to 15 thresholds, i.e. K <= 4: a few
  uint8 passes, several times faster than `torch.bucketize` here) or
  `torch.bucketize` (more bits), the clipped straight-through backward as a
  custom Function, and the basis update u <- 0.9 u + 0.1 fit(codes(x), x;
  Omega) done in the forward, like batch norm's running statistics, from
  per-(channel, level) `scatter_add_` histograms (energy weights Omega for
  `dq`, none for `lqnets`, optional trim); one int64 index
  (channel * 2^K + level) serves the level lookup and the histograms;
* no numpy <-> torch conversion in the step; images and labels are tensors.

Precisions: fp32 and wKaK' (K, K' in 1..8); weight schemes dq and lqnets,
activation schemes dq (energy weights) and lqnets (uniform), trim, as
dq_reference.resnet.quantized_network. (dq_lean is not implemented here.)

`to_reference_state` / `load_reference_state` convert to and from
dq_reference.training's state dict (names, NHWC layouts, int8 codes), which
is how `--check` (test/Bench/torch-idiomatic.test) compares the two: the
quantizer functions at every bit width, then each training step of several
schemes from the same state as dq_reference.training.train_step (loss,
correct count, every state tensor; rtol 1e-4, atol 1e-5; codes exactly):

    torch_idiomatic.py --check          # tiny arch, batch 4, 3 steps

Differences from the reference that are legitimate (checked within
tolerance, not bit for bit):

* the nearest level is found against midpoint thresholds (a value on a
  threshold goes up, equal levels give the lowest code) rather than by
  comparing distances; the two can disagree only for a value within one
  rounding of a threshold;
* activation histograms are accumulated in float32, the reference
  accumulates in float64; weight histograms and all solves are in float64
  as in the reference (LU instead of Cholesky);
* convolutions, batch norm, SGD and the loss are PyTorch's kernels
  (different summation order than the reference's NHWC permutes), so the
  quantizers' inputs differ by rounding, which a quantizer turns into a
  whole level where an input sits at a threshold. --check therefore feeds
  each idiomatic quantizer the reference's input value and verifies that
  every decision this changes lies within 1e-4 of a threshold;
* tosa's asymmetric padding [1,0,1,0] of the stride-2 convs and the slice
  before the 1x1 projection shortcut become the symmetric `padding=1` and a
  plain stride-2 1x1 conv, which read exactly the same input pixels;
* NaN inputs of a quantizer are not special-cased; the quantizers of the
  blocks skip the clamp at 0 (their inputs follow a ReLU).

Layout: `memory_format=torch.channels_last` (model and images) is supported
and is what bench/throughput_cpu.py uses by default: for ResNet-20 at batch
128 it was the faster layout here (PyTorch 1.13, oneDNN, 2-core VM, median
of 5 interleaved steps): train_step fp32 138 vs 159 ms (2 threads), 240 vs
290 ms (1 thread); W2A2 309 vs 344 ms, 456 vs 531 ms; predict 2-10 %
faster.
"""

import argparse
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, "python", "dq_reference")):
    sys.path.insert(0, os.path.join(ROOT, "python"))

DEFAULT_RIDGE = 1e-4
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
ACT_MOMENTUM = 0.9
LQNETS_BASIS_MOMENTUM = 0.9
BN_MOMENTUM = 0.1
BN_EPSILON = 1e-5
TRIM_EPSILON = 1e-8
ARCHS = {"resnet20": (16, 3), "resnet8": (16, 1), "tiny": (4, 1)}
CLASSES = 10
# Up to this many thresholds the activation quantizer counts comparisons
# (one vectorized pass per threshold); beyond it, torch.bucketize.
COMPARE_COUNT_MAX = 15


# --------------------------------------------------------------------------
# Level tables (tiny: [channels, 2^K]); everything per element is vectorized
# --------------------------------------------------------------------------

_SIGNS = {}


def signs(bits, bipolar, device=None):
    """[2^K, K] float32 table of s(c)_k (bipolar: 2 bit_k(c) - 1)."""
    key = (bits, bipolar, device)
    if key not in _SIGNS:
        codes = torch.arange(1 << bits, device=device)
        bit = (codes[:, None] >> torch.arange(bits, device=device)) & 1
        _SIGNS[key] = (2 * bit - 1 if bipolar else bit).float()
    return _SIGNS[key]


def level_table(basis, bipolar):
    """Levels of every code: basis [F, K] -> [F, 2^K], accumulated in bit
    order from 0.0 (the contract's rounding; a K-step loop on a tiny
    tensor)."""
    bits = basis.shape[-1]
    s = signs(bits, bipolar, basis.device)
    lv = torch.zeros(basis.shape[0], 1 << bits, device=basis.device)
    for k in range(bits):
        lv = lv + s[:, k] * basis[:, k:k + 1]
    return lv


def sorted_table(lv):
    """(sorted levels [F, n], code of each sorted position [F, n] (the
    lowest code among equal levels), thresholds [F, n - 1])."""
    vals, order = torch.sort(lv, dim=-1, stable=True)
    n = lv.shape[-1]
    start = torch.ones_like(vals, dtype=torch.bool)
    start[:, 1:] = vals[:, 1:] != vals[:, :-1]
    pos = torch.arange(n, device=lv.device).expand_as(order)
    first = torch.where(start, pos, torch.zeros_like(pos)).cummax(-1).values
    canon = order.gather(-1, first)
    thresholds = (vals[:, 1:] + vals[:, :-1]) * 0.5
    return vals, canon, thresholds


def nearest_codes(rows, lv):
    """Codes of the nearest levels of rows [F, M] under lv [F, n]."""
    _, canon, thr = sorted_table(lv)
    pos = torch.searchsorted(thr.contiguous(), rows.contiguous(), right=True)
    return canon.gather(1, pos)


def solve_fit(count, total, s, prev, ridge):
    """Ridge least squares from per-code histograms (float64):
    (sum_c W_c s s^T + ridge I) v = sum_c S_c s + ridge prev, batched over
    F. count/total [F, n], s [n, K] or [F, n, K], prev [F, K]."""
    s = s.double()
    if s.dim() == 2:
        a = torch.einsum("fc,ck,cj->fkj", count, s, s)
        b = total @ s
    else:
        a = torch.einsum("fc,fck,fcj->fkj", count, s, s)
        b = torch.einsum("fc,fck->fk", total, s)
    bits = prev.shape[-1]
    a = a + ridge * torch.eye(bits, dtype=torch.float64, device=a.device)
    b = b + ridge * prev.double()
    return torch.linalg.solve(a, b.unsqueeze(-1)).squeeze(-1).float()


def fit_weight_basis(codes, target, prev, ridge):
    """Per-channel bipolar fit: codes [O, M] (int64), target [O, M]."""
    channels, bits = prev.shape
    n = 1 << bits
    flat = (codes + torch.arange(channels, device=codes.device)[:, None] * n)
    flat = flat.reshape(-1)
    count = torch.bincount(flat, minlength=channels * n).double()
    total = torch.bincount(flat, weights=target.reshape(-1).double(),
                           minlength=channels * n)
    return solve_fit(count.view(channels, n), total.view(channels, n),
                     signs(bits, True, codes.device), prev, ridge)


def init_weight_state(w, bits, fan_out, alternations=3, ridge=DEFAULT_RIDGE):
    """LQ-Nets initialization, vectorized over channels: w [O, M] ->
    (codes [O, M] int64, basis [O, K])."""
    sigma = torch.tensor(0.6745 * math.sqrt(2.0 / fan_out) /
                         2.0 ** (bits - 1), dtype=torch.float32)
    powers = torch.tensor([2.0 ** k for k in range(bits)])
    basis = (sigma * powers).expand(w.shape[0], bits).contiguous()
    for _ in range(alternations):
        codes = nearest_codes(w, level_table(basis, True))
        basis = fit_weight_basis(codes, w, basis, ridge)
    return nearest_codes(w, level_table(basis, True)), basis


def init_act_basis(bits):
    step = 0.6745 * 2.0 / (2.0 ** bits - 1.0)
    return torch.tensor([step * 2.0 ** k for k in range(bits)],
                        dtype=torch.float32)


# --------------------------------------------------------------------------
# Autograd Functions (straight-through estimators)
# --------------------------------------------------------------------------

class _DecodeSTE(torch.autograd.Function):
    """W_q = levels[codes] in the forward; dL/dW_q goes to the latent weight
    unchanged."""

    @staticmethod
    def forward(ctx, latent, lv, codes):
        return lv.gather(1, codes).view(latent.shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None


class _ClippedSTE(torch.autograd.Function):
    """Identity on the quantized values q in the forward; the clipped
    straight-through backward: dy where x <= the top level (x < 0 included:
    it is not the derivative of the clamp)."""

    @staticmethod
    def forward(ctx, x, q, top):
        ctx.save_for_backward(x <= top)
        return q

    @staticmethod
    def backward(ctx, dy):
        (passes,) = ctx.saved_tensors
        return dy * passes, None, None


def _is_channels_last(t):
    return t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(
        memory_format=torch.channels_last)


def _memory_order(t):
    """t as a flat view in its memory order (NCHW or channels-last), and
    the function that gives a flat tensor of that order t's shape back."""
    if _is_channels_last(t):
        nhwc = t.permute(0, 2, 3, 1)
        return nhwc.reshape(-1), lambda f: f.view(nhwc.shape).permute(
            0, 3, 1, 2)
    t = t.contiguous()
    return t.reshape(-1), lambda f: f.view(t.shape)


def level_positions(x, thresholds, nonnegative=False):
    """Sorted-level position of the nearest level of max(x, 0): the number
    of thresholds <= it (a value on a threshold goes up), flat, in x's
    memory order. uint8 for up to COMPARE_COUNT_MAX thresholds, else
    int64."""
    xs, _ = _memory_order(x)
    if thresholds.numel() <= COMPARE_COUNT_MAX:
        # Compare-and-count in uint8, one vectorized pass per threshold.
        # The clamp at 0 changes no count when the lowest threshold is
        # positive (levels start at 0 unless the basis has a negative
        # entry), or when x follows a ReLU.
        ts = thresholds.tolist()
        xc = xs if nonnegative or ts[0] > 0 else xs.clamp(min=0.0)
        pos = (xc >= ts[0]).to(torch.uint8)
        for t in ts[1:]:
            pos += xc >= t
        return pos
    xc = xs if nonnegative else xs.clamp(min=0.0)
    return torch.bucketize(xc, thresholds, right=True)


# --------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------

def _histograms(index, values, bins):
    """(count, sum of values) per bin, float32 (scatter_add_: unlike
    bincount it does not scan the index for its range first)."""
    count = torch.zeros(bins, dtype=values.dtype, device=values.device)
    count.scatter_add_(0, index, torch.ones(1, dtype=values.dtype,
                                            device=values.device)
                       .expand(index.numel()))
    total = torch.zeros(bins, dtype=values.dtype, device=values.device)
    total.scatter_add_(0, index, values)
    return count, total


class QuantAct(nn.Module):
    """Channel-aware activation quantizer (unipolar, one basis per layer),
    input [N, C, ...] (channel axis 1)."""

    def __init__(self, bits, weighting="energy", trim=0.0,
                 momentum=ACT_MOMENTUM, ridge=DEFAULT_RIDGE,
                 eps=TRIM_EPSILON, after_relu=False):
        super().__init__()
        if weighting not in ("energy", "uniform"):
            raise ValueError(f"weighting must be energy or uniform, got "
                             f"{weighting!r}")
        self.bits, self.weighting, self.trim = bits, weighting, trim
        self.momentum, self.ridge, self.eps = momentum, ridge, eps
        # The input is known to be >= 0 (it follows a ReLU): the clamp at 0
        # is skipped.
        self.after_relu = after_relu
        self.register_buffer("basis", init_act_basis(bits))

    def forward(self, x):
        lv = level_table(self.basis[None, :], bipolar=False)
        vals, canon, thr = (t[0] for t in sorted_table(lv))
        n = vals.numel()
        channels = x.shape[1]
        with torch.no_grad():
            pos = level_positions(x, thr, self.after_relu)
            per_channel = self.training and (self.weighting == "energy" or
                                             self.trim > 0)
            if per_channel:
                # One int64 index for the lookup and the per-(channel,
                # level) histograms: channel * n + position.
                chan = torch.arange(channels, device=x.device,
                                    dtype=torch.int16 if channels * n < 2 ** 15
                                    else torch.int64) * n
                if _is_channels_last(x):
                    index = pos.view(-1, channels) + chan
                else:
                    index = pos.view(x.shape[0], channels, -1) + chan[:, None]
                index = index.reshape(-1).long()
                table = vals.repeat(channels)
            else:
                index = pos.long()
                table = vals
            q = _memory_order(x)[1](table.gather(0, index))
            if self.training:
                self._update(x if self.after_relu else x.clamp(min=0.0),
                             q, index, per_channel, canon)
        if torch.is_grad_enabled() and x.requires_grad:
            q = _ClippedSTE.apply(x, q, vals[-1])
        return q

    def _update(self, x, q, index, per_channel, canon):
        """u <- a u + (1 - a) fit(codes(x), x; Omega): histograms per
        (channel, sorted level) (per sorted level with uniform weights),
        weighted by Omega per channel."""
        n = 1 << self.bits
        channels = x.shape[1]
        dims = [d for d in range(x.dim()) if d != 1]
        xs, _ = _memory_order(x)
        if per_channel:
            energy = (x * x).mean(dim=dims)
            if self.weighting == "energy":
                omega = 1.0 / (energy + self.eps)
                omega = omega / omega.mean()
            else:
                omega = torch.ones_like(energy)
            drop = math.floor(self.trim * channels)
            if drop > 0:
                rel = ((x - q) ** 2).mean(dim=dims) / (energy + self.eps)
                # Largest relative error first; equal errors: lower channel.
                order = torch.sort(-rel, stable=True).indices
                omega = omega.clone()
                omega[order[:drop]] = 0.0
            count, total = _histograms(index, xs, channels * n)
            om = omega.double()
            count = om @ count.view(channels, n).double()
            total = om @ total.view(channels, n).double()
        else:
            count, total = _histograms(index, xs, n)
            count, total = count.double(), total.double()
        s = signs(self.bits, False, x.device)[canon]  # signs of each position
        fitted = solve_fit(count[None], total[None], s, self.basis[None],
                           self.ridge)[0]
        a = self.momentum
        self.basis.copy_(a * self.basis + (1.0 - a) * fitted)


class QConv2d(nn.Conv2d):
    """nn.Conv2d whose weight, when `bits` is set, is quantized per output
    channel: `weight` is the latent full-precision weight, the buffers
    `codes` [O, I*KH*KW] and `basis` [O, K] the quantized one."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, bits=None,
                 scheme="dq", ridge=DEFAULT_RIDGE):
        super().__init__(cin, cout, kernel, stride, padding, bias=True)
        if scheme not in ("dq", "lqnets"):
            raise ValueError(f"weight scheme must be dq or lqnets, got "
                             f"{scheme!r}")
        self.bits, self.scheme, self.ridge = bits, scheme, ridge
        if bits is not None:
            fan = cin * kernel * kernel
            self.register_buffer("codes", torch.zeros(cout, fan,
                                                      dtype=torch.int64))
            self.register_buffer("basis", torch.zeros(cout, bits))
            self.w_q = None

    def fan_out(self):
        return self.out_channels * self.kernel_size[0] * self.kernel_size[1]

    @torch.no_grad()
    def init_quantizer(self):
        """LQ-Nets init from the current weight; latent := decoded W_q."""
        w = self.weight.reshape(self.out_channels, -1)
        codes, basis = init_weight_state(w, self.bits, self.fan_out(),
                                         ridge=self.ridge)
        self.codes.copy_(codes)
        self.basis.copy_(basis)
        self.weight.copy_(level_table(basis, True).gather(1, codes)
                          .view(self.weight.shape))

    def forward(self, x):
        if self.bits is None:
            return super().forward(x)
        w = _DecodeSTE.apply(self.weight, level_table(self.basis, True),
                             self.codes)
        self.w_q = w.detach()
        return self._conv_forward(x, w, self.bias)

    @torch.no_grad()
    def update_quantizer(self, lr, momentum_buffer):
        """After the optimizer step: codes = nearest(W, v_old); dq:
        v = fit(codes, W_q - lr m); lqnets: v = 0.9 v + 0.1 fit(codes, W)."""
        rows = self.weight.reshape(self.out_channels, -1)
        codes = nearest_codes(rows, level_table(self.basis, True))
        if self.scheme == "dq":
            target = (self.w_q - lr * momentum_buffer).reshape(
                self.out_channels, -1)
            basis = fit_weight_basis(codes, target, self.basis, self.ridge)
        else:
            fitted = fit_weight_basis(codes, rows, self.basis, self.ridge)
            b = LQNETS_BASIS_MOMENTUM
            basis = b * self.basis + (1.0 - b) * fitted
        self.codes.copy_(codes)
        self.basis.copy_(basis)


def _bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPSILON, momentum=BN_MOMENTUM)


class SubsampledPointwiseConv2d(nn.Conv2d):
    """A strided 1x1 convolution computed as a stride-1 one on the
    subsampled input: the same products and sums. PyTorch 1.13's oneDNN
    corrupts the heap in the backward of a channels-last stride-2 1x1
    convolution with 4 input channels (seen on an AVX2 AMD EPYC,
    2026-12-03), so the tiny arch's shortcuts take this form; wider ones
    keep nn.Conv2d."""

    def forward(self, x):
        sh, sw = self.stride
        return F.conv2d(x[:, :, ::sh, ::sw], self.weight, self.bias)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, quant):
        super().__init__()
        q = quant or {}
        # Both quantizers read ReLU outputs.
        self.act1 = (QuantAct(**q["act"], after_relu=True) if quant
                     else nn.Identity())
        self.conv1 = QConv2d(cin, cout, 3, stride, 1, **q.get("weight", {}))
        self.bn1 = _bn(cout)
        self.act2 = (QuantAct(**q["act"], after_relu=True) if quant
                     else nn.Identity())
        self.conv2 = QConv2d(cout, cout, 3, 1, 1, **q.get("weight", {}))
        self.bn2 = _bn(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = None
        if stride != 1 or cin != cout:
            # The reference's slice to (H-1)x(W-1) before the stride-2 1x1
            # conv drops only pixels that conv never reads.
            conv = SubsampledPointwiseConv2d if cin < 8 else nn.Conv2d
            self.shortcut = nn.Sequential(
                conv(cin, cout, 1, stride, 0, bias=True), _bn(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(self.act1(x))))
        out = self.bn2(self.conv2(self.act2(out)))
        out += x if self.shortcut is None else self.shortcut(x)
        return self.relu(out)


class ResNet(nn.Module):
    """CIFAR-style ResNet of dq_reference.resnet (28x28x1 input, NCHW).

    precision: "fp32" or "wKaK'"; w_scheme dq|lqnets, a_scheme dq|lqnets
    (energy or uniform channel weights), trim as the reference's options.
    """

    def __init__(self, arch="resnet20", precision="fp32", w_scheme="dq",
                 a_scheme="dq", trim=0.0, ridge=DEFAULT_RIDGE):
        super().__init__()
        width, blocks = ARCHS[arch]
        self.arch, self.precision = arch, precision
        quant = None
        if precision != "fp32":
            w_bits, a_bits = parse_precision(precision)
            if a_scheme not in ("dq", "lqnets"):
                raise ValueError(f"activation scheme must be dq or lqnets, "
                                 f"got {a_scheme!r}")
            quant = {"weight": {"bits": w_bits, "scheme": w_scheme,
                                "ridge": ridge},
                     "act": {"bits": a_bits, "trim": trim, "ridge": ridge,
                             "weighting": ("energy" if a_scheme == "dq"
                                           else "uniform")}}
        self.stem_conv = nn.Conv2d(1, width, 3, 1, 1, bias=True)
        self.stem_bn = _bn(width)
        self.relu = nn.ReLU(inplace=True)
        layers, cin = [], width
        for s in range(1, 4):
            cout = width << (s - 1)
            for b in range(1, blocks + 1):
                stride = 2 if s > 1 and b == 1 else 1
                layers.append(BasicBlock(cin, cout, stride, quant))
                cin = cout
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, CLASSES)
        self._blocks_per_stage = blocks

    def forward(self, x):
        x = self.relu(self.stem_bn(self.stem_conv(x)))
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def quantized_convs(self):
        return [m for m in self.modules()
                if isinstance(m, QConv2d) and m.bits is not None]

    @torch.no_grad()
    def update_quantizers(self, optimizer):
        """The weight schemes' update of every quantized conv, after
        optimizer.step() (reads its momentum buffers and learning rate)."""
        lr = optimizer.param_groups[0]["lr"]
        for conv in self.quantized_convs():
            conv.update_quantizer(
                lr, optimizer.state[conv.weight]["momentum_buffer"])

    def named_ref(self):
        """(reference op name, module) of every layer that owns state."""
        out = [("stem.conv", self.stem_conv), ("stem.bn", self.stem_bn)]
        per = self._blocks_per_stage
        for i, blk in enumerate(self.blocks):
            p = f"stage{i // per + 1}.block{i % per + 1}"
            out += [(p + ".conv1", blk.conv1), (p + ".bn1", blk.bn1),
                    (p + ".conv2", blk.conv2), (p + ".bn2", blk.bn2)]
            if blk.shortcut is not None:
                out += [(p + ".shortcut.conv", blk.shortcut[0]),
                        (p + ".shortcut.bn", blk.shortcut[1])]
            if isinstance(blk.act1, QuantAct):
                out += [(p + ".conv1.input", blk.act1),
                        (p + ".conv2.input", blk.act2)]
        out += [("fc", self.fc)]
        return out


def parse_precision(precision):
    p = precision.lower()
    if not (p.startswith("w") and "a" in p):
        raise ValueError(f"precision must be fp32 or wKaK', got {precision}")
    w, a = p[1:].split("a")
    return int(w), int(a)


def make_optimizer(model, lr):
    """torch.optim.SGD as the reference: momentum 0.9, weight decay 5e-4 on
    every parameter (biases, gamma, beta included), no dampening.
    foreach: the multi-tensor implementation (fewer kernel launches)."""
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM,
                           weight_decay=WEIGHT_DECAY, foreach=True)


def build(arch="resnet20", precision="fp32", w_scheme="dq", a_scheme="dq",
          trim=0.0, seed=0, memory_format=torch.contiguous_format):
    """The model with dq_reference.resnet.build_network(arch, seed)'s
    parameters and (quantized) the LQ-Nets-initialized weight state."""
    from dq_reference import resnet as R
    model = ResNet(arch, precision, w_scheme, a_scheme, trim)
    net = R.build_network(arch, 2, seed)
    with torch.no_grad():
        mods = dict(model.named_ref())
        for op in net.ops:
            name = getattr(op, "name", None)
            if hasattr(op, "pad") and name in mods:  # Conv2D
                m = mods[name]
                m.weight.copy_(torch.from_numpy(op.weight).permute(0, 3, 1, 2))
                m.bias.copy_(torch.from_numpy(op.bias))
            elif hasattr(op, "gamma"):
                m = mods[name]
                m.weight.copy_(torch.from_numpy(op.gamma))
                m.bias.copy_(torch.from_numpy(op.beta))
                m.running_mean.copy_(torch.from_numpy(op.mean))
                m.running_var.copy_(torch.from_numpy(op.var))
            elif name == "fc":
                model.fc.weight.copy_(torch.from_numpy(op.weight[0]).t())
            elif name == "fc.bias_add":
                model.fc.bias.copy_(torch.from_numpy(op.bias).reshape(-1))
    for conv in model.quantized_convs():
        conv.init_quantizer()
    return model.to(memory_format=memory_format)


def train_step(model, optimizer, images, labels):
    """One step: forward, loss, backward, SGD, quantizer update.
    Returns (loss tensor, number correct tensor)."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    logits = model(images)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    optimizer.step()
    model.update_quantizers(optimizer)
    return loss.detach(), (logits.detach().argmax(1) == labels).sum()


def predict(model, images):
    model.eval()
    with torch.no_grad():
        return model(images)


# --------------------------------------------------------------------------
# Conversion to and from dq_reference.training's state
# --------------------------------------------------------------------------

def _conv_to_ref(w):
    return w.detach().permute(0, 2, 3, 1).contiguous()


def to_reference_state(model, optimizer):
    """{reference name: numpy array} (momenta of parameters the optimizer
    has not stepped yet are zeros, as the reference's initial state)."""
    import numpy as np
    out = {}

    def mom(p):
        buf = optimizer.state.get(p, {}).get("momentum_buffer")
        return torch.zeros_like(p) if buf is None else buf

    def put(name, t):
        out[name] = t.detach().contiguous().numpy().copy()

    for name, m in model.named_ref():
        if isinstance(m, QuantAct):
            put(name + ".basis", m.basis)
        elif isinstance(m, nn.BatchNorm2d):
            put(name + ".gamma", m.weight)
            put(name + ".gamma.momentum", mom(m.weight))
            put(name + ".beta", m.bias)
            put(name + ".beta.momentum", mom(m.bias))
            put(name + ".running_mean", m.running_mean)
            put(name + ".running_var", m.running_var)
        elif isinstance(m, nn.Linear):
            put("fc.weight", m.weight.t()[None])
            put("fc.weight.momentum", mom(m.weight).t()[None])
            put("fc.bias_add.bias", m.bias.view(1, 1, -1))
            put("fc.bias_add.bias.momentum", mom(m.bias).view(1, 1, -1))
        else:
            if isinstance(m, QConv2d) and m.bits is not None:
                codes = m.codes.view(m.weight.shape).permute(0, 2, 3, 1)
                out[name + ".weight.codes"] = (
                    codes.contiguous().numpy().astype(np.uint8).view(np.int8))
                put(name + ".weight.basis", m.basis)
                put(name + ".weight.latent", _conv_to_ref(m.weight))
            else:
                put(name + ".weight", _conv_to_ref(m.weight))
            put(name + ".weight.momentum", _conv_to_ref(mom(m.weight)))
            put(name + ".bias", m.bias)
            put(name + ".bias.momentum", mom(m.bias))
    return out


@torch.no_grad()
def load_reference_state(model, optimizer, state):
    """The inverse of to_reference_state (momentum buffers included)."""
    import numpy as np

    def t(name):
        v = np.asarray(state[name])
        if v.dtype == np.int8:
            return torch.from_numpy(v.view(np.uint8).astype(np.int64))
        return torch.from_numpy(np.array(v, dtype=np.float32))

    def set_mom(p, value):
        optimizer.state[p]["momentum_buffer"] = value.clone().to(
            memory_format=torch.channels_last if p.dim() == 4 and
            not p.is_contiguous() else torch.contiguous_format)

    def nchw(x):
        return x.permute(0, 3, 1, 2)

    for name, m in model.named_ref():
        if isinstance(m, QuantAct):
            m.basis.copy_(t(name + ".basis"))
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.copy_(t(name + ".gamma"))
            set_mom(m.weight, t(name + ".gamma.momentum"))
            m.bias.copy_(t(name + ".beta"))
            set_mom(m.bias, t(name + ".beta.momentum"))
            m.running_mean.copy_(t(name + ".running_mean"))
            m.running_var.copy_(t(name + ".running_var"))
        elif isinstance(m, nn.Linear):
            m.weight.copy_(t("fc.weight")[0].t())
            set_mom(m.weight, t("fc.weight.momentum")[0].t())
            m.bias.copy_(t("fc.bias_add.bias").reshape(-1))
            set_mom(m.bias, t("fc.bias_add.bias.momentum").reshape(-1))
        else:
            if isinstance(m, QConv2d) and m.bits is not None:
                m.codes.copy_(nchw(t(name + ".weight.codes")).reshape(
                    m.out_channels, -1))
                m.basis.copy_(t(name + ".weight.basis"))
                m.weight.copy_(nchw(t(name + ".weight.latent")))
            else:
                m.weight.copy_(nchw(t(name + ".weight")))
            set_mom(m.weight, nchw(t(name + ".weight.momentum")))
            m.bias.copy_(t(name + ".bias"))
            set_mom(m.bias, t(name + ".bias.momentum"))


# --------------------------------------------------------------------------
# --check: the same step as dq_reference.training.train_step
# --------------------------------------------------------------------------

CHECK_CASES = (
    # (precision, w_scheme, a_scheme, trim)
    ("fp32", "dq", "dq", 0.0),
    ("w2a2", "dq", "dq", 0.0),
    ("w2a2", "lqnets", "lqnets", 0.0),
    ("w1a2", "dq", "lqnets", 0.0),
    ("w3a3", "lqnets", "dq", 0.25),
    ("w4a8", "dq", "dq", 0.0),
)

# A quantizer turns a rounding difference of its input at a threshold into a
# whole level step. The step check feeds each quantizer of the idiomatic
# model the reference's input value (see check()); a decision that this
# changes must be this close to a threshold (activations are O(1)).
TIE_DISTANCE = 1e-4


class _Mismatches:
    def __init__(self, rtol, atol):
        self.rtol, self.atol = rtol, atol
        self.errors, self.notes = [], []

    def close(self, name, got, want):
        import numpy as np
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            self.errors.append(f"{name}: shape {got.shape} != {want.shape}")
            return False
        if np.allclose(got, want, rtol=self.rtol, atol=self.atol):
            return True
        err = np.abs(got - want) - self.atol - self.rtol * np.abs(want)
        i = np.unravel_index(np.argmax(err), want.shape)
        self.errors.append(f"{name}: max excess {err[i]:.3g} at {i}: "
                           f"idiomatic {got[i]:.9g} reference {want[i]:.9g}")
        return False

    def equal(self, name, got, want):
        import numpy as np
        bad = np.asarray(got) != np.asarray(want)
        if bad.any():
            self.errors.append(f"{name}: {int(bad.sum())} of {bad.size} "
                               f"differ")
            return False
        return True


def _distance_to_threshold(x, vals):
    """Distance of every element of x to the nearest midpoint of distinct
    neighbouring levels (1-D vals, sorted)."""
    distinct = torch.unique(vals)
    if distinct.numel() < 2:
        return torch.full_like(x, math.inf)
    mids = (distinct[1:] + distinct[:-1]) / 2
    i = torch.bucketize(x, mids).clamp(1, mids.numel() - 1)
    lo = (x - mids[i - 1]).abs()
    hi = (x - mids[i.clamp(max=mids.numel() - 1)]).abs()
    near = torch.minimum(lo, hi)
    return torch.minimum(near, (x - mids[0]).abs())


def check_components(rtol, atol):
    """The vectorized quantizers against dq_reference.quantizers and
    training's activation update, on the same inputs, every bit width."""
    from dq_reference import quantizers as Q
    from dq_reference import training as T
    m = _Mismatches(rtol, atol)
    gen = torch.Generator().manual_seed(0)
    for bits in range(1, 9):
        w = torch.randn(6, 37, generator=gen) * 0.1
        codes, basis = init_weight_state(w, bits, 6 * 9)
        ref = Q.init_weight_state(w, bits, 0, 6 * 9)
        m.equal(f"W{bits} init codes", codes, ref.codes)
        m.close(f"W{bits} init basis", basis, ref.basis)
        w2 = w + 0.01 * torch.randn(w.shape, generator=gen)
        got = nearest_codes(w2, level_table(basis, True))
        want = Q.project_nearest(w2, basis, 0, Q.BIPOLAR)
        m.equal(f"W{bits} nearest codes", got, want)
        m.close(f"W{bits} fit", fit_weight_basis(got, w2, basis,
                                                 DEFAULT_RIDGE),
                Q.fit_levels(want, w2, basis, 0, Q.BIPOLAR))
        m.close(f"W{bits} decode", level_table(basis, True).gather(1, got),
                Q.decode_weights(want, basis, 0))
        for weighting, trim in (("energy", 0.0), ("uniform", 0.0),
                                ("energy", 0.25), ("uniform", 0.5)):
            x = torch.relu(torch.randn(3, 8, 5, 5, generator=gen) *
                           (torch.rand(1, 8, 1, 1, generator=gen) * 3))
            u = init_act_basis(bits) * (1 + 0.2 * torch.rand(
                bits, generator=gen))
            act = QuantAct(bits, weighting, trim).train()
            act.basis.copy_(u)
            xg = x.clone().requires_grad_(True)
            q = act(xg)
            tag = f"A{bits} {weighting} trim {trim}"
            m.equal(tag + " quantize", q.detach(), Q.quantize_act(x, u))
            q.sum().backward()
            m.equal(tag + " STE", xg.grad,
                    (x <= T.act_top_level(u)).float())
            m.close(tag + " basis update", act.basis,
                    T.act_basis_update(x, u, weighting, trim, 1,
                                       T.DEFAULT_HYPER))
    # The contract's tie rules on exactly representable midpoints: a value
    # on a threshold goes up, equal levels give the lowest code, values
    # beyond the extremes take the extreme level.
    for v in ([0.25, 0.5], [0.5, 0.5], [0.5, 0.0]):
        basis = torch.tensor([v, v[::-1]])
        rows = torch.tensor([-5.0, -1.0, -0.5, -0.25, 0.0, 0.1, 0.25, 0.5,
                             0.75, 1.0, 5.0]).expand(2, -1).contiguous()
        m.equal(f"ties bipolar {v}",
                nearest_codes(rows, level_table(basis, True)),
                Q.project_nearest(rows, basis, 0, Q.BIPOLAR))
        u = torch.tensor(v)
        x = torch.tensor([-1.0, 0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75,
                          2.0]).view(1, 1, 3, 3)
        act = QuantAct(2, "uniform").eval()
        act.basis.copy_(u)
        m.equal(f"ties unipolar {v}", act(x), Q.quantize_act(x, u))
    print(f"{'OK  ' if not m.errors else 'FAIL'} quantizer components, "
          f"1..8 bits, tie rules")
    for msg in m.errors[:20]:
        print("     " + msg)
    return not m.errors


def check(args):
    """Each step of CHECK_CASES from the same state as
    dq_reference.training.train_step: same loss, same correct count, same
    new state within rtol/atol (codes exactly, but at ties)."""
    import numpy as np
    from dq_reference import resnet as R
    from dq_reference import training as T

    torch.set_num_threads(args.threads)
    failures = 0 if check_components(args.rtol, args.atol) else 1
    rng = np.random.default_rng([args.seed, 1])
    images = rng.random(R.images_shape(args.batch)).astype(np.float32)
    labels = rng.integers(0, R.CLASSES, args.batch).astype(np.int32)
    fp_net = R.build_network(args.arch, args.batch, args.seed)
    for precision, w_scheme, a_scheme, trim in CHECK_CASES:
        for layout in ("contiguous", "channels-last"):
            fmt = (torch.channels_last if layout == "channels-last"
                   else torch.contiguous_format)
            net = fp_net
            if precision != "fp32":
                wb, ab = parse_precision(precision)
                net = R.quantized_network(fp_net, wb, ab, w_scheme, a_scheme,
                                          trim)
            m = _Mismatches(args.rtol, args.atol)
            model = build(args.arch, precision, w_scheme, a_scheme, trim,
                          args.seed, fmt)
            opt = make_optimizer(model, args.lr)
            x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(
                memory_format=fmt)
            y = torch.from_numpy(labels).long()

            # Init: the same state as training.init_state.
            ref_state = T.init_state(net)
            got = to_reference_state(model, opt)
            for name, want in ref_state.items():
                (m.equal if want.dtype == np.int8 else m.close)(
                    "init " + name, got[name], want)

            forced = {}
            flips = [0]

            def force(mod, inputs, name):
                # The reference's value, bit for bit (x + (x_ref - x) is
                # exact for values this close), the gradient path of x.
                xi = inputs[0]
                x_ref = forced[name].permute(0, 3, 1, 2).contiguous(
                    memory_format=fmt)
                out = xi + (x_ref - xi).detach()
                vals = sorted_table(level_table(mod.basis[None], False))[0][0]
                own = _nearest_values(xi.detach(), vals)
                ref = _nearest_values(x_ref, vals)
                moved = own != ref
                if moved.any():
                    flips[0] += int(moved.sum())
                    far = _distance_to_threshold(x_ref[moved], vals)
                    if float(far.max()) > TIE_DISTANCE:
                        m.errors.append(
                            f"{name}: a quantizer decision differs "
                            f"{float(far.max()):.2e} from a threshold")
                if not torch.equal(out, x_ref):
                    m.errors.append(f"{name}: forcing did not give the "
                                    f"reference's input")
                return (out,)

            for name, mod in model.named_ref():
                if isinstance(mod, QuantAct):
                    mod.register_forward_pre_hook(
                        lambda mod, inp, name=name: force(mod, inp, name))

            worst = 0.0
            for step in range(args.steps):
                # The same step from the same state: the reference's state
                # after its previous step goes into the idiomatic model.
                load_reference_state(model, opt, ref_state)
                diag = {}
                new_ref, ref_loss, ref_correct = T.train_step(
                    net, ref_state, images, labels, args.lr, step,
                    diagnostics=diag)
                for name, mod in model.named_ref():
                    if isinstance(mod, QuantAct):
                        forced[name] = diag["trace"][name]
                loss, correct = train_step(model, opt, x, y)
                got = to_reference_state(model, opt)
                worst = max(worst, abs(float(loss) - float(ref_loss)))
                m.close(f"step {step} loss", float(loss), float(ref_loss))
                m.equal(f"step {step} correct", int(correct), ref_correct)
                tied = set()
                for name, want in new_ref.items():
                    if want.dtype != np.int8:
                        continue
                    bad = got[name] != want
                    if not bad.any():
                        continue
                    # Codes of the updated latent weight may differ where it
                    # is within rounding of a threshold; the basis fitted
                    # from those codes then differs too.
                    margin = diag[name + ".margin"][bad]
                    layer = name[:-len(".weight.codes")]
                    if float(margin.max()) < 1e-6:
                        tied.add(layer)
                        m.notes.append(f"step {step} {layer}: "
                                       f"{int(bad.sum())} codes at ties, "
                                       f"basis not compared")
                    else:
                        m.equal(f"step {step} {name}", got[name], want)
                for name, want in new_ref.items():
                    if want.dtype == np.int8:
                        continue
                    if name.endswith(".weight.basis") and \
                            name[:-len(".weight.basis")] in tied:
                        continue
                    m.close(f"step {step} {name}", got[name], want)
                ref_state = new_ref
            # Inference from the final state (running statistics, frozen
            # bases), quantizer inputs forced as above.
            load_reference_state(model, opt, ref_state)
            trace = {}
            with torch.no_grad():
                want = T.forward(net, T.model_params(net, ref_state),
                                 torch.from_numpy(images), training=False,
                                 trace=trace)
            for name, mod in model.named_ref():
                if isinstance(mod, QuantAct):
                    forced[name] = trace[name]
            m.close("predict logits", predict(model, x), want)
            case = f"{precision} {w_scheme}/{a_scheme} trim {trim} {layout}"
            print(f"{'OK  ' if not m.errors else 'FAIL'} {case}: "
                  f"{args.steps} steps, {len(ref_state)} state tensors, "
                  f"max |loss diff| {worst:.2e}, {flips[0]} quantizer "
                  f"decisions at ties")
            for msg in (m.errors + m.notes)[:20]:
                print("     " + msg)
            failures += bool(m.errors)
    print(f"{failures} failing case(s)")
    return 1 if failures else 0


def _nearest_values(x, vals):
    """Level values nearest to max(x, 0) (the forward of QuantAct)."""
    thr = (vals[1:] + vals[:-1]) * 0.5
    return vals[torch.bucketize(x.clamp(min=0.0).contiguous(), thr,
                                right=True)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare steps with dq_reference.training")
    parser.add_argument("--arch", default="tiny", choices=sorted(ARCHS))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args()
    if not args.check:
        parser.error("nothing to do (use --check, or import this module)")
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
