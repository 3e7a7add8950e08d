"""Bit-serial convolution against the decoded float convolution.

Tolerance: P and Q are exact integers, so the bit-serial result only rounds
its K*Ka float terms and the bias; the decoded path rounds a float sum of
n = KH*KW*C products. Both are within (n + K*Ka + 2) * 2^-24 * S of the
exact value, S = bias + sum |w| |a| over the window (per output element),
which is the bound checked against the fp64 reference, and twice it
between the two compiled paths.
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "python"))
import dq_runtime  # noqa: E402

# (N, H, W, C, O, KH, KW, stride, pad, dilation, K, Ka)
CASES = [
    (2, 6, 6, 16, 16, 3, 3, 1, 1, 1, 1, 1),
    (2, 6, 6, 16, 16, 3, 3, 1, 1, 1, 2, 2),
    (1, 7, 5, 19, 7, 3, 3, 2, 1, 1, 3, 2),
    (1, 5, 5, 70, 9, 3, 3, 1, 1, 1, 2, 3),   # two words, a partial one
    (2, 4, 4, 33, 12, 1, 1, 1, 0, 1, 4, 4),  # 1x1
    (1, 9, 9, 64, 10, 1, 1, 2, 0, 1, 1, 2),  # 1x1, stride 2, one full word
    (1, 9, 9, 5, 3, 3, 3, 1, 2, 2, 4, 1),    # dilation 2
    (1, 7, 7, 130, 5, 3, 3, 2, 1, 1, 2, 4),  # three words
    (3, 5, 5, 8, 6, 3, 3, 1, 0, 1, 3, 3),    # no padding
    (1, 1, 1, 64, 4, 1, 1, 1, 0, 1, 1, 1),   # a matrix product row
    (2, 5, 7, 30, 9, 3, 3, 1, 1, 1, 2, 2),   # window: 90 positions, 2 words
    (1, 6, 6, 24, 5, 3, 5, 1, 2, 1, 1, 3),   # window of 5 taps, 120 positions
    # All bits set (below): 31 words are the most byte counts add up (248
    # per byte); 32 take the i64 sums.
    (1, 1, 1, 1984, 4, 1, 1, 1, 0, 1, 1, 1),
    (1, 1, 1, 2048, 4, 1, 1, 1, 0, 1, 1, 1),
]
ALL_ONES = (1984, 2048)


def tensor(shape, dtype="f32"):
    return "tensor<" + "x".join(str(d) for d in shape) + "x" + dtype + ">"


def out_size(size, k, stride, pad, dilation):
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def case_functions(i, case):
    n, h, w, c, o, kh, kw, stride, pad, dil, bits, abits = case
    oh, ow = out_size(h, kh, stride, pad, dil), out_size(w, kw, stride, pad, dil)
    words = (c + 63) // 64
    x, codes, v, u, bias = (tensor((n, h, w, c)), tensor((o, kh, kw, c), "i8"),
                            tensor((o, bits)), tensor((abits,)), tensor((o,)))
    y = tensor((n, oh, ow, o))
    xa, wp = tensor((n, h, w, abits, words), "i64"), tensor((o, kh, kw, bits, words), "i64")
    attrs = (f"pad = array<i64: {pad}, {pad}, {pad}, {pad}>, stride = array<i64: {stride}, {stride}>, "
             f"dilation = array<i64: {dil}, {dil}>")
    return f"""
