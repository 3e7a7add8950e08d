#!/usr/bin/env python3
"""Checks python/dq_runtime/statefile.py, the Python reader of dq's state
files and exports: a file written to the documented format (docs/Runtime.md)
reads back exactly, packed codes unpack as the runtime packs them, and
every truncation, flipped byte and mismatch with the manifest is a
StateFileError, never another exception.

Standalone: `/usr/bin/python3 python/tests/test_statefile.py` exits 0 when
every check passes and 1 (listing the failures) otherwise.
"""

import json
import os
import struct
import sys
import tempfile
import zlib

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from dq_runtime import statefile as S  # noqa: E402

_failures = []
_checks = [0]


def check(condition, message):
    _checks[0] += 1
    if not condition:
        _failures.append(message)


CODES = {"f32": 0, "i8": 1, "i32": 2, "i64": 3}


def state_file(manifest_hash, tensors, metadata):
    """The bytes of a state file (docs/Runtime.md, "State files")."""
    meta = json.dumps(metadata).encode()
    out = bytearray(b"DQSTATE\0" + struct.pack("<IIQII", 1, 0, manifest_hash,
                                               len(tensors), len(meta)) + meta)
    for name, dtype, array in tensors:
        raw = np.ascontiguousarray(array).tobytes()
        out += struct.pack("<I", len(name)) + name.encode()
        out += struct.pack("<II", CODES[dtype], array.ndim)
        out += struct.pack("<%dQ" % array.ndim, *array.shape)
        out += struct.pack("<QI", len(raw), zlib.crc32(raw) & 0xFFFFFFFF) + raw
    out += struct.pack("<I", zlib.crc32(bytes(out)) & 0xFFFFFFFF)
    return bytes(out)


def pack(codes, bits):
    stream = []
    for c in codes:
        stream += [(int(c) >> b) & 1 for b in range(bits)]
    stream += [0] * (-len(stream) % 8)
    return np.packbits(np.array(stream, np.uint8), bitorder="little")


def main():
    directory = tempfile.mkdtemp(prefix="dq-statefile-test-")
    manifest = {
        "format": "dq-manifest", "version": 2,
        "module_hash": "fnv1a64:00000000000000ab",
        "image_shape": [4, 4, 1], "classes": 3,
        "library": {"bytes": 1, "hash": "fnv1a64:0000000000000000"},
        "state": [
            {"name": "l.weight.codes", "role": "codes", "dtype": "i8",
             "shape": [2, 5], "bytes": 10},
            {"name": "l.weight.basis", "role": "basis", "dtype": "f32",
             "shape": [2, 3], "bytes": 24},
            {"name": "l.weight.momentum", "role": "momentum", "dtype": "f32",
             "shape": [2, 5], "bytes": 40},
            {"name": "fc.bias", "role": "param", "dtype": "f32",
             "shape": [3], "bytes": 12},
        ],
        "preprocess": {"layout": "NHWC", "pixel_scale": 255, "mean": [0.5],
                       "std": [0.25]},
    }
    path = os.path.join(directory, "m.manifest.json")
    with open(path, "w") as f:
        json.dump(manifest, f)
    m = S.load_manifest(os.path.join(directory, "m"))
    check(m["_hash"] == 0xAB, "manifest hash")
    check(S.effective_preprocess(m)["std"] == [0.25], "preprocess")

    codes = (np.arange(10) % 8).astype(np.int8).reshape(2, 5)
    basis = np.arange(6, dtype=np.float32).reshape(2, 3)
    momentum = np.ones((2, 5), np.float32)
    bias = np.array([1, -2, 3], np.float32)
    full = state_file(0xAB, [("l.weight.codes", "i8", codes),
                             ("l.weight.basis", "f32", basis),
                             ("l.weight.momentum", "f32", momentum),
                             ("fc.bias", "f32", bias)], {"step": 3})
    packed = pack(codes.reshape(-1), 3)
    export = state_file(0xAB, [("l.weight.codes", "i8", packed.view(np.int8)),
                               ("l.weight.basis", "f32", basis),
                               ("fc.bias", "f32", bias)],
                        {"kind": "dq-export",
                         "packed": {"l.weight.codes": {"bits": 3,
                                                       "shape": [2, 5]}}})

    def write(data, name="s.state"):
        target = os.path.join(directory, name)
        with open(target, "wb") as f:
            f.write(data)
        return target

    for data, kind in ((full, "state"), (export, "export")):
        t = S.read_trained_state(write(data), m)
        check(t.kind == kind, kind + ": kind")
        check(np.array_equal(t.tensors["l.weight.codes"],
                             codes.astype(np.uint8)), kind + ": codes")
        check(np.array_equal(t.tensors["l.weight.basis"], basis),
              kind + ": basis")
        check(np.array_equal(t.tensors["fc.bias"], bias), kind + ": bias")
        check("l.weight.momentum" not in t.tensors, kind + ": momentum kept")
        check(t.roles["l.weight.codes"] == "codes", kind + ": roles")

    def refused(data, part, name):
        try:
            S.read_trained_state(write(data), m)
        except S.StateFileError as e:
            check(part in str(e), "%s: '%s' lacks '%s'" % (name, e, part))
            return
        except Exception as e:  # anything else is a bug
            check(False, "%s: %s: %s" % (name, type(e).__name__, e))
            return
        check(False, name + ": accepted")

    # Every truncation and every flipped byte of both files.
    for data, kind in ((full, "state"), (export, "export")):
        for n in range(len(data)):
            refused(data[:n], "s.state", "%s cut at %d" % (kind, n))
        for i in range(len(data)):
            flipped = bytearray(data)
            flipped[i] ^= 0x21
            refused(bytes(flipped), "s.state", "%s flipped at %d" % (kind, i))
    refused(state_file(0xAC, [], {}), "manifest hash", "other model")
    refused(state_file(0xAB, [("l.weight.codes", "i8", codes)], {}),
            "tensor 1 is missing", "missing tensor")
    bad = codes.copy()
    bad[0, 0] = 9
    refused(state_file(0xAB, [("l.weight.codes", "i8", bad),
                              ("l.weight.basis", "f32", basis),
                              ("l.weight.momentum", "f32", momentum),
                              ("fc.bias", "f32", bias)], {}),
            "a code >= 2^3", "code out of range")
    refused(state_file(0xAB, [("l.weight.codes", "i8", codes),
                              ("l.weight.basis", "f32", basis),
                              ("l.weight.momentum", "f32", momentum),
                              ("fc.bias", "f32",
                               np.array([1, np.nan, 3], np.float32))], {}),
            "non-finite", "NaN")
    refused(state_file(0xAB, [("l.weight.codes", "i8", packed.view(np.int8)),
                              ("l.weight.basis", "f32", basis),
                              ("fc.bias", "f32", bias)],
                       {"kind": "dq-export",
                        "packed": {"l.weight.codes": {"bits": 2,
                                                      "shape": [2, 5]}}}),
            "do not match", "wrong bit width")
    refused(state_file(0xAB, [("l.weight.codes", "i8", codes),
                              ("l.weight.basis", "f32", basis),
                              ("l.weight.momentum", "f32", momentum),
                              ("fc.bias", "f32", bias)],
                       {"preprocess": {"layout": "NHWC", "pixel_scale": 255,
                                       "mean": [0.5], "std": [0.0]}}),
            "standard deviation", "bad preprocess")

    if _failures:
        print("FAILED %d of %d checks:" % (len(_failures), _checks[0]))
        for f in _failures[:20]:
            print("  " + f)
        return 1
    print("statefile: %d checks passed" % _checks[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
