"""Compares the state of a linalg-form model (linalg_tiny.py) with its TOSA
form's after the same training steps: every tensor of the linalg form, by
name (conv_2d_nhwc_fhwc_0 is conv2d_0 in TOSA), must be bit-identical and
every momentum nonzero. The TOSA form also trains its conv bias (a
linalg-form bias is a constant), so only one step is compared.

Usage: same_state.py LINALG.state TOSA.state"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "..", "python"))
from dq_runtime import statefile  # noqa: E402


def tensors(path):
    _, _, ts = statefile.read_state_file(path)
    return {t.name: np.asarray(t.data).reshape(-1) for t in ts}


linalg, tosa = tensors(sys.argv[1]), tensors(sys.argv[2])
for name, value in linalg.items():
    other = tosa[name.replace("conv_2d_nhwc_fhwc_0", "conv2d_0")]
    same = value.dtype == other.dtype and np.array_equal(value, other)
    moved = not name.endswith("momentum") or bool(np.any(value != 0))
    print(name, "identical" if same else "DIFFERENT",
          "" if moved else "(zero momentum)")
print("TOSA only:", sorted(set(tosa) - {
    n.replace("conv_2d_nhwc_fhwc_0", "conv2d_0") for n in linalg}))
