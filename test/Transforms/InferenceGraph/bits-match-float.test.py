"""The bit-serial and the decoded float inference modules of one trained
state give the same logits (to float rounding) on random images."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "python"))
import dq_runtime  # noqa: E402

bits = dq_runtime.load(open(sys.argv[1]).read())
floats = dq_runtime.load(open(sys.argv[2]).read())
rng = np.random.default_rng(5)
batch = int(sys.argv[3])
images = rng.uniform(0, 1, (batch, 28, 28, 1)).astype(np.float32)
a, b = bits.predict(images), floats.predict(images)
print("max |bit-serial - float| = %.3g, max |logit| = %.3g" % (np.abs(a - b).max(), np.abs(b).max()))
np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(b).max()))
