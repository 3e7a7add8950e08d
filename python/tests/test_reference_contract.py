#!/usr/bin/env python3
"""Checks python/dq_reference against hand-computed cases of docs/Numerics.md.

Standalone: `/usr/bin/python3 python/tests/test_reference_contract.py` exits 0
when every check passes and 1 (listing the failures) otherwise.
"""

import math
import os
import sys
import traceback

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import dq_reference as R  # noqa: E402

BI, UNI = R.BIPOLAR, R.UNIPOLAR
_failures = []
_checks = [0]


def check(condition, message):
    _checks[0] += 1
    if not condition:
        _failures.append(message)


def f32(values):
    return torch.tensor(values, dtype=torch.float32)


def same(actual, expected):
    """Exact equality of two tensors (NaN equal to NaN)."""
    a = torch.as_tensor(actual)
    e = torch.as_tensor(expected, dtype=a.dtype)
    if a.shape != e.shape:
        return False
    both_nan = torch.isnan(a) & torch.isnan(e) if a.is_floating_point() \
        else torch.zeros(a.shape, dtype=torch.bool)
    return bool(((a == e) | both_nan).all())


# --------------------------------------------------------------------------
# Independent scalar models, written from the contract's other phrasings.
# --------------------------------------------------------------------------

def scalar_levels(basis_row, encoding):
    """Levels of one basis row, float32 accumulation in bit order."""
    k = len(basis_row)
    out = []
    for c in range(1 << k):
        level = np.float32(0.0)
        for j in range(k):
            bit = (c >> j) & 1
            s = (2 * bit - 1) if encoding == BI else bit
            level = np.float32(level + np.float32(s) * np.float32(basis_row[j]))
        out.append(level)
    return out


def scalar_nearest_by_thresholds(x, lv):
    """"Thresholds at midpoints of sorted neighbours, a value on a threshold
    goes up, values beyond the extremes take the extremes", with |x - l| in
    float32 to decide between the two neighbours."""
    order = sorted(range(len(lv)), key=lambda c: (lv[c], c))
    sorted_lv = [lv[c] for c in order]
    x = np.float32(x)
    above = [i for i, l in enumerate(sorted_lv) if l > x]
    if not above:
        top = sorted_lv[-1]
        return min(c for c in range(len(lv)) if lv[c] == top)
    hi = above[0]
    if hi == 0:
        return order[0]
    lo = hi - 1
    d_lo = abs(np.float32(x - sorted_lv[lo]))
    d_hi = abs(np.float32(x - sorted_lv[hi]))
    chosen = sorted_lv[hi] if d_hi <= d_lo else sorted_lv[lo]
    return min(c for c in range(len(lv)) if lv[c] == chosen)


def python_mix32(x):
    x &= 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def python_uniform(seed, counter, i):
    h = python_mix32((seed & 0xFFFFFFFF) ^ 0x9E3779B9)
    h = python_mix32(h ^ (seed >> 32))
    h = python_mix32(h ^ (counter & 0xFFFFFFFF))
    h = python_mix32(h ^ (counter >> 32))
    h = python_mix32(h ^ (i & 0xFFFFFFFF))
    return (h >> 8) / 16777216.0


def numpy_uniform(seed, counter, n):
    """Same hash with numpy uint32 wrap-around arithmetic."""
    def mix(x):
        x = x ^ (x >> np.uint32(16))
        x = x * np.uint32(0x7FEB352D)
        x = x ^ (x >> np.uint32(15))
        x = x * np.uint32(0x846CA68B)
        x = x ^ (x >> np.uint32(16))
        return x

    with np.errstate(over="ignore"):
        h = mix(np.array([(seed & 0xFFFFFFFF) ^ 0x9E3779B9], dtype=np.uint32))
        h = mix(h ^ np.uint32(seed >> 32))
        h = mix(h ^ np.uint32(counter & 0xFFFFFFFF))
        h = mix(h ^ np.uint32(counter >> 32))
        h = mix(h ^ np.arange(n, dtype=np.uint32))
    return (h >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -24)


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------

