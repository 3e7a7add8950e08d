#!/usr/bin/env python3
"""Writes an .npz whose directory declares images.npy as one 4x4 image
(128 + 16 bytes) while its deflate stream inflates to 300 MB (about 0.3 MB
compressed): test/Fuzz/dataset-npz-bomb.test. A reader that inflates the
stream before comparing with the declared size needs hundreds of MB for a
16-byte image; loadNpz stops one byte past the declared size."""
import struct
import sys
import zlib

header = b"{'descr': '|u1', 'fortran_order': False, 'shape': (1, 4, 4), }"
header += b" " * (128 - 10 - len(header) - 1) + b"\n"
npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
declared = npy + bytes(16)
compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
stream = compressor.compress(declared)
chunk = bytes(1 << 20)
for _ in range(300):
    stream += compressor.compress(chunk)
stream += compressor.flush()
crc = zlib.crc32(declared)
name = b"images.npy"
local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc,
                    len(stream), len(declared), len(name), 0) + name
central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0,
                      crc, len(stream), len(declared), len(name), 0, 0, 0,
                      0, 0, 0) + name
body = local + stream
end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central),
                  len(body), 0)
with open(sys.argv[1], "wb") as f:
    f.write(body + central + end)
