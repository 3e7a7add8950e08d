"""Independent PyTorch reference of dq's numeric contract (docs/Numerics.md).

Written from the contract, not from the C++ (include/dq/Numerics/Levels.h) or
the lowering (convert-dq-to-linalg), so that tests comparing them catch bugs
in either. CPU, float32 tensors, torch 1.13 API.
"""

from .quantizers import (
    BIPOLAR,
    UNIPOLAR,
    DEFAULT_RIDGE,
    levels,
    project_nearest,
    quantize_act,
    decode_weights,
    mix32,
    counter_uniform,
    project_stochastic,
    fit_levels,
    init_weight_state,
    init_act_basis,
)

__all__ = [
    "BIPOLAR",
    "UNIPOLAR",
    "DEFAULT_RIDGE",
    "levels",
    "project_nearest",
    "quantize_act",
    "decode_weights",
    "mix32",
    "counter_uniform",
    "project_stochastic",
    "fit_levels",
    "init_weight_state",
    "init_act_basis",
]
