"""Codes of the constant-basis step lowering against the scan lowering."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "python"))
import dq_runtime  # noqa: E402

rng = np.random.default_rng(5)
bases = []
for bits in (1, 2, 3, 4):
    for kind in range(4):
        if kind == 0:
            u = rng.uniform(0.05, 2.0, bits)
        elif kind == 1:
            u = np.round(rng.uniform(0, 3, bits))          # integers: ties, duplicates
        elif kind == 2:
            u = rng.uniform(0.05, 2.0, bits)
            u[rng.integers(0, bits)] = 0.0                 # a zero component
        else:
            u = np.full(bits, rng.uniform(0.1, 1.0))       # all equal: many duplicates
        bases.append(u.astype(np.float32))


def values_for(u):
    bits = len(u)
    levels = np.unique(np.array([sum(float(u[j]) for j in range(bits) if (c >> j) & 1)
                                 for c in range(1 << bits)], dtype=np.float32))
    xs = [np.float32(v) for v in levels]
    for a, b in zip(levels[:-1], levels[1:]):
        m = np.float32((np.float64(a) + np.float64(b)) / 2)
        for x in (m, np.nextafter(m, np.float32(-np.inf)), np.nextafter(m, np.float32(np.inf))):
            xs += [x, np.nextafter(x, np.float32(-np.inf)), np.nextafter(x, np.float32(np.inf))]
    xs += [np.float32(v) for v in (-1.0, 0.0, -0.0, 1e30, -np.inf, np.inf, np.nan)]
    xs += list(rng.uniform(-1, float(levels[-1]) + 1, 64).astype(np.float32))
    return np.array(xs, dtype=np.float32)


funcs = []
inputs = []
for i, u in enumerate(bases):
    x = values_for(u)
    n, k = len(x), len(u)
    basis = ", ".join(repr(float(v)) for v in u)
    funcs.append(f"""
func.func @scan{i}(%x: tensor<{n}xf32>, %u: tensor<{k}xf32>) -> tensor<{n}xi8> {{
  %c = dq.project %x, %u axis = 0 unipolar nearest : (tensor<{n}xf32>, tensor<{k}xf32>) -> tensor<{n}xi8>
  return %c : tensor<{n}xi8>
}}
func.func @steps{i}(%x: tensor<{n}xf32>) -> tensor<{n}xi8> {{
  %u = arith.constant dense<[{basis}]> : tensor<{k}xf32>
  %c = dq.project %x, %u axis = 0 unipolar nearest : (tensor<{n}xf32>, tensor<{k}xf32>) -> tensor<{n}xi8>
  return %c : tensor<{n}xi8>
}}""")
    inputs.append((x, u))

m = dq_runtime.load("".join(funcs))
checked = 0
for i, (x, u) in enumerate(inputs):
    scan = m.__getattr__(f"scan{i}")(x, u)
    steps = m.__getattr__(f"steps{i}")(x)
    if not np.array_equal(scan, steps):
        bad = np.nonzero(scan != steps)[0]
        sys.exit(f"basis {u.tolist()}: steps differ from the scan at x = "
                 f"{[float(x[j]) for j in bad[:5]]}: {steps[bad[:5]].tolist()} vs {scan[bad[:5]].tolist()}")
    checked += len(x)
print(f"ok: {len(inputs)} bases, {checked} values")
