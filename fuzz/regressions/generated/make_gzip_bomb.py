#!/usr/bin/env python3
"""Writes the reproducer of finding F3 (docs/Fuzzing.md; test/Fuzz/dataset-gzip-bomb.test): a gzip IDX image
file whose header declares 1 image of 4x4 pixels, followed by 300 MB of
zeros (about 0.3 MB compressed). A reader that decompresses the whole file
before looking at the header needs hundreds of MB for a 16-byte image."""
import gzip
import struct
import sys

with gzip.open(sys.argv[1], "wb", compresslevel=9) as f:
    f.write(struct.pack(">IIII", 0x00000803, 1, 4, 4) + bytes(16))
    chunk = bytes(1 << 20)
    for _ in range(300):
        f.write(chunk)
