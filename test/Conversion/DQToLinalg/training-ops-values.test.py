import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "python"))
import dq_runtime  # noqa: E402

MODULE = """
func.func @bn(%x: tensor<2x3x3x4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>) -> tensor<2x3x3x4xf32> {
  %y = dq.batch_norm %x, %g, %b, %m, %v axis = 3 epsilon = 1.0e-3 : (tensor<2x3x3x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x3x3x4xf32>
  return %y : tensor<2x3x3x4xf32>
}
func.func @bn_train(%x: tensor<2x3x3x4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<2x3x3x4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %y:3 = dq.batch_norm_train %x, %g, %b axis = 3 epsilon = 1.0e-3 : (tensor<2x3x3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x3x3x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %y#0, %y#1, %y#2 : tensor<2x3x3x4xf32>, tensor<4xf32>, tensor<4xf32>
}
func.func @ce(%z: tensor<3x5xf32>, %l: tensor<3xi32>) -> (tensor<f32>, tensor<i32>) {
  %loss = dq.softmax_cross_entropy %z, %l : (tensor<3x5xf32>, tensor<3xi32>) -> tensor<f32>
  %c = dq.count_correct %z, %l : (tensor<3x5xf32>, tensor<3xi32>) -> tensor<i32>
  return %loss, %c : tensor<f32>, tensor<i32>
}
func.func @cw(%x: tensor<2x2x6xf32>, %u: tensor<2xf32>) -> (tensor<6xf32>, tensor<6xf32>) {
  %w0 = dq.channel_weights %x, %u axis = 2 trim = 0.0 epsilon = 1.0e-8 : (tensor<2x2x6xf32>, tensor<2xf32>) -> tensor<6xf32>
  %w1 = dq.channel_weights %x, %u axis = 2 trim = 0.34 epsilon = 1.0e-8 : (tensor<2x2x6xf32>, tensor<2xf32>) -> tensor<6xf32>
  return %w0, %w1 : tensor<6xf32>, tensor<6xf32>
}
"""

m = dq_runtime.load(MODULE)
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 3, 4)).astype(np.float32)
g, b = rng.uniform(0.5, 1.5, 4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
mean, var = rng.standard_normal(4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32)
np.testing.assert_allclose(m.bn(x, g, b, mean, var),
                           (x - mean) / np.sqrt(var + 1e-3) * g + b, rtol=1e-5, atol=1e-5)
y, bm, bv = m.bn_train(x, g, b)
np.testing.assert_allclose(bm, x.mean(axis=(0, 1, 2)), rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(bv, x.var(axis=(0, 1, 2)), rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(y, (x - bm) / np.sqrt(bv + 1e-3) * g + b, rtol=1e-5, atol=1e-5)

z = np.array([[1, 3, 3, 0, -1], [0, 0, 0, 0, 0], [5, 1, 2, 9, 9]], np.float32)
labels = np.array([1, 4, 3], np.int32)
loss, correct = m.ce(z, labels)
lse = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
np.testing.assert_allclose(loss, np.mean(lse - z[np.arange(3), labels]), rtol=1e-6)
# first maximum on ties: row 0 -> 1 (hit), row 1 -> 0 (miss), row 2 -> 3 (hit)
assert int(correct) == 2, correct
bad_loss, _ = m.ce(z, np.array([1, 5, 3], np.int32))
assert np.isnan(bad_loss), bad_loss

# channel weights: energies of channels; two channels with equal error tie.
x = np.zeros((2, 2, 6), np.float32)
x[..., 0] = 0.1
x[..., 1] = 0.5
x[..., 2] = 1.0
x[..., 3] = 0.35
x[..., 4] = 0.35
x[..., 5] = 2.0
u = np.array([0.5, 1.0], np.float32)  # levels 0, 0.5, 1.0, 1.5
w0, w1 = m.cw(x, u)
energy = (x.astype(np.float64) ** 2).mean(axis=(0, 1))
inv = 1 / (energy + 1e-8)
expected = inv / inv.mean()
np.testing.assert_allclose(w0, expected, rtol=1e-5)
levels = np.array([0, 0.5, 1.0, 1.5])
q = levels[np.argmin(np.abs(x[..., None] - levels) - 1e-9 * levels, axis=-1)]
rel = ((x - q) ** 2).mean(axis=(0, 1)) / (energy + 1e-8)
# floor(0.34 * 6) = 2 trimmed: channel 0 (0.1 -> 0, error 100%) and, of the
# tied channels 3 and 4 (0.35 -> 0.5), the lower index 3.
order = sorted(range(6), key=lambda c: (-rel[c], c))
assert order[:2] == [0, 3], (order, rel)
expected_trim = expected.copy()
expected_trim[[0, 3]] = 0
np.testing.assert_allclose(w1, expected_trim, rtol=1e-5)
print("training ops match their definitions")