func.func @decoded{i}(%x: {x}, %codes: {codes}, %v: {v}, %u: {u}, %bias: {bias}) -> {y} {{
  %zp = "tosa.const"() <{{values = dense<0.0> : tensor<1xf32>}}> : () -> tensor<1xf32>
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = {abits}, scheme = dq> axis = 3 : ({x}, {u}) -> {x}
  %wq = dq.decode_weights %codes, %v axis = 0 : ({codes}, {v}) -> {tensor((o, kh, kw, c))}
  %y = tosa.conv2d %q, %wq, %bias, %zp, %zp {{acc_type = f32, {attrs}}} : ({x}, {tensor((o, kh, kw, c))}, {bias}, tensor<1xf32>, tensor<1xf32>) -> {y}
  return %y : {y}
}}
func.func @bitserial{i}(%x: {x}, %codes: {codes}, %v: {v}, %u: {u}, %bias: {bias}) -> {y} {{
  %xc = tosa.clamp %x {{min_val = 0.0 : f32, max_val = 3.4e38 : f32}} : ({x}) -> {x}
  %ac = dq.project %xc, %u axis = 3 unipolar nearest : ({x}, {u}) -> {tensor((n, h, w, c), "i8")}
  %a = dq.pack_bits %ac bits = {abits} : ({tensor((n, h, w, c), "i8")}) -> {xa}
  %wb = dq.pack_bits %codes bits = {bits} : ({codes}) -> {wp}
  %y = dq.bitserial_conv2d %a, %wb, %v, %u, %bias pad = [{pad}, {pad}, {pad}, {pad}] stride = [{stride}, {stride}] dilation = [{dil}, {dil}] : ({xa}, {wp}, {v}, {u}, {bias}) -> {y}
  return %y : {y}
}}
""" + (windowed_function(i, case) if windowable(case) else "")


def windowable(case):
    n, h, w, c, o, kh, kw, stride, pad, dil, bits, abits = case
    return stride == 1 and kw > 1


def windowed_function(i, case):
    """The same convolution with the KW taps of a row packed together
    (dq.pack_bits window): KH x 1 over ceil(KW*C/64) words."""
    n, h, w, c, o, kh, kw, stride, pad, dil, bits, abits = case
    ow = out_size(w, kw, stride, pad, dil)
    oh = out_size(h, kh, stride, pad, dil)
    words = (kw * c + 63) // 64
    x, codes, v, u, bias = (tensor((n, h, w, c)), tensor((o, kh, kw, c), "i8"),
                            tensor((o, bits)), tensor((abits,)), tensor((o,)))
    y = tensor((n, oh, ow, o))
    xa, wp = tensor((n, h, ow, abits, words), "i64"), tensor((o, kh, 1, bits, words), "i64")
    return f"""
