"""Rewrites a dq state file (docs/Runtime.md's format) with edited values and
valid checksums, so tests can hand the runtime states whose structure is
right and whose values are not.

  edit_state.py IN OUT [--set NAME INDEX VALUE]... [--set-all NAME VALUE]...
                       [--meta KEY JSON]... [--list]
"""
import argparse
import json
import struct
import sys
import zlib

DTYPES = {0: "f", 1: "b", 2: "i", 3: "q"}  # f32, i8, i32, i64


def read(path):
    data = open(path, "rb").read()
    magic, version, flags, hash_, count, meta_len = struct.unpack_from("<8sIIQII", data, 0)
    assert magic == b"DQSTATE\0", "not a state file"
    pos = 32
    meta = json.loads(data[pos:pos + meta_len].decode())
    pos += meta_len
    tensors = []
    for _ in range(count):
        (name_len,) = struct.unpack_from("<I", data, pos)
        pos += 4
        name = data[pos:pos + name_len].decode()
        pos += name_len
        dtype, rank = struct.unpack_from("<II", data, pos)
        pos += 8
        dims = list(struct.unpack_from("<%dQ" % rank, data, pos))
        pos += 8 * rank
        size, _crc = struct.unpack_from("<QI", data, pos)
        pos += 12
        raw = bytearray(data[pos:pos + size])
        pos += size
        tensors.append([name, dtype, dims, raw])
    return version, flags, hash_, meta, tensors


def write(path, version, flags, hash_, meta, tensors):
    meta_bytes = json.dumps(meta, separators=(",", ":")).encode()
    out = bytearray(struct.pack("<8sIIQII", b"DQSTATE\0", version, flags, hash_,
                                len(tensors), len(meta_bytes)))
    out += meta_bytes
    for name, dtype, dims, raw in tensors:
        encoded = name.encode()
        out += struct.pack("<I", len(encoded)) + encoded
        out += struct.pack("<II", dtype, len(dims))
        out += struct.pack("<%dQ" % len(dims), *dims)
        out += struct.pack("<QI", len(raw), zlib.crc32(raw)) + raw
    out += struct.pack("<I", zlib.crc32(out))
    open(path, "wb").write(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("output", nargs="?")
    parser.add_argument("--set", nargs=3, action="append", default=[],
                        metavar=("NAME", "INDEX", "VALUE"))
    parser.add_argument("--set-all", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"))
    parser.add_argument("--meta", nargs=2, action="append", default=[],
                        metavar=("KEY", "JSON"))
    parser.add_argument("--list", action="store_true",
                        help="print name, dtype code and dims of every tensor")
    args = parser.parse_args()
    version, flags, hash_, meta, tensors = read(args.input)
    by_name = {t[0]: t for t in tensors}
    if args.list:
        for name, dtype, dims, _ in tensors:
            print(name, DTYPES[dtype], dims)
        print("metadata", json.dumps(meta))
    for name, index, value in args.set:
        _, dtype, dims, raw = by_name[name]
        code = DTYPES[dtype]
        struct.pack_into("<" + code, raw, int(index) * struct.calcsize(code),
                         float(value) if code == "f" else int(value))
    for name, value in args.set_all:
        _, dtype, dims, raw = by_name[name]
        code = DTYPES[dtype]
        width = struct.calcsize(code)
        for i in range(len(raw) // width):
            struct.pack_into("<" + code, raw, i * width,
                             float(value) if code == "f" else int(value))
    for key, value in args.meta:
        meta[key] = json.loads(value)
    if args.output:
        write(args.output, version, flags, hash_, meta, tensors)


if __name__ == "__main__":
    sys.exit(main())