def test_levels():
    # bipolar [0.5, 1]: c=0 -0.5-1, c=1 +0.5-1, c=2 -0.5+1, c=3 +0.5+1
    check(same(R.levels(f32([[0.5, 1.0]]), 2, BI), f32([[-1.5, -0.5, 0.5, 1.5]])),
          "bipolar levels of [0.5, 1]")
    check(same(R.levels(f32([0.25, 1.0]), 2, UNI), f32([0.0, 0.25, 1.0, 1.25])),
          "unipolar levels of [0.25, 1]")
    # Rounding order: accumulation from 0.0 in bit order in float32.
    g = torch.Generator().manual_seed(3)
    basis = torch.randn(5, 4, generator=g)
    lv = R.levels(basis, 4, BI)
    want = f32([scalar_levels(row.tolist(), BI) for row in basis])
    check(same(lv, want), "bipolar levels match float32 bit-order accumulation")
    u = torch.rand(3, generator=g)
    check(same(R.levels(u, 3, UNI), f32(scalar_levels(u.tolist(), UNI))),
          "unipolar levels match float32 bit-order accumulation")


def test_nearest_hand_cases():
    basis = f32([[0.5, 1.0]])  # levels by code: -1.5, -0.5, 0.5, 1.5
    x = f32([-1.0, 0.0, 1.0, -0.4, 0.9, -1.5, 1.5])
    codes = R.project_nearest(x[None, :], basis, 0, BI)[0]
    # Ties (-1.0, 0.0, 1.0 are midpoints) go to the larger level.
    check(same(codes, torch.tensor([1, 2, 3, 1, 2, 0, 3])),
          f"nearest with ties going up: got {codes.tolist()}")

    # Beyond the extremes, including |x| so large that |x - l| rounds to the
    # same float for every level (the extreme must still win).
    x = f32([-2.0, 2.0, -100.0, 100.0, -1e10, 1e10, -3e38, 3e38,
             -math.inf, math.inf])
    codes = R.project_nearest(x[None, :], basis, 0, BI)[0]
    check(same(codes, torch.tensor([0, 3, 0, 3, 0, 3, 0, 3, 0, 3])),
          f"values beyond the extremes take the extremes: got {codes.tolist()}")

    # Unipolar ties: u = [0.5, 1] -> 0, 0.5, 1, 1.5; 0.25 and 1.25 are
    # midpoints.
    u = f32([0.5, 1.0])
    codes = R.project_nearest(f32([0.25, 0.75, 1.25, 0.1, 7.0, -7.0]), u, None,
                              UNI)
    check(same(codes, torch.tensor([1, 2, 3, 0, 3, 0])),
          f"unipolar nearest with ties up: got {codes.tolist()}")


def test_duplicate_levels():
    # v = [1, 0]: codes 0, 2 -> -1 and codes 1, 3 -> +1. The lowest code of
    # equal levels, also beyond the extremes and on a tie.
    basis = f32([[1.0, 0.0]])
    x = f32([5.0, -5.0, 0.0, 1.0, -1.0, 0.3, -0.3])
    codes = R.project_nearest(x[None, :], basis, 0, BI)[0]
    check(same(codes, torch.tensor([1, 0, 1, 1, 0, 1, 0])),
          f"duplicate bipolar levels take the lowest code: got {codes.tolist()}")
    # Unipolar u = [0.5, 0.5]: levels 0, 0.5, 0.5, 1.
    u = f32([0.5, 0.5])
    codes = R.project_nearest(f32([0.5, 0.25, 0.6, 0.75, 2.0]), u, None, UNI)
    check(same(codes, torch.tensor([1, 1, 1, 3, 3])),
          f"duplicate unipolar levels take the lowest code: got {codes.tolist()}")
    # All levels equal (zero basis): code 0 everywhere.
    codes = R.project_nearest(f32([[-1.0, 0.0, 2.0]]), f32([[0.0, 0.0]]), 0, BI)
    check(same(codes, torch.zeros(1, 3, dtype=torch.int64)),
          f"all-equal levels give code 0: got {codes.tolist()}")


