"""Calls a model compiled by dq-compile (<prefix>.so + .manifest.json)
through its packed entry points, dq_<name>(void **args) (docs/Runtime.md):
args[0] points to the struct of result memref descriptors, then one pointer
per argument (a memref descriptor or a scalar). CPU and GPU models (dq-compile
--target cuda) have the same calling convention; a GPU model's .so finds
libdq_cuda_runtime.so next to itself.

Plain ctypes + numpy, no MLIR, so it runs on a GPU machine from a bundle of
compiled files (scripts/gpu-check.sh).

    model = PackedModel("out/model")
    state = model.init_state()                       # [ndarray] manifest order
    state, loss, correct = model.train_step(state, images, labels, 0.01, 0)
    logits = model.predict(state, images)

An inference model (manifest "kind": "inference", dq-compile of a
--dq-build-inference-graph module) has predict only and no state:

    logits = PackedModel("out/inference").predict([], images)
"""

import ctypes
import json
import os

import numpy as np

DTYPES = {"f32": np.float32, "i8": np.int8, "i32": np.int32, "i64": np.int64}
# The entry points of each model kind (requiredEntryPoints in Manifest.cpp).
REQUIRED_ENTRY_POINTS = {"training": ("train_step", "predict", "init_state"),
                         "inference": ("predict",)}
# MLIR marks returned constant globals with this pointer; never freed.
DEAD_POINTER = 0xDEADBEEF


class Spec(object):
    def __init__(self, name, dtype, shape):
        self.name, self.dtype, self.shape = name, np.dtype(dtype), tuple(shape)

    @property
    def rank(self):
        return len(self.shape)


def _descriptor(array):
    """A ranked memref descriptor {allocated, aligned, offset, sizes, strides}
    of a C-contiguous array."""
    rank = array.ndim
    words = (ctypes.c_int64 * (3 + 2 * rank))()
    address = array.ctypes.data
    words[0] = words[1] = address
    words[2] = 0
    stride = 1
    for d in reversed(range(rank)):
        words[3 + d] = array.shape[d]
        words[3 + rank + d] = stride
        stride *= array.shape[d]
    return words


def fnv1a64(data, value=0xCBF29CE484222325):
    """64-bit FNV-1a, as the runtime's fnv1a64 (runtime/lib/Manifest.cpp)."""
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def model_kind(manifest, manifest_path):
    """The manifest's kind ("training" when absent, as in manifests from
    before the field), checked as the C++ loader checks it: the kind's entry
    points present, no state tensors for an inference model. Raises
    RuntimeError naming the file and the field."""
    kind = manifest.get("kind", "training")
    if kind not in REQUIRED_ENTRY_POINTS:
        raise RuntimeError(f"{manifest_path}: kind: expected \"training\" or "
                           f"\"inference\", got {json.dumps(kind)}")
    if kind == "inference" and manifest.get("state"):
        raise RuntimeError(f"{manifest_path}: state: an inference model has "
                           "no state tensors, the manifest lists "
                           f"{len(manifest['state'])}")
    entry_points = manifest.get("entry_points")
    if not isinstance(entry_points, dict):
        raise RuntimeError(f"{manifest_path}: entry_points: expected an "
                           "object")
    names = REQUIRED_ENTRY_POINTS[kind]
    listed = (", ".join(names[:-1]) + " and " if len(names) > 1 else "") + \
        names[-1]
    for name in names:
        if name not in entry_points:
            raise RuntimeError(f"{manifest_path}: entry_points.{name}: "
                               f"missing ({'an' if kind == 'inference' else 'a'} "
                               f"{kind} model has {listed})")
    return kind


def verify_library(manifest, manifest_path, library_path, library=None):
    """What the C++ runtime checks before calling a model (docs/Runtime.md):
    the library's size and hash against the manifest before it is loaded
    (library None), or, once loaded, its embedded signature against the
    manifest. Raises RuntimeError naming both files."""
    if manifest.get("version") != 2 or "library" not in manifest:
        raise RuntimeError(f"{manifest_path}: not a version 2 manifest; "
                           "compile the model again with this dq-compile")
    model_kind(manifest, manifest_path)
    if library is None:
        with open(library_path, "rb") as f:
            data = f.read()
        facts = manifest["library"]
        if (len(data) != facts.get("bytes") or
                "fnv1a64:%016x" % fnv1a64(data) != facts.get("hash")):
            raise RuntimeError(
                f"{library_path} does not match {manifest_path}: the files "
                "come from different dq-compile runs or the library is "
                "damaged: compile the model again")
        return
    try:
        start = ctypes.c_char.in_dll(library, "dq_model_signature")
    except ValueError:
        raise RuntimeError(f"{library_path}: no embedded model signature; "
                           "compile the model again with this dq-compile")
    signature = json.loads(ctypes.string_at(ctypes.addressof(start)))
    # The kind first; a training library's signature has none.
    expected = {
        "kind": manifest.get("kind", "training"),
        "module_hash": manifest["module_hash"], "batch": manifest["batch"],
        "image_shape": manifest["image_shape"],
        "classes": manifest["classes"],
        "device": manifest.get("device", "cpu"),
        "state": [[s["name"], s["role"], s["dtype"], s["shape"]]
                  for s in manifest["state"]],
        "entry_points": {name: entry["symbol"] for name, entry
                         in manifest["entry_points"].items()},
    }
    for key, value in expected.items():
        got = signature.get(key, "training" if key == "kind" else None)
        if got != value:
            raise RuntimeError(
                f"{library_path} and {manifest_path} disagree: {key}: the "
                f"library was compiled for {got!r}, the "
                f"manifest says {value!r}")


