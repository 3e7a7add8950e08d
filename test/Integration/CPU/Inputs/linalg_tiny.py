"""Writes a small Fashion-MNIST CNN in linalg form (what tosa-to-linalg-named
emits for a conv, max-pool and fc network): tensor.pad, linalg
conv_2d_nhwc_fhwc, tosa.clamp (ReLU), linalg.pooling_nhwc_max,
tensor.collapse_shape, linalg.matmul, with seeded random weights; with
--tosa, the same network in TOSA (conv2d with a zero bias, clamp,
max_pool2d, reshape, matmul).

Usage: linalg_tiny.py BATCH [--tosa]"""

import sys

import numpy as np


def dense(a):
    return "dense<{}> : tensor<{}xf32>".format(
        np.array2string(a, separator=", ", threshold=1 << 30,
                        formatter={"float_kind": lambda v: "%.6e" % v}),
        "x".join(str(d) for d in a.shape))


def main():
    batch = int(sys.argv[1])
    rng = np.random.default_rng(3)
    k = (rng.standard_normal((4, 3, 3, 1)) / 3.0).astype(np.float32)
    w = (rng.standard_normal((784, 10)) / 28.0).astype(np.float32)
    n = batch
    if "--tosa" in sys.argv:
        w3 = w.reshape(1, 784, 10)
        print(f"""func.func @model(%x: tensor<{n}x28x28x1xf32>) -> tensor<{n}x10xf32> {{
  %zp = "tosa.const"() <{{values = dense<0.0> : tensor<1xf32>}}> : () -> tensor<1xf32>
  %k = "tosa.const"() <{{values = {dense(k)}}}> : () -> tensor<4x3x3x1xf32>
  %bias = "tosa.const"() <{{values = dense<0.0> : tensor<4xf32>}}> : () -> tensor<4xf32>
  %c = tosa.conv2d %x, %k, %bias, %zp, %zp {{acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>}} : (tensor<{n}x28x28x1xf32>, tensor<4x3x3x1xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<{n}x28x28x4xf32>
  %r = tosa.clamp %c {{max_val = 3.4e38 : f32, min_val = 0.0 : f32}} : (tensor<{n}x28x28x4xf32>) -> tensor<{n}x28x28x4xf32>
  %m = tosa.max_pool2d %r {{kernel = array<i64: 2, 2>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 2, 2>}} : (tensor<{n}x28x28x4xf32>) -> tensor<{n}x14x14x4xf32>
  %s1 = tosa.const_shape {{values = dense<[1, {n}, 784]> : tensor<3xindex>}} : () -> !tosa.shape<3>
  %f = tosa.reshape %m, %s1 : (tensor<{n}x14x14x4xf32>, !tosa.shape<3>) -> tensor<1x{n}x784xf32>
  %w = "tosa.const"() <{{values = {dense(w3)}}}> : () -> tensor<1x784x10xf32>
  %y = tosa.matmul %f, %w, %zp, %zp : (tensor<1x{n}x784xf32>, tensor<1x784x10xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x{n}x10xf32>
  %s2 = tosa.const_shape {{values = dense<[{n}, 10]> : tensor<2xindex>}} : () -> !tosa.shape<2>
  %o = tosa.reshape %y, %s2 : (tensor<1x{n}x10xf32>, !tosa.shape<2>) -> tensor<{n}x10xf32>
  return %o : tensor<{n}x10xf32>
}}""")
        return
    print(f"""func.func @model(%x: tensor<{n}x28x28x1xf32>) -> tensor<{n}x10xf32> {{
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {{
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %zero : f32
  }} : tensor<{n}x28x28x1xf32> to tensor<{n}x30x30x1xf32>
  %k = arith.constant {dense(k)}
  %z0 = arith.constant dense<0.0> : tensor<{n}x28x28x4xf32>
  %c = linalg.conv_2d_nhwc_fhwc {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}} ins(%p, %k : tensor<{n}x30x30x1xf32>, tensor<4x3x3x1xf32>) outs(%z0 : tensor<{n}x28x28x4xf32>) -> tensor<{n}x28x28x4xf32>
  %r = tosa.clamp %c {{max_val = 3.4e38 : f32, min_val = 0.0 : f32}} : (tensor<{n}x28x28x4xf32>) -> tensor<{n}x28x28x4xf32>
  %ninf = arith.constant dense<-3.4e38> : tensor<{n}x14x14x4xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %m = linalg.pooling_nhwc_max {{dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}} ins(%r, %win : tensor<{n}x28x28x4xf32>, tensor<2x2xf32>) outs(%ninf : tensor<{n}x14x14x4xf32>) -> tensor<{n}x14x14x4xf32>
  %f = tensor.collapse_shape %m [[0], [1, 2, 3]] : tensor<{n}x14x14x4xf32> into tensor<{n}x784xf32>
  %w = arith.constant {dense(w)}
  %z1 = arith.constant dense<0.0> : tensor<{n}x10xf32>
  %y = linalg.matmul ins(%f, %w : tensor<{n}x784xf32>, tensor<784x10xf32>) outs(%z1 : tensor<{n}x10xf32>) -> tensor<{n}x10xf32>
  return %y : tensor<{n}x10xf32>
}}""")


if __name__ == "__main__":
    main()
