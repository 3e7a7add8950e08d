"""Reads dq's state files, checkpoints and exports (.dqm) with the manifest
of their model, in plain Python + numpy (docs/Runtime.md, "State files and
checkpoints", "Exported models"): every length, checksum, name, dtype and
shape is checked before it is used, as the C++ runtime does, and anything
wrong is a StateFileError naming the file.

    manifest = load_manifest("out/model")              # or the .manifest.json
    trained = read_trained_state("run/model.dqm", manifest)
    trained.tensors["conv2.weight.codes"]             # numpy, codes unpacked
    trained.kind                                      # "export" or "state"
"""

import collections
import json
import math
import os
import struct
import zlib

import numpy as np

MAGIC = b"DQSTATE\0"
VERSION = 1
HEADER_SIZE = 32
DTYPE_CODES = {0: "f32", 1: "i8", 2: "i32", 3: "i64"}
NUMPY_DTYPES = {"f32": "<f4", "i8": "i1", "i32": "<i4", "i64": "<i8"}
ITEM_SIZES = {"f32": 4, "i8": 1, "i32": 4, "i64": 8}
# Roles an export keeps (isInferenceRole in runtime/lib/Export.cpp).
INFERENCE_ROLES = ("param", "running_mean", "running_var", "codes", "basis",
                   "act_basis")


class StateFileError(ValueError):
    pass


Tensor = collections.namedtuple("Tensor", ["name", "dtype", "shape", "data"])


def manifest_path(model):
    """<prefix>.manifest.json for a prefix, or the path when it is one of
    dq-compile's files (.so, .manifest.json, .state)."""
    if os.path.exists(model + ".manifest.json"):
        return model + ".manifest.json"
    for suffix in (".manifest.json", ".so", ".state"):
        if model.endswith(suffix):
            return model[:-len(suffix)] + ".manifest.json"
    return model + ".manifest.json"


def _fail(path, what):
    raise StateFileError("%s: %s" % (path, what))


def load_manifest(model):
    """The manifest of a compiled model (a prefix or a file path), with the
    fields this module and the export tools read checked."""
    path = manifest_path(model)
    try:
        with open(path, "rb") as f:
            manifest = json.loads(f.read().decode("utf-8"))
    except OSError as e:
        _fail(path, "cannot read: %s" % e.strerror)
    except ValueError as e:
        _fail(path, "invalid JSON: %s" % e)
    if not isinstance(manifest, dict) or manifest.get("format") != "dq-manifest":
        _fail(path, "not a dq manifest")
    if manifest.get("version") != 2:
        _fail(path, "unsupported manifest version %r" % manifest.get("version"))
    text = manifest.get("module_hash")
    if (not isinstance(text, str) or not text.startswith("fnv1a64:") or
            len(text) != 24 or any(c not in "0123456789abcdef" for c in text[8:])):
        _fail(path, "module_hash: expected fnv1a64: and 16 hex digits")
    manifest["_hash"] = int(text[8:], 16)
    manifest["_path"] = path
    state = manifest.get("state")
    if not isinstance(state, list):
        _fail(path, "state: expected an array")
    names = set()
    for i, spec in enumerate(state):
        where = "state[%d]" % i
        if not isinstance(spec, dict):
            _fail(path, where + ": expected an object")
        name, role, dtype, shape = (spec.get(k) for k in
                                    ("name", "role", "dtype", "shape"))
        if not isinstance(name, str) or not name or name in names:
            _fail(path, where + ".name: missing or repeated")
        names.add(name)
        if not isinstance(role, str) or not role:
            _fail(path, where + ".role: missing")
        if dtype not in ITEM_SIZES:
            _fail(path, where + ".dtype: %r" % (dtype,))
        if (not isinstance(shape, list) or
                any(type(d) is not int or d < 0 for d in shape)):
            _fail(path, where + ".shape: expected non-negative integers")
    shape = manifest.get("image_shape")
    if (not isinstance(shape, list) or not shape or
            any(type(d) is not int or d < 1 for d in shape)):
        _fail(path, "image_shape: expected positive integers")
    if type(manifest.get("classes")) is not int or manifest["classes"] < 1:
        _fail(path, "classes: expected a positive integer")
    if "preprocess" in manifest:
        manifest["preprocess"] = check_preprocess(
            path, "preprocess", manifest["preprocess"], shape[-1])
    return manifest


