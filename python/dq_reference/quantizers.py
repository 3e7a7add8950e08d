"""The quantizers of docs/Numerics.md in PyTorch (float32, CPU).

Conventions shared by every function here:

* Encodings: ``"bipolar"`` (weights) has one basis row per channel, shape
  [C, K]; row ``o`` applies to the elements whose index along ``axis`` is
  ``o``. ``"unipolar"`` (activations) has one basis of shape [K] for the whole
  tensor; ``axis`` only matters for the channel weights of ``fit_levels``.
* Codes are int64 tensors with values in [0, 2^K). Codes read from dq's i8
  storage are accepted and read as unsigned bytes.
* Levels are accumulated in float32 in bit order starting from 0.0, which is
  what makes every implementation agree bit for bit.
"""

import collections
import math

import torch

BIPOLAR = "bipolar"
UNIPOLAR = "unipolar"
DEFAULT_RIDGE = 1e-4
MAX_BITS = 8

_MASK32 = 0xFFFFFFFF

# Elements handled per step of the all-codes nearest search: bounds the
# [elements x 2^K] distance matrix to a few tens of MiB.
_CHUNK_ENTRIES = 1 << 22

WeightState = collections.namedtuple("WeightState", ["codes", "basis"])


def _check_encoding(encoding):
    if encoding not in (BIPOLAR, UNIPOLAR):
        raise ValueError(f"encoding must be '{BIPOLAR}' or '{UNIPOLAR}', "
                         f"got {encoding!r}")


def _f32(t):
    return torch.as_tensor(t, dtype=torch.float32)


def _as_codes(codes):
    codes = torch.as_tensor(codes)
    if codes.dtype == torch.int8:
        # dq stores codes in i8 and reads them as unsigned (K = 8 uses the
        # whole byte).
        return codes.to(torch.int64) & 0xFF
    return codes.to(torch.int64)


def _coefficients(bits, encoding, dtype, device=None):
    """[2^K, K] matrix of s(c)_k: 2*bit_k(c)-1 (bipolar) or bit_k(c)."""
    # Explicit devices throughout: torch.compile does not apply the default
    # device to factory calls it traces.
    codes = torch.arange(1 << bits, dtype=torch.int64, device=device)
    shifts = torch.arange(bits, dtype=torch.int64, device=device)
    bit = (codes[:, None] >> shifts[None, :]) & 1
    if encoding == BIPOLAR:
        return (2 * bit - 1).to(dtype)
    return bit.to(dtype)


def _check_basis(basis, bits, encoding):
    _check_encoding(encoding)
    if not 1 <= bits <= MAX_BITS:
        raise ValueError(f"bits must be in [1, {MAX_BITS}], got {bits}")
    want_rank = 2 if encoding == BIPOLAR else 1
    if basis.dim() != want_rank or basis.shape[-1] != bits:
        raise ValueError(f"{encoding} basis must have shape "
                         f"{'[C, K]' if want_rank == 2 else '[K]'} with "
                         f"K = {bits}, got {list(basis.shape)}")


def levels(basis, bits, encoding):
    """All levels of a basis, indexed by code.

    bipolar: basis [C, K] -> [C, 2^K]; unipolar: basis [K] -> [2^K].
    """
    basis = _f32(basis)
    _check_basis(basis, bits, encoding)
    rows = basis if encoding == BIPOLAR else basis[None, :]
    coeff = _coefficients(bits, encoding, torch.float32, rows.device)
    # level = level + s_k * v_k, k = 0 .. K-1, from 0.0, all in float32: the
    # same rounding sequence as the C++ core and the lowering.
    level = torch.zeros(rows.shape[0], 1 << bits, dtype=torch.float32,
                        device=rows.device)
    for k in range(bits):
        level = level + coeff[None, :, k] * rows[:, k:k + 1]
    return level if encoding == BIPOLAR else level[0]


def _normalize_axis(axis, rank):
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} out of range for rank {rank}")
    return axis % rank


def _to_rows(x, axis, channels):
    """View x as [channels, elements of that channel] (channel-major)."""
    if channels == 1 and axis is None:
        return x.reshape(1, -1)
    axis = _normalize_axis(axis, x.dim())
    if x.shape[axis] != channels:
        raise ValueError(f"tensor has {x.shape[axis]} entries along axis "
                         f"{axis} but the basis has {channels} rows")
    return x.movedim(axis, 0).reshape(channels, -1)


