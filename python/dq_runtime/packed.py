"""Calls a model compiled by dq-compile (<prefix>.so + .manifest.json)
through the C++ runtime's C API (runtime/include/dq/runtime/CApi.h,
libdq_runtime.so, docs/Runtime.md "C API"): the runtime verifies the library
against its manifest and owns the calling convention; this module only moves
numpy arrays across. CPU and GPU models (dq-compile --target cuda) are
called alike; a GPU model's .so finds libdq_cuda_runtime.so next to itself.

ctypes + numpy, no MLIR, so it runs on a GPU machine from a bundle of
compiled files (scripts/build-gpu-bundle.sh puts libdq_runtime.so next to
this file).

    model = PackedModel("out/model")
    state = model.init_state()                       # [ndarray] manifest order
    state, loss, correct = model.train_step(state, images, labels, 0.01, 0)
    logits = model.predict(state, images)
    state = model.calibrate(state, images, 0, 3)     # calibration=true models

An inference model (manifest "kind": "inference", dq-compile of a
--dq-build-inference-graph module) has predict only and no state:

    logits = PackedModel("out/inference").predict([], images)

The runtime library is $DQ_RUNTIME_LIBRARY, else libdq_runtime.so next to
this file, else <repo>/build/lib/libdq_runtime.so.
"""

import ctypes
import json
import os

import numpy as np

__all__ = ["Kernel", "KernelLibrary", "PackedModel", "Spec", "Value",
           "runtime_library"]

_API_VERSION = 1
_HERE = os.path.dirname(os.path.abspath(__file__))
_NUMPY_DTYPES = {"f32": np.float32, "i8": np.int8, "i32": np.int32,
                 "i64": np.int64}


class Spec(object):
    """A tensor of the manifest: name, numpy dtype, shape and, for a state
    tensor, its role (codes, basis, latent, ...)."""

    def __init__(self, name, dtype, shape, role=None):
        self.name, self.dtype, self.shape = name, np.dtype(dtype), tuple(shape)
        self.role = role

    @property
    def rank(self):
        return len(self.shape)


def _library_path():
    if os.environ.get("DQ_RUNTIME_LIBRARY"):
        return os.environ["DQ_RUNTIME_LIBRARY"], "$DQ_RUNTIME_LIBRARY"
    beside = os.path.join(_HERE, "libdq_runtime.so")
    if os.path.isfile(beside):
        return beside, "next to " + __file__
    return (os.path.join(os.path.dirname(os.path.dirname(_HERE)), "build",
                         "lib", "libdq_runtime.so"), "the repository build")


_LIBRARY = None


def runtime_library():
    """libdq_runtime.so, loaded once, with the C API's signatures."""
    global _LIBRARY
    if _LIBRARY is not None:
        return _LIBRARY
    path, origin = _library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise RuntimeError(f"cannot load the dq runtime library {path} (from "
                           f"{origin}): {e}; build it (ninja -C build "
                           "dq_runtime) or set DQ_RUNTIME_LIBRARY")
    lib.dq_runtime_api_version.restype = ctypes.c_int
    if lib.dq_runtime_api_version() != _API_VERSION:
        raise RuntimeError(f"{path}: C API version "
                           f"{lib.dq_runtime_api_version()}, this module "
                           f"speaks {_API_VERSION}")
    vp, pp, size = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), \
        ctypes.c_size_t
    lib.dq_last_error.restype = ctypes.c_char_p
    lib.dq_model_open.argtypes = [ctypes.c_char_p, ctypes.c_uint]
    lib.dq_model_open.restype = vp
    lib.dq_model_close.argtypes = [vp]
    lib.dq_model_close.restype = None
    lib.dq_model_manifest.argtypes = [vp]
    lib.dq_model_manifest.restype = ctypes.c_char_p
    lib.dq_model_init_state.argtypes = [vp, pp, size]
    lib.dq_model_train_step.argtypes = [
        vp, pp, pp, size, vp, vp, ctypes.c_float, ctypes.c_int64,
        ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int32)]
    lib.dq_model_predict.argtypes = [vp, pp, size, vp, vp]
    lib.dq_model_calibrate.argtypes = [vp, pp, pp, size, vp, ctypes.c_int64,
                                       ctypes.c_int64]
    lib.dq_model_call.argtypes = [vp, ctypes.c_char_p, pp, size, pp, size]
    for name in ("dq_model_init_state", "dq_model_train_step",
                 "dq_model_predict", "dq_model_calibrate", "dq_model_call"):
        getattr(lib, name).restype = ctypes.c_int
    _LIBRARY = lib
    return lib