def check_preprocess(path, field, value, channels):
    """The preprocess object of a manifest or state metadata, validated as
    the runtime does (runtime/lib/Preprocess.cpp)."""
    if not isinstance(value, dict):
        _fail(path, field + ": expected an object")
    extra = set(value) - {"layout", "pixel_scale", "mean", "std"}
    if extra:
        _fail(path, "%s.%s: unknown field" % (field, sorted(extra)[0]))
    if value.get("layout") != "NHWC":
        _fail(path, field + ".layout: expected \"NHWC\"")
    if value.get("pixel_scale") != 255:
        _fail(path, field + ".pixel_scale: expected 255")
    out = {}
    for key in ("mean", "std"):
        values = value.get(key)
        if (not isinstance(values, list) or len(values) != channels or
                any(isinstance(v, bool) or not isinstance(v, (int, float)) or
                    not math.isfinite(v) or abs(v) > 3.4028234663852886e38
                    for v in values)):
            _fail(path, "%s.%s: expected %d finite numbers" %
                  (field, key, channels))
        out[key] = [float(v) for v in values]
    if any(not np.float32(s) > 0 for s in out["std"]):
        _fail(path, field + ".std: a standard deviation is not positive")
    return out


def effective_preprocess(manifest):
    """What dq-train and dq-run apply (effectivePreprocess in Manifest.cpp)."""
    if "preprocess" in manifest:
        return manifest["preprocess"]
    channels = manifest["image_shape"][-1]
    if channels == 3:
        return {"mean": [0.4914, 0.4822, 0.4465], "std": [0.2470, 0.2435, 0.2616]}
    return {"mean": [0.2860] * channels, "std": [0.3530] * channels}