def test_nearest_matches_threshold_phrasing():
    # Random bases and values (in and out of range, plus exact levels and
    # exact float midpoints) against the scalar threshold model.
    g = torch.Generator().manual_seed(7)
    for bits in (1, 2, 3):
        basis = torch.randn(3, bits, generator=g)
        lv = R.levels(basis, bits, BI)
        x = torch.randn(3, 40, generator=g) * 2.0
        x[:, :lv.shape[1]] = lv                       # exactly on levels
        srt = lv.sort(-1).values
        mids = (srt[:, 1:] + srt[:, :-1]) / 2         # float32 midpoints
        x[:, 20:20 + mids.shape[1]] = mids
        codes = R.project_nearest(x.T, basis, 1, BI).T  # axis 1 of [40, 3]
        for o in range(3):
            lvo = lv[o].tolist()
            want = [scalar_nearest_by_thresholds(v, [np.float32(l) for l in lvo])
                    for v in x[o].tolist()]
            check(codes[o].tolist() == want,
                  f"nearest vs threshold model, bits={bits} row {o}: "
                  f"{codes[o].tolist()} != {want}")


def test_axis_semantics():
    # Row o of the basis applies to the elements with index o along `axis`.
    basis = f32([[1.0], [10.0]])               # levels: [-1, 1], [-10, 10]
    x = f32([[0.5, 0.5], [-3.0, -3.0], [8.0, 8.0]])  # [3, 2], axis 1
    decoded = R.decode_weights(R.project_nearest(x, basis, 1, BI), basis, 1)
    check(same(decoded, f32([[1.0, 10.0], [-1.0, -10.0], [1.0, 10.0]])),
          f"per-channel basis along axis 1: got {decoded.tolist()}")
    decoded = R.decode_weights(R.project_nearest(x.T, basis, 0, BI), basis, 0)
    check(same(decoded, f32([[1.0, -1.0, 1.0], [10.0, -10.0, 10.0]])),
          f"per-channel basis along axis 0: got {decoded.tolist()}")


def test_quantize_act():
    u = R.init_act_basis(2)
    lv = R.levels(u, 2, UNI)
    x = f32([-5.0, -0.0, 0.0, float("nan"), 100.0, float(lv[2]), -math.inf])
    q = R.quantize_act(x, u)
    want = torch.stack([lv[0], lv[0], lv[0], torch.tensor(float("nan")),
                        lv[3], lv[2], lv[0]])
    check(same(q, want), f"quantize_act clamp/NaN/extremes: got {q.tolist()}")
    check(not bool(torch.signbit(q[0])), "quantize_act of a negative is +0.0")


def test_init_act_basis():
    for bits in range(1, 9):
        step = 0.6745 * 2.0 / (2 ** bits - 1)
        want = f32([step * 2 ** k for k in range(bits)])
        check(same(R.init_act_basis(bits), want), f"init_act_basis({bits})")


def test_decode():
    basis = f32([[0.5, 1.0], [0.1, 0.2]])
    codes = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0]]).T  # [4, 2], axis 1
    d = R.decode_weights(codes, basis, 1)
    lv = R.levels(basis, 2, BI)
    want = torch.stack([lv[0][codes[:, 0]], lv[1][codes[:, 1]]], 1)
    check(same(d, want), "decode_weights gathers each channel's levels")
    # i8 storage is read as unsigned: K = 8 uses the whole byte.
    basis8 = torch.ones(1, 8) * f32([2.0 ** k for k in range(8)])
    c8 = torch.tensor([[200, 255, 0]], dtype=torch.int64)
    d8 = R.decode_weights(c8.to(torch.int8), basis8, 0)
    check(same(d8, R.decode_weights(c8, basis8, 0)),
          "i8 codes are read as unsigned bytes")
    # decode(nearest(levels)) is the identity on distinct levels.
    g = torch.Generator().manual_seed(11)
    basis = torch.rand(4, 3, generator=g) + f32([0.0, 1.0, 2.5])
    lv = R.levels(basis, 3, BI)
    back = R.decode_weights(R.project_nearest(lv, basis, 0, BI), basis, 0)
    check(same(back, lv), "decode(nearest(levels)) == levels")