def _from_rows(rows, like, axis):
    """Inverse of _to_rows."""
    if axis is None:
        return rows.reshape(like.shape)
    axis = _normalize_axis(axis, like.dim())
    moved = list(like.shape)
    moved.insert(0, moved.pop(axis))
    return rows.reshape(moved).movedim(0, axis)


def _level_rows(basis, encoding):
    """Levels as rows: bipolar [C, K] -> [C, 2^K]; unipolar [K] -> [1, 2^K]."""
    basis = _f32(basis)
    bits = basis.shape[-1]
    lv = levels(basis, bits, encoding)
    return lv if encoding == BIPOLAR else lv[None, :]


def _lowest_code_of(lv, value):
    """Lowest code whose level equals `value`, per element.

    lv: [C, L]; value: [C, M] -> [C, M] int64 (L where no code matches).
    """
    n = lv.shape[1]
    codes = torch.arange(n, dtype=torch.int64, device=lv.device)
    match = lv[:, None, :] == value[:, :, None]
    return torch.where(match, codes, torch.full_like(codes, n)).min(-1).values


def _nearest_rows(x, lv):
    """Nearest codes of x [C, M] under levels lv [C, L]."""
    n = lv.shape[1]
    codes = torch.arange(n, dtype=torch.int64, device=lv.device)
    # "Values beyond the extreme levels take the extreme level": clamping
    # first makes that hold even where |x - l| would round to the same float
    # for several levels (|x| far beyond the levels); elsewhere it changes
    # nothing. torch.minimum/maximum keep NaN.
    lo_ext = lv.min(-1, keepdim=True).values
    hi_ext = lv.max(-1, keepdim=True).values
    xc = torch.maximum(torch.minimum(x, hi_ext), lo_ext)
    out = torch.empty(x.shape, dtype=torch.int64, device=x.device)
    step = max(1, _CHUNK_ENTRIES // n)
    neg_inf = torch.tensor(-math.inf, dtype=torch.float32)
    for start in range(0, x.shape[1], step):
        xs = xc[:, start:start + step, None]              # [C, m, 1]
        lvb = lv[:, None, :].expand(-1, xs.shape[1], -1)  # [C, m, L]
        dist = (xs - lvb).abs()                           # float32
        best = dist.min(-1, keepdim=True).values
        tied = dist == best
        # On an exact tie the larger level wins ...
        chosen = torch.where(tied, lvb, neg_inf).max(-1, keepdim=True).values
        # ... and among equal levels the lowest code.
        pick = tied & (lvb == chosen)
        out[:, start:start + step] = torch.where(
            pick, codes, torch.full_like(codes, n)).min(-1).values
    # NaN matches no level; the contract leaves its code open. Use 0 (what
    # the lowering's scan returns).
    return torch.where(torch.isnan(x), torch.zeros_like(out), out)


def project_nearest(x, basis, axis, encoding):
    """Code of the nearest level of every element of x (int64, x's shape).

    Ties between two levels go to the larger level; equal levels give the
    lowest code; values beyond the extremes take the extreme level.
    """
    _check_encoding(encoding)
    x = _f32(x)
    lv = _level_rows(basis, encoding)
    use_axis = axis if encoding == BIPOLAR else None
    rows = _to_rows(x, use_axis, lv.shape[0])
    return _from_rows(_nearest_rows(rows, lv), x, use_axis)


def quantize_act(x, u):
    """dq.quantize_act: clamp below at 0, then the nearest unipolar level.

    Returns level values (float32); NaN stays NaN.
    """
    x = _f32(x)
    u = _f32(u)
    clamped = torch.where(x < 0, torch.zeros_like(x), x)
    codes = project_nearest(clamped, u, None, UNIPOLAR)
    lv = levels(u, u.shape[0], UNIPOLAR)
    return torch.where(torch.isnan(x), x, lv[codes])


def decode_weights(codes, basis, axis):
    """dq.decode_weights: bipolar level of every code under its channel row."""
    codes = _as_codes(codes)
    basis = _f32(basis)
    lv = levels(basis, basis.shape[1], BIPOLAR)
    if codes.numel() and (int(codes.min()) < 0 or
                          int(codes.max()) >= lv.shape[1]):
        raise ValueError("code out of range for the basis")
    rows = _to_rows(codes, axis, lv.shape[0])
    return _from_rows(torch.gather(lv, 1, rows), codes, axis)


def _mul32(x, constant):
    """(x * constant) mod 2^32 for x an int64 tensor in [0, 2^32).

    The constant is split into 16-bit halves so that no product leaves int64
    (x * 0x846ca68b would need 64 unsigned bits).
    """
    lo = constant & 0xFFFF
    hi = constant >> 16
    return (x * lo + (((x * hi) & 0xFFFF) << 16)) & _MASK32


def mix32(x):
    """The contract's 32-bit integer mixer on an int64 tensor of uint32s."""
    x = torch.as_tensor(x, dtype=torch.int64) & _MASK32
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    x = x ^ (x >> 16)
    return x


def counter_uniform(seed, counter, n):
    """Uniforms in [0, 1) of elements 0 .. n-1 for (seed, counter), float32.

    seed and counter are 64-bit unsigned (Python ints; negative values are
    taken modulo 2^64).
    """
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    counter = int(counter) & 0xFFFFFFFFFFFFFFFF

    def scalar(v):
        return torch.tensor([v], dtype=torch.int64)

    h = mix32(scalar((seed & _MASK32) ^ 0x9E3779B9))
    h = mix32(h ^ (seed >> 32))
    h = mix32(h ^ (counter & _MASK32))
    h = mix32(h ^ (counter >> 32))
    index = torch.arange(n, dtype=torch.int64) & _MASK32
    h = mix32(h ^ index)
    # 24 random bits: exactly representable, and the scale is a power of 2.
    return (h >> 8).to(torch.float32) * (2.0 ** -24)


def project_stochastic(x, basis, axis, encoding, seed, counter):
    """Unbiased stochastic rounding between the two levels around x.

    lo: the largest level <= x; hi: the smallest level > x (lowest code among
    equal levels). hi when uniform < (x - lo) / (hi - lo), else lo; the only
    existing one of them beyond the extremes. The uniform of element i (its
    row-major linear index in x) is counter_uniform(seed, counter, .)[i].
    """
    _check_encoding(encoding)
    x = _f32(x)
    lv = _level_rows(basis, encoding)
    use_axis = axis if encoding == BIPOLAR else None
    uniform = counter_uniform(seed, counter, x.numel()).reshape(x.shape)
    rows = _to_rows(x, use_axis, lv.shape[0])
    u_rows = _to_rows(uniform, use_axis, lv.shape[0])

    lvb = lv[:, None, :]           # [C, 1, L]
    xs = rows[:, :, None]          # [C, M, 1]
    inf = torch.tensor(math.inf, dtype=torch.float32)
    lo = torch.where(lvb <= xs, lvb, -inf).max(-1).values   # [C, M]
    hi = torch.where(lvb > xs, lvb, inf).min(-1).values
    has_lo = (lvb <= xs).any(-1)
    has_hi = (lvb > xs).any(-1)
    lo_code = _lowest_code_of(lv, lo)
    hi_code = _lowest_code_of(lv, hi)
    p_up = (rows - lo) / (hi - lo)  # float32, as the contract says
    code = torch.where(u_rows < p_up, hi_code, lo_code)
    code = torch.where(has_hi, code, lo_code)
    code = torch.where(has_lo, code, hi_code)
    # NaN has neither neighbour: code 0, like the lowering.
    code = torch.where(torch.isnan(rows), torch.zeros_like(code), code)
    return _from_rows(code, x, use_axis)


def fit_levels(codes, targets, previous, axis, encoding, weights=None,
               ridge=DEFAULT_RIDGE):
    """Ridge least-squares basis for codes and targets (float32 result).

    bipolar: one fit per channel along `axis`, previous/result [C, K];
    unipolar: one fit over the whole tensor, previous/result [K].
    `weights` (optional, one per index along `axis`) weighs every element of
    that channel. Histograms and the K x K solves are in float64.
    """
    _check_encoding(encoding)
    codes = _as_codes(codes)
    targets = _f32(targets)
    previous = _f32(previous)
    if codes.shape != targets.shape:
        raise ValueError(f"codes {list(codes.shape)} and targets "
                         f"{list(targets.shape)} differ in shape")
    bits = previous.shape[-1]
    _check_basis(previous, bits, encoding)
    n = 1 << bits
    if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= n):
        raise ValueError("code out of range for the basis")

    # Element weights: the channel weight of each element, as float32 (the
    # C++ core takes them as float), then widened.
    if weights is None:
        w = torch.ones(targets.shape, dtype=torch.float32,
                       device=targets.device)
    else:
        weights = _f32(weights).reshape(-1)
        ax = _normalize_axis(axis, targets.dim())
        if weights.numel() != targets.shape[ax]:
            raise ValueError(f"{weights.numel()} channel weights for "
                             f"{targets.shape[ax]} channels")
        shape = [1] * targets.dim()
        shape[ax] = -1
        w = weights.reshape(shape).expand(targets.shape)

    fits = previous.shape[0] if encoding == BIPOLAR else 1
    use_axis = axis if encoding == BIPOLAR else None
    code_rows = _to_rows(codes, use_axis, fits)
    t_rows = _to_rows(targets, use_axis, fits).to(torch.float64)
    w_rows = _to_rows(w, use_axis, fits).to(torch.float64)

    # Per-code histograms: W_c = sum w_i, S_c = sum w_i * t_i (float64).
    device = code_rows.device
    flat = (torch.arange(fits, dtype=torch.int64, device=device)[:, None] * n
            + code_rows).reshape(-1)
    count = torch.zeros(fits * n, dtype=torch.float64, device=device)
    count.index_add_(0, flat, w_rows.reshape(-1))
    total = torch.zeros(fits * n, dtype=torch.float64, device=device)
    total.index_add_(0, flat, (w_rows * t_rows).reshape(-1))
    count = count.reshape(fits, n)
    total = total.reshape(fits, n)

    # A = sum_c W_c s(c) s(c)^T + ridge I; b = sum_c S_c s(c) + ridge v_prev.
    s = _coefficients(bits, encoding, torch.float64, device)  # [n, K]
    prev = previous.reshape(fits, bits).to(torch.float64)
    a = torch.einsum("fc,ck,cj->fkj", count, s, s)
    a = a + ridge * torch.eye(bits, dtype=torch.float64, device=device)
    b = total @ s + ridge * prev                            # [fits, K]
    chol = torch.linalg.cholesky(a)
    v = torch.cholesky_solve(b[:, :, None], chol)[:, :, 0]
    v = v.to(torch.float32)
    return v if encoding == BIPOLAR else v[0]