def read_state_file(path):
    """(manifest hash, metadata dict, [Tensor]) of a state file, checkpoint
    or export, its structure and every checksum checked."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        _fail(path, "cannot read: %s" % e.strerror)
    if len(data) < HEADER_SIZE + 4:
        _fail(path, "truncated (%d bytes)" % len(data))
    if data[:8] != MAGIC:
        _fail(path, "not a dq state file (bad magic)")
    version, flags, manifest_hash, count, meta_bytes = struct.unpack_from(
        "<IIQII", data, 8)
    if version != VERSION:
        _fail(path, "unsupported version %d" % version)
    if flags != 0:
        _fail(path, "unknown flags 0x%x" % flags)
    (trailer,) = struct.unpack_from("<I", data, len(data) - 4)
    if zlib.crc32(data[:-4]) & 0xFFFFFFFF != trailer:
        _fail(path, "trailer checksum mismatch (damaged file)")
    end = len(data) - 4
    at = HEADER_SIZE
    if meta_bytes > end - at:
        _fail(path, "metadata runs past the end of the file")
    try:
        metadata = json.loads(data[at:at + meta_bytes].decode("utf-8"))
    except ValueError:
        _fail(path, "metadata is not JSON")
    if not isinstance(metadata, dict):
        _fail(path, "metadata is not a JSON object")
    at += meta_bytes
    tensors, names = [], set()
    for i in range(count):
        where = "tensor %d" % i
        if end - at < 4:
            _fail(path, where + ": truncated")
        (name_bytes,) = struct.unpack_from("<I", data, at)
        at += 4
        if name_bytes == 0 or name_bytes > end - at:
            _fail(path, where + ": bad name length")
        try:
            name = data[at:at + name_bytes].decode("utf-8")
        except UnicodeDecodeError:
            _fail(path, where + ": name is not UTF-8")
        at += name_bytes
        if name in names:
            _fail(path, "tensor '%s' appears twice" % name)
        names.add(name)
        if end - at < 8:
            _fail(path, "tensor '%s': truncated" % name)
        code, rank = struct.unpack_from("<II", data, at)
        at += 8
        if code not in DTYPE_CODES:
            _fail(path, "tensor '%s': unknown dtype code %d" % (name, code))
        dtype = DTYPE_CODES[code]
        if rank > 16 or 8 * rank > end - at:
            _fail(path, "tensor '%s': bad rank %d" % (name, rank))
        shape = list(struct.unpack_from("<%dQ" % rank, data, at))
        at += 8 * rank
        if end - at < 12:
            _fail(path, "tensor '%s': truncated" % name)
        size, crc = struct.unpack_from("<QI", data, at)
        at += 12
        elements = 1
        for d in shape:
            elements *= d
        if elements * ITEM_SIZES[dtype] != size:
            _fail(path, "tensor '%s': %d bytes for %s%s" %
                  (name, size, dtype, shape))
        if size > end - at:
            _fail(path, "tensor '%s': data runs past the end of the file" % name)
        raw = data[at:at + size]
        at += size
        if zlib.crc32(raw) & 0xFFFFFFFF != crc:
            _fail(path, "tensor '%s': checksum mismatch (damaged file)" % name)
        array = np.frombuffer(raw, NUMPY_DTYPES[dtype]).reshape(shape)
        tensors.append(Tensor(name, dtype, shape, array))
    if at != end:
        _fail(path, "%d bytes after the last tensor" % (end - at))
    return manifest_hash, metadata, tensors


def code_bits(manifest, codes_name):
    """K of a codes tensor: the last dimension of its basis <layer>.basis."""
    if not codes_name.endswith(".codes"):
        raise StateFileError("'%s' is not a codes tensor" % codes_name)
    basis = codes_name[:-len(".codes")] + ".basis"
    for spec in manifest["state"]:
        if spec["name"] == basis and spec["role"] == "basis" and spec["shape"]:
            bits = spec["shape"][-1]
            if not 1 <= bits <= 8:
                raise StateFileError("basis '%s' has %d levels per channel"
                                     % (basis, bits))
            return bits
    raise StateFileError("codes tensor '%s' has no basis '%s'" %
                         (codes_name, basis))


def unpack_codes(packed, count, bits):
    """The inverse of packCodes (runtime/lib/Export.cpp): code i in bits
    [i*K, (i+1)*K) of a little-endian bit stream."""
    stream = np.unpackbits(np.frombuffer(packed, np.uint8), bitorder="little")
    stream = stream[:count * bits].reshape(count, bits).astype(np.uint16)
    weights = (1 << np.arange(bits, dtype=np.uint16))
    return (stream * weights).sum(axis=1).astype(np.uint8)


TrainedState = collections.namedtuple("TrainedState",
                                      ["kind", "metadata", "tensors", "roles"])


def read_trained_state(path, manifest):
    """The inference tensors of a full state file, checkpoint or export of
    `manifest`'s model, checked against it (the manifest hash, every
    tensor's name, dtype and shape, packed codes' bit width), as numpy
    arrays by name (codes unpacked, as uint8); `roles` by name."""
    manifest_hash, metadata, tensors = read_state_file(path)
    if manifest_hash != manifest["_hash"]:
        _fail(path, "manifest hash %016x, the model's is %016x (the file "
              "belongs to another compiled model)" %
              (manifest_hash, manifest["_hash"]))
    export = metadata.get("kind") == "dq-export"
    by_name = {t.name: t for t in tensors}
    out, roles = collections.OrderedDict(), {}
    used = 0
    packed = metadata.get("packed", {}) if export else {}
    if export and not isinstance(packed, dict):
        _fail(path, "export metadata has no \"packed\" object")
    for i, spec in enumerate(manifest["state"]):
        name, role = spec["name"], spec["role"]
        stored = by_name.get(name)
        if not export and (i >= len(tensors) or tensors[i].name != name):
            _fail(path, "tensor %d is %s, the manifest's is '%s'" %
                  (i, "missing" if i >= len(tensors) else
                   "'%s'" % tensors[i].name, name))
        if role not in INFERENCE_ROLES:
            if export and stored is not None:
                _fail(path, "export holds training-only tensor '%s'" % name)
            if stored is not None:
                used += 1
            continue
        if stored is None:
            _fail(path, "misses tensor '%s' (%s)" % (name, role))
        used += 1
        if export and role == "codes":
            bits = code_bits(manifest, name)
            count = int(np.prod(spec["shape"], dtype=np.int64))
            entry = packed.get(name)
            nbytes = (count * bits + 7) // 8
            if (not isinstance(entry, dict) or entry.get("bits") != bits or
                    entry.get("shape") != spec["shape"] or
                    stored.dtype != "i8" or stored.shape != [nbytes]):
                _fail(path, "packed codes '%s' do not match the manifest's "
                      "%s%s at %d bits" % (name, spec["dtype"], spec["shape"],
                                           bits))
            array = unpack_codes(stored.data.tobytes(), count, bits).reshape(
                spec["shape"])
        else:
            if stored.dtype != spec["dtype"] or stored.shape != spec["shape"]:
                _fail(path, "tensor '%s' is %s%s, the manifest says %s%s" %
                      (name, stored.dtype, stored.shape, spec["dtype"],
                       spec["shape"]))
            array = stored.data
            if role == "codes":
                array = array.view(np.uint8)
                bits = code_bits(manifest, name)
                if array.size and int(array.max()) >= (1 << bits):
                    _fail(path, "codes tensor '%s' has a code >= 2^%d" %
                          (name, bits))
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            _fail(path, "tensor '%s' has non-finite values" % name)
        out[name] = array
        roles[name] = role
    if used != len(tensors):
        _fail(path, "holds tensors the manifest does not list")
    if "preprocess" in metadata:
        check_preprocess(path, "metadata.preprocess", metadata["preprocess"],
                         manifest["image_shape"][-1])
    return TrainedState("export" if export else "state", metadata, out, roles)