def test_fit_recovers_basis():
    g = torch.Generator().manual_seed(5)
    for encoding, shape, axis in ((BI, (6, 3, 3, 4), 0), (BI, (10, 7), 1),
                                  (UNI, (2, 5, 5, 3), 3)):
        for bits in (1, 2, 4):
            channels = shape[axis]
            if encoding == BI:
                true = (torch.rand(channels, bits, generator=g) + 0.1) * \
                    f32([2.0 ** k for k in range(bits)])
            else:
                true = (torch.rand(bits, generator=g) + 0.1) * \
                    f32([2.0 ** k for k in range(bits)])
            codes = torch.randint(0, 1 << bits, shape, generator=g)
            if encoding == BI:
                targets = R.decode_weights(codes, true, axis)
            else:
                targets = R.levels(true, bits, UNI)[codes]
            wrong = torch.zeros_like(true)
            # ridge 0: the exact least-squares solution from noise-free
            # targets is the true basis (up to float rounding).
            fit = R.fit_levels(codes, targets, wrong, axis, encoding, ridge=0.0)
            err = float((fit - true).abs().max())
            check(err <= 1e-5 * float(true.abs().max()),
                  f"fit ({encoding}, bits={bits}, ridge 0) recovers the basis:"
                  f" max error {err}")
            # Default ridge toward the true basis: nothing pulls it away.
            fit = R.fit_levels(codes, targets, true, axis, encoding)
            err = float((fit - true).abs().max())
            check(err <= 1e-5 * float(true.abs().max()),
                  f"fit ({encoding}, bits={bits}, ridge to truth) recovers the "
                  f"basis: max error {err}")
            # Channel weights do not move a noise-free solution.
            weights = torch.rand(channels, generator=g) + 0.5
            fit = R.fit_levels(codes, targets, true, axis, encoding,
                               weights=weights)
            err = float((fit - true).abs().max())
            check(err <= 1e-5 * float(true.abs().max()),
                  f"weighted fit ({encoding}, bits={bits}) recovers the basis:"
                  f" max error {err}")


def test_fit_matches_matrix_formula():
    # With noisy targets, weights and ridge: the histogram path equals
    # v = (B^T W B + d I)^-1 (B^T W t + d v_prev) built from the full matrix B.
    g = torch.Generator().manual_seed(9)
    ridge = 0.5  # large, so that a wrong ridge term shows
    for encoding, shape, axis in ((BI, (5, 2, 3), 0), (UNI, (4, 6), 1)):
        bits = 3
        channels = shape[axis]
        codes = torch.randint(0, 1 << bits, shape, generator=g)
        targets = torch.randn(shape, generator=g)
        weights = torch.rand(channels, generator=g) + 0.1
        prev = torch.randn((channels, bits) if encoding == BI else (bits,),
                           generator=g)
        fit = R.fit_levels(codes, targets, prev, axis, encoding,
                           weights=weights, ridge=ridge)
        c = np.moveaxis(codes.numpy(), axis, 0).reshape(channels, -1)
        t = np.moveaxis(targets.numpy(), axis, 0).reshape(channels, -1)
        bit = (c[..., None] >> np.arange(bits)) & 1
        s = (2.0 * bit - 1.0) if encoding == BI else bit.astype(np.float64)
        w = np.broadcast_to(weights.numpy().astype(np.float64)[:, None], c.shape)
        if encoding == BI:
            want = []
            for o in range(channels):
                b_mat = s[o]
                a = b_mat.T @ (w[o][:, None] * b_mat) + ridge * np.eye(bits)
                rhs = b_mat.T @ (w[o] * t[o]) + ridge * prev[o].numpy()
                want.append(np.linalg.solve(a, rhs))
            want = np.array(want)
        else:
            b_mat = s.reshape(-1, bits)
            wf, tf = w.reshape(-1), t.reshape(-1).astype(np.float64)
            a = b_mat.T @ (wf[:, None] * b_mat) + ridge * np.eye(bits)
            want = np.linalg.solve(a, b_mat.T @ (wf * tf) + ridge *
                                   prev.numpy())
        err = float(np.abs(fit.numpy() - want.astype(np.float32)).max())
        check(err <= 1e-6 * max(1.0, float(np.abs(want).max())),
              f"fit ({encoding}) equals the matrix formula: max error {err}")
        check(fit.dtype == torch.float32, "fit returns float32")