def _dense(value):
    """`value` as a C-contiguous array, keeping rank 0 (np.ascontiguousarray
    makes a 0-d array 1-d)."""
    array = np.asarray(value)
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def _pointers(arrays):
    return (ctypes.c_void_p * max(len(arrays), 1))(
        *[a.ctypes.data for a in arrays])


class _Opened(object):
    """A library dq_model_open opened and verified; closed with the object.
    `manifest` is what dq_model_manifest gives."""

    def __init__(self, prefix, threads):
        self.prefix = prefix
        self._lib = runtime_library()
        handle = self._lib.dq_model_open(os.fsencode(prefix), threads)
        if not handle:
            raise RuntimeError(self._lib.dq_last_error().decode())
        self._handle = handle
        self.manifest = json.loads(self._lib.dq_model_manifest(handle))

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            self._lib.dq_model_close(handle)

    def _check(self, status):
        if status != 0:
            raise RuntimeError(self._lib.dq_last_error().decode())


class PackedModel(_Opened):
    def __init__(self, prefix, threads=0):
        super().__init__(prefix, threads)
        self.device = self.manifest.get("device", "cpu")
        self.kind = self.manifest.get("kind", "training")
        if self.kind == "kernels":
            raise RuntimeError(f"{prefix}: a kernels library (dq-compile "
                               "--kind kernels), not a model: open it with "
                               "KernelLibrary")
        self.state_specs = [Spec(s["name"], _NUMPY_DTYPES[s["dtype"]],
                                 s["shape"], s["role"])
                            for s in self.manifest["state"]]
        self.batch = self.manifest["batch"]
        self.image_shape = (self.batch,) + tuple(self.manifest["image_shape"])
        self.classes = self.manifest["classes"]
        self.entries = sorted(self.manifest["entry_points"])

    def _state_in(self, state, what):
        if len(state) != len(self.state_specs):
            raise RuntimeError(f"{self.prefix}: {what}: {len(state)} state "
                               f"tensors, the model has "
                               f"{len(self.state_specs)}")
        arrays = []
        for i, (value, spec) in enumerate(zip(state, self.state_specs)):
            array = _dense(value)
            if array.dtype != spec.dtype or array.shape != spec.shape:
                raise RuntimeError(
                    f"{self.prefix}: {what}: state tensor {i} ('{spec.name}')"
                    f" is {array.dtype}{list(array.shape)}, the model expects "
                    f"{spec.dtype}{list(spec.shape)}")
            arrays.append(array)
        return arrays

    def _fresh_state(self):
        return [np.empty(s.shape, s.dtype) for s in self.state_specs]

    def _images(self, images):
        return np.ascontiguousarray(
            np.asarray(images, np.float32).reshape(self.image_shape))

    def init_state(self):
        out = self._fresh_state()
        self._check(self._lib.dq_model_init_state(
            self._handle, _pointers(out), len(out)))
        return out

    def train_step(self, state, images, labels, learning_rate, step):
        inputs = self._state_in(state, "train_step")
        out = self._fresh_state()
        images = self._images(images)
        labels = np.ascontiguousarray(
            np.asarray(labels, np.int32).reshape(self.batch))
        loss, correct = ctypes.c_float(), ctypes.c_int32()
        self._check(self._lib.dq_model_train_step(
            self._handle, _pointers(inputs), _pointers(out), len(out),
            images.ctypes.data, labels.ctypes.data, learning_rate, step,
            ctypes.byref(loss), ctypes.byref(correct)))
        return out, float(loss.value), int(correct.value)

    def calibrate(self, state, images, batches_before, iterations):
        """The state with the activation bases fitted to one batch (a model
        built with calibration=true)."""
        inputs = self._state_in(state, "calibrate")
        out = self._fresh_state()
        images = self._images(images)
        self._check(self._lib.dq_model_calibrate(
            self._handle, _pointers(inputs), _pointers(out), len(out),
            images.ctypes.data, batches_before, iterations))
        return out

    def predict(self, state, images):
        """Logits of a batch; `state` is [] for an inference model."""
        inputs = self._state_in(state, "predict")
        images = self._images(images)
        logits = np.empty((self.batch, self.classes), np.float32)
        self._check(self._lib.dq_model_predict(
            self._handle, _pointers(inputs), len(inputs), images.ctypes.data,
            logits.ctypes.data))
        return logits