func.func @windowed{i}(%x: {x}, %codes: {codes}, %v: {v}, %u: {u}, %bias: {bias}) -> {y} {{
  %xc = tosa.clamp %x {{min_val = 0.0 : f32, max_val = 3.4e38 : f32}} : ({x}) -> {x}
  %ac = dq.project %xc, %u axis = 3 unipolar nearest : ({x}, {u}) -> {tensor((n, h, w, c), "i8")}
  %a = dq.pack_bits %ac bits = {abits} window = [{kw}, {pad}, {pad}, {dil}] : ({tensor((n, h, w, c), "i8")}) -> {xa}
  %cc = tensor.collapse_shape %codes [[0], [1], [2, 3]] : {codes} into {tensor((o, kh, kw * c), "i8")}
  %cr = tensor.expand_shape %cc [[0], [1], [2, 3]] output_shape [{o}, {kh}, 1, {kw * c}] : {tensor((o, kh, kw * c), "i8")} into {tensor((o, kh, 1, kw * c), "i8")}
  %wb = dq.pack_bits %cr bits = {bits} : ({tensor((o, kh, 1, kw * c), "i8")}) -> {wp}
  %y = dq.bitserial_conv2d %a, %wb, %v, %u, %bias pad = [{pad}, {pad}, 0, 0] stride = [{stride}, 1] dilation = [{dil}, 1] : ({xa}, {wp}, {v}, {u}, {bias}) -> {y}
  return %y : {y}
}}
"""


def levels_act(x, u):
    """Nearest unipolar level (ties up) of max(x, 0), in fp64."""
    k = len(u)
    table = np.array([sum(((c >> j) & 1) * float(u[j]) for j in range(k)) for c in range(1 << k)])
    order = np.sort(table)
    xp = np.maximum(x.astype(np.float64), 0)
    thresholds = (order[1:] + order[:-1]) / 2
    return order[np.searchsorted(thresholds, xp, side="right")]


def decode(codes, v):
    bits = v.shape[1]
    signs = np.stack([2.0 * ((codes.astype(np.int64) >> k) & 1) - 1 for k in range(bits)], -1)
    return (signs * v.astype(np.float64)[:, None, None, None, :]).sum(-1)


def conv64(a, wt, bias, stride, pad, dil):
    n, h, w, c = a.shape
    o, kh, kw, _ = wt.shape
    ap = np.pad(a, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    oh, ow = out_size(h, kh, stride, pad, dil), out_size(w, kw, stride, pad, dil)
    y = np.zeros((n, oh, ow, o))
    s = np.zeros((n, oh, ow, o))
    for i in range(kh):
        for j in range(kw):
            win = ap[:, i * dil:i * dil + stride * (oh - 1) + 1:stride,
                     j * dil:j * dil + stride * (ow - 1) + 1:stride, :]
            y += np.einsum("nhwc,oc->nhwo", win, wt[:, i, j, :])
            s += np.einsum("nhwc,oc->nhwo", np.abs(win), np.abs(wt[:, i, j, :]))
    return y + bias, s + np.abs(bias)


module = "".join(case_functions(i, c) for i, c in enumerate(CASES))
# For generic x86-64: on a host with FMA, LLVM fuses the whole-batch
# lowering's vector multiply-adds (llvm.intr.fmuladd) and not the row
# kernel's, so the two would agree only to rounding; without FMA they must
# agree exactly, on any machine.
GENERIC = ["--cpu=generic"]
m = dq_runtime.load(module, options=GENERIC)
# The whole-batch lowering (the GPU pipeline's) computes the same numbers
# as the CPU's row by row one: lowered to linalg first, then compiled.
whole_text = subprocess.run([dq_runtime.find_dq_opt(), "-", "--convert-dq-to-linalg=bitserial-rows=false"],
                            input=module, capture_output=True, text=True, check=True).stdout
whole = dq_runtime.load(whole_text, options=GENERIC)
# The row kernel for other vector widths (lanes of 2 and 8 i64; pixel
# blocks from the register counts; partial channel chunks) is the same
# computation lane by lane.
widths = {}
for bits_, registers in ((128, 16), (512, 32)):
    text = subprocess.run([dq_runtime.find_dq_opt(), "-",
                           f"--convert-dq-to-linalg=bitserial-vector-bits={bits_} "
                           f"bitserial-vector-registers={registers}"],
                          input=module, capture_output=True, text=True, check=True).stdout
    widths[f"{bits_}-bit vectors"] = dq_runtime.load(text, options=GENERIC)
# Byte counts (x86 without VPOPCNTQ): 128-bit vectors run on any x86-64;
# the host's own build is what dq-compile picks for this CPU (byte counts
# on an AVX2 machine, VPOPCNTQ on one with AVX-512 VPOPCNTDQ).
text = subprocess.run([dq_runtime.find_dq_opt(), "-",
                       "--convert-dq-to-linalg=bitserial-vector-bits=128 "
                       "bitserial-vector-registers=16 bitserial-byte-counts=true"],
                      input=module, capture_output=True, text=True, check=True).stdout
if "vector<2x8xi8>" not in text:  # a lane's 8 byte counts
    sys.exit("bitserial-byte-counts=true did not give the byte-count kernel")
widths["128-bit vectors, byte counts"] = dq_runtime.load(text, options=GENERIC)
# Built for this CPU (whose FMAs contract the float code around the
# kernel), against the vector-ctpop kernel built for this CPU too.
text = subprocess.run([dq_runtime.find_dq_opt(), "-",
                       "--convert-dq-to-linalg=bitserial-vector-bits=256 bitserial-vector-registers=16"],
                      input=module, capture_output=True, text=True, check=True).stdout
native_reference = dq_runtime.load(text)
native = dq_runtime.load(module)
rng = np.random.default_rng(13)
for i, case in enumerate(CASES):
    n, h, w, c, o, kh, kw, stride, pad, dil, bits, abits = case
    u = np.sort(rng.uniform(0.1, 1.0, abits)).astype(np.float32)
    u = (u * (2.0 ** np.arange(abits))).astype(np.float32)  # distinct levels
    x = rng.normal(0.5, 1.5, (n, h, w, c)).astype(np.float32)
    codes = rng.integers(0, 1 << bits, (o, kh, kw, c)).astype(np.int8)
    v = rng.uniform(0.01, 0.3, (o, bits)).astype(np.float32)
    bias = rng.normal(0, 0.5, o).astype(np.float32)
    if c in ALL_ONES:
        x = np.full_like(x, 100.0)
        codes = np.full_like(codes, (1 << bits) - 1)
    got_bits = m.__getattr__(f"bitserial{i}")(x, codes, v, u, bias)
    got_float = m.__getattr__(f"decoded{i}")(x, codes, v, u, bias)
    got_whole = whole.__getattr__(f"bitserial{i}")(x, codes, v, u, bias)
    if not np.array_equal(got_whole, got_bits):
        sys.exit(f"case {i} {case}: the whole-batch lowering differs from the row one by "
                 f"{np.abs(got_whole - got_bits).max():.3g}")
    for name, other in widths.items():
        got_other = other.__getattr__(f"bitserial{i}")(x, codes, v, u, bias)
        if not np.array_equal(got_other, got_bits):
            sys.exit(f"case {i} {case}: the row kernel ({name}) differs by "
                     f"{np.abs(got_other - got_bits).max():.3g}")
    got_native = native.__getattr__(f"bitserial{i}")(x, codes, v, u, bias)
    got_native_reference = native_reference.__getattr__(f"bitserial{i}")(x, codes, v, u, bias)
    if not np.array_equal(got_native, got_native_reference):
        sys.exit(f"case {i} {case}: the row kernel dq-compile picks for this CPU differs from "
                 f"the vector-ctpop one by {np.abs(got_native - got_native_reference).max():.3g}")
    if windowable(case):
        # The same exact sums P and Q, so the same numbers, from the row
        # kernel and from the whole-batch lowering of the windowed packing.
        for name, lib in (("row", m), ("whole-batch", whole)):
            got_window = lib.__getattr__(f"windowed{i}")(x, codes, v, u, bias)
            if not np.array_equal(got_window, got_bits):
                sys.exit(f"case {i} {case}: the windowed packing ({name} lowering) differs by "
                         f"{np.abs(got_window - got_bits).max():.3g}")
    exact, scale = conv64(levels_act(x, u), decode(codes, v), bias.astype(np.float64), stride, pad, dil)
    bound = (kh * kw * c + bits * abits + 2) * 2.0 ** -24 * scale
    for name, got, factor in (("bit-serial", got_bits, 1), ("decoded", got_float, 1)):
        err = np.abs(got.astype(np.float64) - exact)
        if not np.all(err <= factor * bound):
            worst = np.unravel_index(np.argmax(err - bound), err.shape)
            sys.exit(f"case {i} {case}: {name} off by {err[worst]:.3g} at {worst} "
                     f"(bound {bound[worst]:.3g})")
    err = np.abs(got_bits.astype(np.float64) - got_float.astype(np.float64))
    if not np.all(err <= 2 * bound):
        sys.exit(f"case {i} {case}: bit-serial and decoded differ by {err.max():.3g}")
    print(f"case {i}: {case} max |bit-serial - fp64| {np.abs(got_bits - exact).max():.3g}")
print("ok")
