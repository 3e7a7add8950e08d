"""A 3-channel inference module (CIFAR-10's 32x32x3 images) for the dq-run
data set tests, its numpy reference, and the same images as a CIFAR-10
binary batch and as numpy data sets.

    color_module.py module --batch 4 -o model.mlir
    color_module.py data DIR            # DIR/test_batch.bin, DIR/test.npz, ...
    color_module.py reference IMAGES.npz [--mean M,M,M --std S,S,S]

@predict(images f32[N,32,32,3]) -> logits f32[N,10]: the mean of every
channel (a 32x32 average pool) times a fixed 3x10 matrix. The data: 20
images of random pixels, each with its own color cast, and labels that are
the reference's classes except for 5 (so the accuracy is 75 %).
"""

import argparse
import json
import os

import numpy as np

# dq-compile's default for 3-channel images (the cifar10 preset).
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
COUNT = 20
WRONG = (1, 4, 9, 13, 17)  # images whose label is not the reference's class


def weights():
    rng = np.random.RandomState(3)
    return rng.normal(0, 1.0, (3, 10)).astype(np.float32)


def module(batch):
    w = json.dumps(weights()[None].tolist())
    n = batch
    return f'''module attributes {{dq.kind = "inference"}} {{
  func.func @predict(%images: tensor<{n}x32x32x3xf32>) -> tensor<{n}x10xf32> {{
    %zp = "tosa.const"() <{{values = dense<0.0> : tensor<1xf32>}}> : () -> tensor<1xf32>
    %pool = tosa.avg_pool2d %images, %zp, %zp {{acc_type = f32, kernel = array<i64: 32, 32>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>}} : (tensor<{n}x32x32x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<{n}x1x1x3xf32>
    %s3 = tosa.const_shape {{values = dense<[1, {n}, 3]> : tensor<3xindex>}} : () -> !tosa.shape<3>
    %flat = tosa.reshape %pool, %s3 : (tensor<{n}x1x1x3xf32>, !tosa.shape<3>) -> tensor<1x{n}x3xf32>
    %w = "tosa.const"() <{{values = dense<{w}> : tensor<1x3x10xf32>}}> : () -> tensor<1x3x10xf32>
    %mm = tosa.matmul %flat, %w, %zp, %zp : (tensor<1x{n}x3xf32>, tensor<1x3x10xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x{n}x10xf32>
    %s2 = tosa.const_shape {{values = dense<[{n}, 10]> : tensor<2xindex>}} : () -> !tosa.shape<2>
    %logits = tosa.reshape %mm, %s2 : (tensor<1x{n}x10xf32>, !tosa.shape<2>) -> tensor<{n}x10xf32>
    return %logits : tensor<{n}x10xf32>
  }}
}}
'''


def classes(raw, mean=MEAN, std=STD):
    """raw: uint8 [N,32,32,3] -> the predicted class of every image."""
    x = (raw.astype(np.float32) / np.float32(255.0) -
         np.array(mean, np.float32)) / np.array(std, np.float32)
    logits = x.astype(np.float64).mean(axis=(1, 2)) @ weights()
    return logits.argmax(axis=1)


def images():
    rng = np.random.RandomState(11)
    cast = rng.randint(0, 160, (COUNT, 1, 1, 3))
    return (cast + rng.randint(0, 96, (COUNT, 32, 32, 3))).astype(np.uint8)


def write_data(directory):
    raw = images()
    labels = classes(raw).astype(np.int64)
    for i in WRONG:
        labels[i] = (labels[i] + 1) % 10
    os.makedirs(directory, exist_ok=True)
    # CIFAR-10 binary: per record the label byte, then the R, G, B planes.
    with open(os.path.join(directory, "test_batch.bin"), "wb") as f:
        for image, label in zip(raw, labels):
            f.write(bytes([label]) + image.transpose(2, 0, 1).tobytes())
    np.savez(os.path.join(directory, "test.npz"), images=raw, labels=labels)
    np.savez_compressed(os.path.join(directory, "compressed.npz"),
                        images=raw, labels=labels.astype(np.uint8))
    np.savez(os.path.join(directory, "unlabeled.npz"), images=raw)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["module", "data", "reference"])
    parser.add_argument("path", nargs="?")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("-o", dest="output")
    parser.add_argument("--mean", default=",".join(map(str, MEAN)))
    parser.add_argument("--std", default=",".join(map(str, STD)))
    args = parser.parse_args()
    if args.what == "module":
        with open(args.output, "w") as f:
            f.write(module(args.batch))
    elif args.what == "data":
        write_data(args.path)
    else:
        raw = np.load(args.path)["images"]
        mean = [float(v) for v in args.mean.split(",")]
        std = [float(v) for v in args.std.split(",")]
        for i, c in enumerate(classes(raw, mean, std)):
            print(i, int(c))


if __name__ == "__main__":
    main()