def _scalar(value, dtype, where):
    """A scalar argument as a 0-d array of `dtype`: a numpy scalar of that
    dtype, or a Python number of its kind that fits (a float argument takes
    an int too, rounded to nearest); nothing is silently truncated."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.generic):
        if value.dtype != dtype:
            raise TypeError(f"{where} is a scalar {dtype}, got a numpy "
                            f"{value.dtype}")
        return np.array(value, dtype)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where} is a scalar {dtype}, got "
                        f"{type(value).__name__} {value!r}")
    if dtype.kind == "i":
        if not isinstance(value, int):
            raise TypeError(f"{where} is a scalar {dtype}, got float "
                            f"{value!r}")
        info = np.iinfo(dtype)
        if not info.min <= value <= info.max:
            raise ValueError(f"{where}: {value} does not fit in {dtype}")
    return np.array(value, dtype)


class Value(Spec):
    """One argument or result of a kernel: a tensor Spec, or a scalar
    (shape ())."""

    def __init__(self, value):
        super().__init__(value["name"], _NUMPY_DTYPES[value["dtype"]],
                         value["shape"])
        self.scalar = bool(value["scalar"])

    def __repr__(self):
        return f"{self.name} {self.dtype}" + \
            ("" if self.scalar else str(list(self.shape)))


class Kernel(object):
    """One function of a KernelLibrary: `args` and `results` are its Values
    from the manifest; calling it calls the compiled code."""

    def __init__(self, library, name, args, results):
        self.library, self.name = library, name
        self.args, self.results = args, results

    def __repr__(self):
        return f"@{self.name}({', '.join(map(repr, self.args))}) -> " \
            f"({', '.join(map(repr, self.results))})"

    def __call__(self, *args):
        return self.library.call(self.name, *args)


class KernelLibrary(_Opened):
    """A kernels library (dq-compile --kind kernels): every public function
    of the module, called by name with numpy arrays and scalars of the
    manifest's types; returns None, a value, or a tuple of values.

        k = KernelLibrary("out/k"); k.add(a, b); k["add"].args
    """

    def __init__(self, prefix, threads=0):
        super().__init__(prefix, threads)
        if self.manifest.get("kind") != "kernels":
            raise RuntimeError(f"{prefix}: a {self.manifest.get('kind')} "
                               "model, not a kernels library")
        self.functions = {
            name: Kernel(self, name, [Value(v) for v in entry["inputs"]],
                         [Value(v) for v in entry["outputs"]])
            for name, entry in self.manifest["entry_values"].items()}

    def __getitem__(self, name):
        if name not in self.functions:
            raise KeyError(f"{self.prefix}: no function @{name} (has: "
                           f"{', '.join(sorted(self.functions))})")
        return self.functions[name]

    def call(self, name, *args):
        kernel = self[name]
        if len(args) != len(kernel.args):
            raise TypeError(f"@{name} takes {len(kernel.args)} arguments "
                            f"({', '.join(map(repr, kernel.args))}), got "
                            f"{len(args)}")
        arrays = []
        for i, (value, spec) in enumerate(zip(args, kernel.args)):
            if spec.scalar:
                arrays.append(_scalar(value, spec.dtype, f"@{name}: "
                                      f"argument {i}"))
                continue
            if not isinstance(value, (np.ndarray, np.generic)):
                raise TypeError(f"@{name}: argument {i} is {spec.dtype}"
                                f"{list(spec.shape)}, got a "
                                f"{type(value).__name__} (pass a numpy "
                                "array)")
            array = _dense(value)
            if array.dtype != spec.dtype or array.shape != spec.shape:
                raise TypeError(f"@{name}: argument {i} is {array.dtype}"
                                f"{list(array.shape)}, expected {spec.dtype}"
                                f"{list(spec.shape)}")
            arrays.append(array)
        results = [np.empty(r.shape, r.dtype) for r in kernel.results]
        self._check(self._lib.dq_model_call(
            self._handle, name.encode(), _pointers(arrays), len(arrays),
            _pointers(results), len(results)))
        values = [r[()] if spec.scalar else r
                  for r, spec in zip(results, kernel.results)]
        return None if not values else values[0] if len(values) == 1 \
            else tuple(values)

    def __getattr__(self, name):
        functions = self.__dict__.get("functions", {})
        if name.startswith("_") or name not in functions:
            raise AttributeError(name)
        return functions[name]

    def __dir__(self):
        return list(super().__dir__()) + list(self.__dict__.get(
            "functions", {}))