class PackedModel(object):
    def __init__(self, prefix):
        self.prefix = prefix
        manifest_path = prefix + ".manifest.json"
        with open(manifest_path, encoding="utf-8") as f:
            self.manifest = json.load(f)
        self.device = self.manifest.get("device", "cpu")
        self.kind = model_kind(self.manifest, manifest_path)
        path = os.path.abspath(prefix + ".so")
        verify_library(self.manifest, manifest_path, path)
        try:
            self.library = ctypes.CDLL(path)
        except OSError as e:
            hint = (" (a GPU model needs libdq_cuda_runtime.so next to it and "
                    "the NVIDIA driver's libcuda.so.1)"
                    if self.device == "cuda" else "")
            raise RuntimeError(f"{path}: cannot load: {e}{hint}")
        verify_library(self.manifest, manifest_path, path, self.library)
        self.libc = ctypes.CDLL(None)
        self.libc.free.argtypes = [ctypes.c_void_p]
        self.state_specs = [Spec(s["name"], DTYPES[s["dtype"]], s["shape"])
                            for s in self.manifest["state"]]
        self.batch = self.manifest["batch"]
        self.image_shape = (self.batch,) + tuple(self.manifest["image_shape"])
        self.classes = self.manifest["classes"]
        self.entries = {}
        for name in REQUIRED_ENTRY_POINTS[self.kind]:
            symbol = self.manifest["entry_points"][name]["symbol"]
            function = getattr(self.library, symbol)
            function.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
            function.restype = None
            self.entries[name] = function

    def _call(self, name, inputs, outputs):
        """inputs: ndarrays and ctypes scalars; outputs: [Spec]."""
        offsets, words = [], 0
        for spec in outputs:
            offsets.append(words)
            words += 3 + 2 * spec.rank
        results = (ctypes.c_int64 * max(words, 1))()
        keep, pointers, input_addresses = [], [ctypes.addressof(results)], set()
        for value in inputs:
            if isinstance(value, np.ndarray):
                array = np.ascontiguousarray(value)
                descriptor = _descriptor(array)
                keep += [array, descriptor]
                pointers.append(ctypes.addressof(descriptor))
                input_addresses.add(array.ctypes.data)
            else:
                keep.append(value)
                pointers.append(ctypes.addressof(value))
        argv = (ctypes.c_void_p * len(pointers))(*pointers)
        self.entries[name](argv)

        values, owned = [], set()
        for spec, offset in zip(outputs, offsets):
            w = results[offset:offset + 3 + 2 * spec.rank]
            allocated, aligned, element_offset = w[0], w[1], w[2]
            sizes = tuple(w[3:3 + spec.rank])
            if sizes != spec.shape:
                raise RuntimeError(f"{name}: result '{spec.name}' has shape "
                                   f"{sizes}, expected {spec.shape}")
            count = int(np.prod(spec.shape, dtype=np.int64))
            source = aligned + element_offset * spec.dtype.itemsize
            buffer = (ctypes.c_char * (count * spec.dtype.itemsize)).from_address(
                source) if count else b""
            values.append(np.frombuffer(bytes(buffer), dtype=spec.dtype)
                          .reshape(spec.shape).copy())
            if allocated and allocated != DEAD_POINTER and \
                    allocated not in input_addresses:
                owned.add(allocated)
        for pointer in owned:
            self.libc.free(ctypes.c_void_p(pointer))
        del keep
        return values

    def _require_training(self, name):
        if self.kind == "inference":
            raise RuntimeError(
                f"{self.prefix}: an inference model (dq-compile of a "
                f"--dq-build-inference-graph module) has no {name}; its "
                "trained tensors are compiled in and it only predicts")

    def init_state(self):
        self._require_training("init_state")
        return self._call("init_state", [], self.state_specs)

    def train_step(self, state, images, labels, learning_rate, step):
        self._require_training("train_step")
        outputs = self.state_specs + [Spec("loss", np.float32, ()),
                                      Spec("correct", np.int32, ())]
        inputs = list(state) + [
            np.asarray(images, np.float32).reshape(self.image_shape),
            np.asarray(labels, np.int32).reshape(self.batch),
            ctypes.c_float(learning_rate), ctypes.c_int64(step)]
        values = self._call("train_step", inputs, outputs)
        return values[:-2], float(values[-2]), int(values[-1])

    def predict(self, state, images):
        """Logits of a batch; `state` is [] for an inference model."""
        if len(state) != len(self.state_specs):
            raise RuntimeError(f"{self.prefix}: predict: {len(state)} state "
                               f"tensors, the model has "
                               f"{len(self.state_specs)}")
        logits = Spec("logits", np.float32, (self.batch, self.classes))
        return self._call("predict", list(state) + [
            np.asarray(images, np.float32).reshape(self.image_shape)],
            [logits])[0]
