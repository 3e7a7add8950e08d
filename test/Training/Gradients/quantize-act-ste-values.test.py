import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "python"))
import dq_runtime  # noqa: E402

MODULE = """
func.func @q(%x: tensor<2x4xf32>, %u: tensor<2xf32>) -> tensor<2x4xf32> {
  %y = dq.quantize_act %x, %u config = #dq.act_quant<bits = 2, scheme = dq> axis = 1 : (tensor<2x4xf32>, tensor<2xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
"""
dq_opt = dq_runtime.find_dq_opt()
import subprocess
text = subprocess.run([dq_opt, "--dq-differentiate=func=q"], input=MODULE,
                      stdout=subprocess.PIPE, check=True,
                      universal_newlines=True).stdout
m = dq_runtime.load(text)
u = np.array([0.5, 1.0], np.float32)           # top level 1.5
x = np.array([[-1.0, 0.2, 1.5, 1.6], [3.0, 1.49, 0.0, 2.0]], np.float32)
dy = np.arange(1, 9, dtype=np.float32).reshape(2, 4)
dx, du = m.q_vjp(x, u, dy)
expected = np.where(x <= 1.5, dy, 0).astype(np.float32)
assert np.array_equal(dx, expected), (dx, expected)
assert not du.any(), du
print("quantize_act STE gradient OK")
