import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "python"))
import dq_runtime  # noqa: E402

ALIAS = "#id = affine_map<(d0, d1) -> (d0, d1)>\n"
TEMPLATE = """
func.func @both{K}(%x: tensor<64x4xf32>, %u: tensor<{K}xf32>) -> (tensor<64x4xf32>, tensor<64x4xi8>) {{
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = {K}, scheme = dq> axis = 1 : (tensor<64x4xf32>, tensor<{K}xf32>) -> tensor<64x4xf32>
  %e = tensor.empty() : tensor<64x4xf32>
  %c = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}} ins(%x : tensor<64x4xf32>) outs(%e : tensor<64x4xf32>) {{
  ^bb0(%in: f32, %out: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  }} -> tensor<64x4xf32>
  %codes = dq.project %c, %u axis = 1 unipolar nearest : (tensor<64x4xf32>, tensor<{K}xf32>) -> tensor<64x4xi8>
  return %q, %codes : tensor<64x4xf32>, tensor<64x4xi8>
}}
func.func @quantize{K}(%x: tensor<64x4xf32>, %u: tensor<{K}xf32>) -> tensor<64x4xf32> {{
  %q = dq.quantize_act %x, %u config = #dq.act_quant<bits = {K}, scheme = dq> axis = 1 : (tensor<64x4xf32>, tensor<{K}xf32>) -> tensor<64x4xf32>
  return %q : tensor<64x4xf32>
}}
func.func @project{K}(%c: tensor<64x4xf32>, %u: tensor<{K}xf32>) -> tensor<64x4xi8> {{
  %codes = dq.project %c, %u axis = 1 unipolar nearest : (tensor<64x4xf32>, tensor<{K}xf32>) -> tensor<64x4xi8>
  return %codes : tensor<64x4xi8>
}}
"""

m = dq_runtime.load(ALIAS + TEMPLATE.format(K=2) + TEMPLATE.format(K=8))
rng = np.random.default_rng(0)
for bits in (2, 8):
    u = np.sort(rng.uniform(0.01, 1.0, bits)).astype(np.float32)[::-1].copy()
    codes = np.arange(2 ** bits)
    levels = np.zeros(len(codes), np.float32)
    for k in range(bits):  # in bit order, in float32, like the level table
        levels = (levels + np.float32(u[k]) * ((codes >> k) & 1).astype(np.float32)).astype(np.float32)
    s = np.sort(levels)
    mids = ((s[:-1] + s[1:]) / 2).astype(np.float32)
    special = np.array([np.nan, -0.0, 0.0, -1.0, s[-1] * 2, s[-1], s[0]], np.float32)
    pool = np.concatenate([s, mids, np.nextafter(mids, np.float32(-np.inf)),
                           special, rng.uniform(-0.5, s[-1] + 0.5, 256).astype(np.float32)])
    x = rng.choice(pool, 256).astype(np.float32)
    x[:len(special)] = special
    x = x.reshape(64, 4)
    q, c = getattr(m, f"both{bits}")(x, u)
    q_alone = getattr(m, f"quantize{bits}")(x, u)
    c_alone = getattr(m, f"project{bits}")(np.maximum(x, np.float32(0)), u)
    assert np.array_equal(np.asarray(q).view(np.uint32), np.asarray(q_alone).view(np.uint32)), bits
    assert np.array_equal(np.asarray(c), np.asarray(c_alone)), bits
    # and they are what they claim: the level of each code (NaN passes, code 0)
    finite = ~np.isnan(x)
    assert np.array_equal(np.asarray(q)[finite], levels[np.asarray(c).astype(np.uint8)][finite]), bits
    assert np.isnan(np.asarray(q)[~finite]).all() and (np.asarray(c)[~finite] == 0).all()
print("ok")