def test_counter_uniform():
    for seed, counter in ((0, 0), (1, 2), (0xDEADBEEFCAFEF00D, 123456789),
                          (2 ** 64 - 1, 2 ** 40 + 7)):
        u = R.counter_uniform(seed, counter, 4096)
        check(u.dtype == torch.float32, "counter_uniform is float32")
        check(bool(((u >= 0) & (u < 1)).all()),
              f"counter_uniform in [0, 1) for seed {seed:#x}")
        check(same(u, R.counter_uniform(seed, counter, 4096)),
              "counter_uniform is reproducible")
        check(same(u[:100], R.counter_uniform(seed, counter, 100)),
              "counter_uniform of element i does not depend on n")
        scaled = u.double() * 2 ** 24
        check(bool((scaled == scaled.floor()).all()),
              "counter_uniform values are multiples of 2^-24")
        check(same(u, torch.from_numpy(numpy_uniform(seed, counter, 4096))),
              f"counter_uniform matches uint32 numpy arithmetic, seed "
              f"{seed:#x} counter {counter}")
        want = [python_uniform(seed, counter, i) for i in range(64)]
        check(u[:64].double().tolist() == want,
              f"counter_uniform matches Python big-int arithmetic, seed "
              f"{seed:#x}")
    check(not same(R.counter_uniform(1, 2, 256), R.counter_uniform(1, 3, 256)),
          "counter_uniform changes with the counter")
    check(not same(R.counter_uniform(1, 2, 256), R.counter_uniform(2, 2, 256)),
          "counter_uniform changes with the seed")
    check(not same(R.counter_uniform(1 << 32, 0, 256),
                   R.counter_uniform(0, 0, 256)),
          "counter_uniform uses the seed's high 32 bits")
    u = R.counter_uniform(42, 0, 200000).double()
    check(abs(float(u.mean()) - 0.5) < 0.005,
          f"counter_uniform mean {float(u.mean())} is not near 0.5")
    hist = torch.histc(u, bins=10, min=0.0, max=1.0)
    check(bool(((hist - 20000).abs() < 600).all()),
          f"counter_uniform histogram is not flat: {hist.tolist()}")
    # mix32 on known inputs against the Python model.
    xs = [0, 1, 0x9E3779B9, 0xFFFFFFFF, 0x80000000, 12345678]
    got = R.mix32(torch.tensor(xs)).tolist()
    check(got == [python_mix32(v) for v in xs], f"mix32 values: {got}")


def test_stochastic():
    basis = f32([[0.5, 1.0]])  # -1.5, -0.5, 0.5, 1.5
    lv = R.levels(basis, 2, BI)[0]
    values = [-1.2, -0.5, 0.1, 0.4, 1.49, -1.5, 1.5, -9.0, 9.0]
    n = 20000
    x = f32(values).repeat_interleave(n).reshape(len(values), n)
    # One channel (axis 0 of [1, N]): every element has its own uniform.
    codes = R.project_stochastic(x.reshape(1, -1), basis, 0, BI, seed=17,
                                 counter=3).reshape(len(values), n)
    q = lv[codes].double()
    for i, v in enumerate(values):
        lo_candidates = [float(l) for l in lv if float(l) <= v]
        hi_candidates = [float(l) for l in lv if float(l) > v]
        lo = max(lo_candidates) if lo_candidates else None
        hi = min(hi_candidates) if hi_candidates else None
        got = set(q[i].tolist())
        allowed = {l for l in (lo, hi) if l is not None}
        check(got <= allowed,
              f"stochastic rounding of {v} uses only its neighbours "
              f"{sorted(allowed)}: got {sorted(got)}")
        if lo is None or hi is None:
            continue
        if lo == v:
            check(got == {lo}, f"a value on a level ({v}) stays there")
            continue
        # Bernoulli(p) between lo and hi: the mean's standard error is
        # (hi - lo) * sqrt(p (1 - p) / n) <= (hi - lo) / (2 sqrt(n)).
        tol = 5 * (hi - lo) / (2 * math.sqrt(n))
        mean = float(q[i].mean())
        check(abs(mean - v) <= tol,
              f"stochastic rounding of {v} is unbiased: mean {mean} "
              f"(tolerance {tol:.4g})")
    # Unbiased over steps too: one element, many counters.
    steps = 4000
    draws = torch.stack([R.project_stochastic(f32([0.1]), f32([0.5, 1.0]),
                                              None, UNI, seed=5, counter=c)
                         for c in range(steps)])[:, 0]
    ulv = R.levels(f32([0.5, 1.0]), 2, UNI)
    mean = float(ulv[draws].double().mean())
    tol = 5 * 0.5 / (2 * math.sqrt(steps))
    check(abs(mean - 0.1) <= tol,
          f"stochastic rounding over counters is unbiased: mean {mean} "
          f"(tolerance {tol:.4g})")
    # Reproducible, and the decision follows the contract for each element.
    xs = torch.linspace(-2.0, 2.0, 257)[None, :]
    c1 = R.project_stochastic(xs, basis, 0, BI, seed=99, counter=7)
    c2 = R.project_stochastic(xs, basis, 0, BI, seed=99, counter=7)
    check(same(c1, c2), "stochastic projection is reproducible")
    u = R.counter_uniform(99, 7, xs.numel())
    sorted_lv = sorted(set(float(l) for l in lv))
    want = []
    for i, v in enumerate(xs[0].tolist()):
        below = [l for l in sorted_lv if l <= v]
        above = [l for l in sorted_lv if l > v]
        if not below:
            level = above[0]
        elif not above:
            level = below[-1]
        else:
            lo, hi = np.float32(below[-1]), np.float32(above[0])
            p = np.float32(np.float32(v) - lo) / np.float32(hi - lo)
            level = float(hi) if float(u[i]) < float(p) else float(lo)
        want.append(min(c for c in range(4) if float(lv[c]) == level))
    check(c1[0].tolist() == want, "stochastic codes follow the contract rule")
    # Duplicate levels: lowest code.
    dup = R.project_stochastic(f32([[0.3, 5.0, -5.0, 1.0]]), f32([[1.0, 0.0]]),
                               0, BI, seed=1, counter=0)[0].tolist()
    check(all(c in (0, 1) for c in dup) and dup[1:] == [1, 0, 1],
          f"stochastic rounding takes the lowest code of equal levels: {dup}")