def init_weight_state(w, bits, axis, fan_out, alternations=3,
                      ridge=DEFAULT_RIDGE):
    """LQ-Nets initialization of per-output-channel weight state.

    v[o, k] = 2^k * sigma, sigma = 0.6745 * sqrt(2 / fan_out) / 2^(K-1)
    (computed in double, rounded to float); then `alternations` rounds of
    nearest codes + fit toward the previous basis; then final nearest codes.
    Returns WeightState(codes int64 like w, basis float32 [C, K]).
    """
    w = _f32(w)
    ax = _normalize_axis(axis, w.dim())
    channels = w.shape[ax]
    sigma = torch.tensor(0.6745 * math.sqrt(2.0 / fan_out) / 2.0 ** (bits - 1),
                         dtype=torch.float32)
    # Scaling a float32 by 2^k is exact, as ldexp in the C++ core.
    powers = torch.tensor([2.0 ** k for k in range(bits)], dtype=torch.float32)
    basis = (sigma * powers)[None, :].repeat(channels, 1)
    for _ in range(alternations):
        codes = project_nearest(w, basis, ax, BIPOLAR)
        basis = fit_levels(codes, w, basis, ax, BIPOLAR, ridge=ridge)
    codes = project_nearest(w, basis, ax, BIPOLAR)
    return WeightState(codes, basis)


def init_act_basis(bits):
    """u[k] = 2^k * 0.6745 * 2 / (2^K - 1): computed in double, then float32."""
    if not 1 <= bits <= MAX_BITS:
        raise ValueError(f"bits must be in [1, {MAX_BITS}], got {bits}")
    step = 0.6745 * 2.0 / (2.0 ** bits - 1.0)
    return torch.tensor([step * 2.0 ** k for k in range(bits)],
                        dtype=torch.float32)
