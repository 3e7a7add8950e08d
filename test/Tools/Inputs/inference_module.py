"""A small inference module (dq.kind = "inference": @predict only, the
trained tensors as constants) for the dq-compile / dq-run / dq-train tests,
and its numpy reference.

    inference_module.py --batch 4 -o model.mlir
    inference_module.py --batch 4 --reference images-idx3 > classes.txt

@predict(images f32[N,28,28,1]) -> logits f32[N,10]: a 3x3 convolution to 4
channels (pad 1, bias), ReLU, a 28x28 average pool, a 4x10 matmul. The
reference prints "<index> <class>" per image, as dq-run --images does, from
the images normalized as dq-run normalizes them.
"""

import argparse
import gzip
import json
import sys

import numpy as np

# dq-compile's default input normalization of 1-channel images (the
# fashion-mnist preset, kFashionMnistMean, kFashionMnistStd).
MEAN, STD = 0.2860, 0.3530


def weights():
    # Seed 29: three classes among the first ten test images, each with a
    # margin of more than 0.1 over the runner-up.
    rng = np.random.RandomState(29)
    conv = rng.uniform(-0.5, 0.5, (4, 3, 3, 1)).astype(np.float32)
    bias = np.array([0.1, -0.1, 0.05, 0.0], np.float32)
    fc = rng.normal(0, 2.0, (4, 10)).astype(np.float32)
    return conv, bias, fc


def dense(array):
    # Each f32 as the shortest decimal that reads back to it.
    return json.dumps(array.tolist())


def module(batch):
    conv, bias, fc = weights()
    n = batch
    return f'''module attributes {{dq.kind = "inference"}} {{
  func.func @predict(%images: tensor<{n}x28x28x1xf32>) -> tensor<{n}x10xf32> {{
    %zp = "tosa.const"() <{{values = dense<0.0> : tensor<1xf32>}}> : () -> tensor<1xf32>
    %w = "tosa.const"() <{{values = dense<{dense(conv)}> : tensor<4x3x3x1xf32>}}> : () -> tensor<4x3x3x1xf32>
    %b = "tosa.const"() <{{values = dense<{dense(bias)}> : tensor<4xf32>}}> : () -> tensor<4xf32>
    %conv = tosa.conv2d %images, %w, %b, %zp, %zp {{acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>}} : (tensor<{n}x28x28x1xf32>, tensor<4x3x3x1xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<{n}x28x28x4xf32>
    %relu = tosa.clamp %conv {{min_val = 0.0 : f32, max_val = 3.4e38 : f32}} : (tensor<{n}x28x28x4xf32>) -> tensor<{n}x28x28x4xf32>
    %pool = tosa.avg_pool2d %relu, %zp, %zp {{acc_type = f32, kernel = array<i64: 28, 28>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>}} : (tensor<{n}x28x28x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<{n}x1x1x4xf32>
    %s3 = tosa.const_shape {{values = dense<[1, {n}, 4]> : tensor<3xindex>}} : () -> !tosa.shape<3>
    %flat = tosa.reshape %pool, %s3 : (tensor<{n}x1x1x4xf32>, !tosa.shape<3>) -> tensor<1x{n}x4xf32>
    %fc = "tosa.const"() <{{values = dense<{dense(fc[None])}> : tensor<1x4x10xf32>}}> : () -> tensor<1x4x10xf32>
    %mm = tosa.matmul %flat, %fc, %zp, %zp : (tensor<1x{n}x4xf32>, tensor<1x4x10xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x{n}x10xf32>
    %s2 = tosa.const_shape {{values = dense<[{n}, 10]> : tensor<2xindex>}} : () -> !tosa.shape<2>
    %logits = tosa.reshape %mm, %s2 : (tensor<1x{n}x10xf32>, !tosa.shape<2>) -> tensor<{n}x10xf32>
    return %logits : tensor<{n}x10xf32>
  }}
}}
'''


def read_idx_images(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    count, rows, cols = (int.from_bytes(data[i:i + 4], "big")
                         for i in (4, 8, 12))
    pixels = np.frombuffer(data[16:16 + count * rows * cols], np.uint8)
    return pixels.reshape(count, rows, cols, 1)


def logits(images):
    """images: normalized f32[N,28,28,1]."""
    conv, bias, fc = weights()
    padded = np.pad(images.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros(images.shape[:3] + (4,))
    for dy in range(3):
        for dx in range(3):
            window = padded[:, dy:dy + 28, dx:dx + 28, :]
            out += np.einsum("nhwc,oc->nhwo", window, conv[:, dy, dx, :])
    out = np.maximum(out + bias, 0)
    return out.mean(axis=(1, 2)) @ fc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("-o", dest="output")
    parser.add_argument("--reference", help="IDX images: print the classes")
    parser.add_argument("--mean", type=float, default=MEAN,
                        help="normalization of the reference (default: "
                             "dq-compile's for 1-channel images)")
    parser.add_argument("--std", type=float, default=STD)
    args = parser.parse_args()
    if args.reference:
        raw = read_idx_images(args.reference)
        images = ((raw.astype(np.float32) / np.float32(255.0) -
                   np.float32(args.mean)) / np.float32(args.std))
        for i, row in enumerate(logits(images)):
            print(i, int(np.argmax(row)))
        return
    text = module(args.batch)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