def test_init_weight_state():
    g = torch.Generator().manual_seed(1234)
    for bits in (1, 2, 3, 4):
        w = torch.randn(8, 3, 3, 4, generator=g) * math.sqrt(2.0 / 36)
        fan_out = 8 * 9
        state = R.init_weight_state(w, bits, 0, fan_out)
        sigma = torch.tensor(0.6745 * math.sqrt(2.0 / fan_out) /
                             2 ** (bits - 1), dtype=torch.float32)
        initial = (sigma * f32([2.0 ** k for k in range(bits)]))[None].repeat(
            8, 1)
        zero_rounds = R.init_weight_state(w, bits, 0, fan_out, alternations=0)
        check(same(zero_rounds.basis, initial),
              f"init basis is v[o, k] = 2^k sigma (bits={bits})")
        err0 = float(((R.decode_weights(zero_rounds.codes, initial, 0) - w)
                      ** 2).sum())
        err = float(((R.decode_weights(state.codes, state.basis, 0) - w)
                     ** 2).sum())
        check(err < err0, f"init reduces the quantization error (bits={bits}):"
              f" {err} vs {err0} with the initial basis")
        check(same(state.codes, R.project_nearest(w, state.basis, 0, BI)),
              f"init codes are the nearest codes of the final basis "
              f"(bits={bits})")
        # Three alternations, spelled out.
        basis = initial
        for _ in range(3):
            codes = R.project_nearest(w, basis, 0, BI)
            basis = R.fit_levels(codes, w, basis, 0, BI)
        check(same(state.basis, basis), f"init = 3 alternations (bits={bits})")
    # Matmul layout: [1, 36, 5], output channel axis 2.
    w = torch.randn(1, 36, 5, generator=g) / 6
    state = R.init_weight_state(w, 2, 2, 5)
    check(state.basis.shape == (5, 2) and state.codes.shape == w.shape,
          "init along axis 2 of a matmul weight")
    check(same(state.codes, R.project_nearest(w, state.basis, 2, BI)),
          "matmul init codes consistent with the basis")


def main():
    tests = [v for k, v in sorted(globals().items())
             if k.startswith("test_") and callable(v)]
    for test in tests:
        try:
            test()
        except Exception:  # a crash is a failure of that test, not the run
            _failures.append(f"{test.__name__} raised:\n"
                             f"{traceback.format_exc()}")
    if _failures:
        print(f"FAILED: {len(_failures)} of {_checks[0]} checks "
              f"({len(tests)} tests)", file=sys.stderr)
        for message in _failures:
            print("  - " + message, file=sys.stderr)
        return 1
    print(f"OK: {_checks[0]} checks in {len(tests)} tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
