"""Writes an image-folder data set for the tests (docs/Runtime.md, "Data
sets"): DIR/train/<class>/NNN.pgm and DIR/test/<class>/NNN.pgm, binary PGM
(or PPM with --channels 3) images of a size, class i's pixels drawn from
[0, 256 >> i) so that the classes can be told apart.

  make_image_folder.py DIR [--classes a,b] [--train N] [--test N]
                           [--size 28] [--channels 1]
"""
import argparse
import os
import random

parser = argparse.ArgumentParser()
parser.add_argument("dir")
parser.add_argument("--classes", default="cat,dog")
parser.add_argument("--train", type=int, default=12)
parser.add_argument("--test", type=int, default=4)
parser.add_argument("--size", type=int, default=28)
parser.add_argument("--channels", type=int, default=1, choices=(1, 3))
args = parser.parse_args()
rng = random.Random(0)
for split, n in (("train", args.train), ("test", args.test)):
    for i, name in enumerate(args.classes.split(",")):
        d = os.path.join(args.dir, split, name)
        os.makedirs(d, exist_ok=True)
        for k in range(n):
            px = bytes(rng.randrange(256 >> i)
                       for _ in range(args.size * args.size * args.channels))
            magic = b"P5" if args.channels == 1 else b"P6"
            with open(os.path.join(d, f"{k:03d}.p{'g' if args.channels == 1 else 'p'}m"), "wb") as f:
                f.write(magic + b"\n# make_image_folder.py\n%d %d\n255\n" % (args.size, args.size) + px)
