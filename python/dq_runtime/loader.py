"""Calls the functions of a compiled module (compile.py) with numpy arrays.

C interface (checked against the `llvm.func @_mlir_ciface_<name>` wrappers
that dq-lower-to-llvm="emit-c-interface" emits; `check_c_interface` re-checks
it on every load):
  * tensor<d0x...xT> argument: pointer to the memref descriptor
    {T* allocated; T* aligned; i64 offset; i64 sizes[R]; i64 strides[R]}
    (rank 0: {allocated; aligned; offset}).
  * scalar argument (iN, index, f32, f64): by value.
  * results: none -> no out pointer, void; one scalar -> returned by value;
    one tensor -> first argument is a pointer to its descriptor; several ->
    first argument is a pointer to a struct of the results in order
    (descriptors by value, scalars inline), C layout.

Ownership: returned buffers are fresh malloc'd allocations (ownership-based
deallocation clones any argument or constant global that a function returns;
compile.py lowers those clones to malloc + memcpy where the pipeline left
them), so the caller copies them into numpy arrays and frees them with libc
free. Defensively
a buffer is not freed when its allocated pointer is NULL, is 0xdeadbeef (what
memref.get_global puts there for a constant global), lies inside an input
buffer, lies inside a loaded object (a global), or was already freed by this
call (two results sharing one buffer).

Inputs: the compiled code may write into argument buffers (One-Shot Bufferize
treats function arguments as writable; e.g. tensor.insert into an argument
stores in place), so every call passes private 64-byte-aligned copies and the
caller's arrays are never modified.
"""

import atexit
import ctypes
import os
import re
import shutil
import tempfile

import numpy as np

from . import compile as _compile

__all__ = ["Module", "Function", "Signature", "TensorType", "ScalarType",
           "parse_type", "parse_signatures", "load", "check_c_interface"]

# MLIR element type -> (numpy dtype, ctypes scalar, LLVM scalar type).
_ELEMENTS = {
    "i1": (np.dtype(np.bool_), ctypes.c_uint8, "i1"),
    "i8": (np.dtype(np.int8), ctypes.c_int8, "i8"),
    "i16": (np.dtype(np.int16), ctypes.c_int16, "i16"),
    "i32": (np.dtype(np.int32), ctypes.c_int32, "i32"),
    "i64": (np.dtype(np.int64), ctypes.c_int64, "i64"),
    "index": (np.dtype(np.int64), ctypes.c_int64, "i64"),
    "f32": (np.dtype(np.float32), ctypes.c_float, "f32"),
    "f64": (np.dtype(np.float64), ctypes.c_double, "f64"),
}
_DTYPE_TO_ELEMENT = {"bool": "i1", "int8": "i8", "int16": "i16",
                     "int32": "i32", "int64": "i64", "float32": "f32",
                     "float64": "f64"}

# memref.get_global's placeholder for the (never freed) allocated pointer.
_DEADBEEF = 0xDEADBEEF
_INPUT_ALIGNMENT = 64


class TensorType(object):
    """A statically shaped ranked tensor (or its unsupported reason)."""

    kind = "tensor"

    def __init__(self, text, shape, element, unsupported=None):
        self.text = text
        self.shape = shape
        self.element = element
        self.unsupported = unsupported

    @property
    def dtype(self):
        return _ELEMENTS[self.element][0]

    @property
    def rank(self):
        return len(self.shape)

    def __repr__(self):
        return self.text

    def __eq__(self, other):
        return isinstance(other, TensorType) and self.text == other.text

    def __hash__(self):
        return hash(self.text)


class ScalarType(object):
    kind = "scalar"

    def __init__(self, text, unsupported=None):
        self.text = text
        self.element = text
        self.unsupported = unsupported

    @property
    def dtype(self):
        return _ELEMENTS[self.element][0]

    @property
    def ctype(self):
        return _ELEMENTS[self.element][1]

    def __repr__(self):
        return self.text

    def __eq__(self, other):
        return isinstance(other, ScalarType) and self.text == other.text

    def __hash__(self):
        return hash(self.text)


_TENSOR_RE = re.compile(r"^tensor<(.*)>$", re.S)


def parse_type(text):
    """A TensorType or ScalarType; unsupported types carry a reason instead
    of raising, so a module with one unusable function still loads."""
    text = " ".join(text.split())
    m = _TENSOR_RE.match(text)
    if m:
        body = m.group(1).strip()
        if body.startswith("*"):
            return TensorType(text, None, None, "unranked tensors are not "
                              "supported")
        if "," in body:
            return TensorType(text, None, None, "tensor encodings are not "
                              "supported")
        parts = body.split("x")
        element = parts[-1].strip()
        dims = [p.strip() for p in parts[:-1]]
        if "?" in dims:
            return TensorType(text, None, element, "dynamic dimensions ('?') "
                              "are not supported; use a static shape")
        if element not in _ELEMENTS:
            return TensorType(text, None, element, "element type %s is not "
                              "supported (supported: %s)"
                              % (element, ", ".join(sorted(_ELEMENTS))))
        try:
            shape = tuple(int(d) for d in dims)
        except ValueError:
            return TensorType(text, None, element, "cannot parse shape")
        return TensorType(text, shape, element)
    if text in _ELEMENTS:
        return ScalarType(text)
    return ScalarType(text, "type %s is not supported (supported: tensors "
                      "with static shapes, and scalars %s)"
                      % (text, ", ".join(sorted(_ELEMENTS))))


class Signature(object):
    def __init__(self, name, args, results, arg_attrs=None, result_attrs=None):
        self.name = name
        self.args = list(args)
        self.results = list(results)
        # {name: string value} of each entry's attribute dict (string-valued
        # attributes only, e.g. dq.state / dq.role).
        self.arg_attrs = list(arg_attrs or [{} for _ in self.args])
        self.result_attrs = list(result_attrs or [{} for _ in self.results])

    def unsupported(self):
        """The first reason this signature cannot be called, or None."""
        for where, types in (("argument", self.args),
                             ("result", self.results)):
            for i, t in enumerate(types):
                if t.unsupported:
                    return "%s %d (%s): %s" % (where, i, t.text, t.unsupported)
        return None

    def __repr__(self):
        return "@%s(%s) -> (%s)" % (self.name,
                                    ", ".join(t.text for t in self.args),
                                    ", ".join(t.text for t in self.results))


# ---------------------------------------------------------------------------
# Signature parsing (custom assembly form, as dq-opt prints it).
# ---------------------------------------------------------------------------

_OPEN = {"(": ")", "<": ">", "[": "]", "{": "}"}
_CLOSE = set(_OPEN.values())
_FUNC_RE = re.compile(
    r"(?:^|[\s;])func\.func\s+(?:(?:private|public|nested)\s+)?"
    r"@([A-Za-z_][A-Za-z0-9_$.]*|\"[^\"]*\")\s*\(")


def _strip_comments(text):
    out = []
    for line in text.splitlines():
        i, in_str = 0, False
        while i < len(line):
            c = line[i]
            if in_str:
                if c == "\\":
                    i += 1
                elif c == '"':
                    in_str = False
            elif c == '"':
                in_str = True
            elif line.startswith("//", i):
                line = line[:i]
                break
            i += 1
        out.append(line)
    return "\n".join(out)


def _scan_group(text, i):
    """Index just past the bracket group opening at text[i]."""
    stack = [_OPEN[text[i]]]
    i += 1
    while stack:
        if i >= len(text):
            raise ValueError("unbalanced brackets")
        c = text[i]
        if c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "-" and text.startswith("->", i):
            i += 1  # the '>' of an arrow closes nothing
        elif c in _OPEN:
            stack.append(_OPEN[c])
        elif c in _CLOSE:
            if c != stack[-1]:
                raise ValueError("mismatched %r" % c)
            stack.pop()
        i += 1
    return i


def _split_top(text, sep=","):
    """Split at top-level separators (outside brackets and strings)."""
    parts, start, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c in _OPEN:
            i = _scan_group(text, i)
            continue
        if c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == sep:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    tail = text[start:]
    if tail.strip() or parts:
        parts.append(tail)
    return [p.strip() for p in parts]


def _type_of_entry(entry):
    """The type of `%a: T {attrs} loc(...)` or of `T {attrs}`."""
    if entry.startswith("%"):
        entry = entry.split(":", 1)[1].strip()
    # The type ends at the first top-level space (attr dict / loc follow it).
    i = 0
    while i < len(entry):
        c = entry[i]
        if c in _OPEN:
            i = _scan_group(entry, i)
            continue
        if c.isspace():
            break
        i += 1
    return entry[:i]


_STRING_ATTR_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_.$]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


def _string_attrs(entry):
    """{name: value} of the string attributes in an entry's attribute dict."""
    body = entry.split(":", 1)[1].strip() if entry.startswith("%") else entry
    return dict(_STRING_ATTR_RE.findall(body[len(_type_of_entry(body)):]))


def _parse_entries(text):
    entries = _split_top(text)
    return ([parse_type(_type_of_entry(e)) for e in entries],
            [_string_attrs(e) for e in entries])


def parse_signatures(mlir_text):
    """{name: Signature} of the func.func definitions (not declarations).

    Expects the custom form; type aliases (!t = ...) are not resolved, so
    pass the text through compile.canonicalize first (load() does).
    """
    text = _strip_comments(mlir_text)
    sigs = {}
    for m in _FUNC_RE.finditer(text):
        name = m.group(1).strip('"')
        open_paren = m.end() - 1
        end_args = _scan_group(text, open_paren)
        args, arg_attrs = _parse_entries(text[open_paren + 1:end_args - 1])
        i = end_args
        while i < len(text) and text[i].isspace():
            i += 1
        results, result_attrs = [], []
        if text.startswith("->", i):
            i += 2
            while text[i].isspace():
                i += 1
            if text[i] == "(":
                end = _scan_group(text, i)
                results, result_attrs = _parse_entries(text[i + 1:end - 1])
                i = end
            else:
                ty = _type_of_entry(text[i:])
                results, result_attrs = [parse_type(ty)], [{}]
                i += len(ty)
                # A single result may still carry an attribute dict.
                while i < len(text) and text[i] in " \t":
                    i += 1
                if text.startswith("{", i) and not _is_body(text, i):
                    end = _scan_group(text, i)
                    result_attrs = [_string_attrs(ty + " " + text[i:end])]
                    i = end
        while i < len(text) and text[i].isspace():
            i += 1
        if text.startswith("attributes", i):
            i += len("attributes")
            while text[i].isspace():
                i += 1
            i = _scan_group(text, i)
            while i < len(text) and text[i].isspace():
                i += 1
        if not text.startswith("{", i):
            continue  # a declaration: nothing to call
        sigs[name] = Signature(name, args, results, arg_attrs, result_attrs)
    return sigs


def _is_body(text, i):
    # A body brace ends its line; an attribute dict is followed by more text.
    j = text.find("\n", i)
    return text[i + 1:j if j >= 0 else len(text)].strip() == ""


# ---------------------------------------------------------------------------
# ctypes structures.
# ---------------------------------------------------------------------------

_DESCRIPTORS = {}


def _descriptor(rank):
    if rank not in _DESCRIPTORS:
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                  ("offset", ctypes.c_int64)]
        if rank > 0:
            fields += [("sizes", ctypes.c_int64 * rank),
                       ("strides", ctypes.c_int64 * rank)]
        _DESCRIPTORS[rank] = type("MemRefDescriptor%d" % rank,
                                  (ctypes.Structure,), {"_fields_": fields})
    return _DESCRIPTORS[rank]


def _ctype_of(t):
    return _descriptor(t.rank) if t.kind == "tensor" else t.ctype


class _Dl_info(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


_libc = ctypes.CDLL(None)
_free = _libc.free
_free.argtypes = [ctypes.c_void_p]
_free.restype = None
try:
    _dladdr = _libc.dladdr
    _dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Dl_info)]
    _dladdr.restype = ctypes.c_int
except AttributeError:  # glibc < 2.34 keeps it in libdl
    try:
        _dladdr = ctypes.CDLL("libdl.so.2").dladdr
        _dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Dl_info)]
        _dladdr.restype = ctypes.c_int
    except (OSError, AttributeError):
        _dladdr = None


def _in_loaded_object(ptr):
    if _dladdr is None:
        return False
    info = _Dl_info()
    return bool(_dladdr(ptr, ctypes.byref(info)))


def _aligned_copy(array, dtype):
    """A C-contiguous copy of `array` whose data is 64-byte aligned."""
    nbytes = array.size * dtype.itemsize
    raw = np.empty(nbytes + _INPUT_ALIGNMENT, dtype=np.uint8)
    start = (-raw.ctypes.data) % _INPUT_ALIGNMENT
    out = raw[start:start + nbytes].view(dtype).reshape(array.shape)
    out[...] = array
    return out


def _descriptor_for(array):
    desc = _descriptor(array.ndim)()
    desc.allocated = array.ctypes.data
    desc.aligned = array.ctypes.data
    desc.offset = 0
    for d in range(array.ndim):
        desc.sizes[d] = array.shape[d]
        desc.strides[d] = array.strides[d] // array.itemsize
    return desc


def _numpy_from_descriptor(desc, t, where):
    """Copy a returned memref into a fresh C-contiguous numpy array."""
    rank, dtype = t.rank, t.dtype
    sizes = tuple(desc.sizes[d] for d in range(rank)) if rank else ()
    strides = tuple(desc.strides[d] for d in range(rank)) if rank else ()
    if sizes != t.shape:
        raise RuntimeError("%s: returned memref has sizes %s, expected %s "
                           "(C interface mismatch?)" % (where, sizes, t.shape))
    out = np.empty(t.shape, dtype=dtype)
    if out.size == 0:
        return out
    if any(s < 0 for s in strides) or desc.offset < 0 or not desc.aligned:
        raise RuntimeError("%s: unexpected memref layout (aligned=%r, offset=%d,"
                           " strides=%s)" % (where, desc.aligned, desc.offset,
                                             strides))
    span = 1 + sum((n - 1) * s for n, s in zip(sizes, strides))
    base = desc.aligned + desc.offset * dtype.itemsize
    raw = (ctypes.c_char * (span * dtype.itemsize)).from_address(base)
    flat = np.frombuffer(raw, dtype=dtype)
    view = np.lib.stride_tricks.as_strided(
        flat, shape=sizes, strides=tuple(s * dtype.itemsize for s in strides))
    out[...] = view
    return out


# ---------------------------------------------------------------------------
# Calling.
# ---------------------------------------------------------------------------

def _describe(value):
    if isinstance(value, np.ndarray):
        return "%s array of shape %s" % (value.dtype, value.shape)
    if isinstance(value, np.generic):
        return "numpy %s scalar" % value.dtype
    return "%s %r" % (type(value).__name__, value)


class Function(object):
    """A callable compiled function: f(*arrays) -> array, tuple, scalar or None."""

    def __init__(self, module, signature):
        sig = signature
        self.module = module
        self.signature = sig
        self.name = sig.name
        reason = sig.unsupported()
        if reason:
            self._cfunc = None
            self._unsupported = reason
            return
        self._unsupported = None
        try:
            cfunc = getattr(module._lib, "_mlir_ciface_" + sig.name)
        except AttributeError:
            raise AttributeError(
                "%s: no symbol _mlir_ciface_%s in %s (compiled without "
                "emit-c-interface?)" % (sig.name, sig.name, module.path))
        nres = len(sig.results)
        argtypes = []
        self._out_type = None
        if nres == 1 and sig.results[0].kind == "tensor":
            self._out_type = _ctype_of(sig.results[0])
        elif nres > 1:
            self._out_type = type(
                "Results_" + sig.name, (ctypes.Structure,),
                {"_fields_": [("r%d" % i, _ctype_of(t))
                              for i, t in enumerate(sig.results)]})
        if self._out_type is not None:
            argtypes.append(ctypes.POINTER(self._out_type))
        for t in sig.args:
            argtypes.append(ctypes.POINTER(_descriptor(t.rank))
                            if t.kind == "tensor" else t.ctype)
        cfunc.argtypes = argtypes
        cfunc.restype = (sig.results[0].ctype
                         if nres == 1 and sig.results[0].kind == "scalar"
                         else None)
        self._cfunc = cfunc

    def __repr__(self):
        return "<dq_runtime.Function %r>" % (self.signature,)

    def _convert_arg(self, i, t, value):
        where = "%s: argument %d" % (self.name, i)
        if t.kind == "tensor":
            if not isinstance(value, (np.ndarray, np.generic)):
                raise TypeError("%s: expected %s (numpy %s array of shape %s),"
                                " got %s" % (where, t.text, t.dtype, t.shape,
                                             _describe(value)))
            array = np.asarray(value)
            if array.dtype != t.dtype:
                raise TypeError("%s: expected %s (dtype %s), got %s"
                                % (where, t.text, t.dtype, _describe(value)))
            if array.shape != t.shape:
                raise ValueError("%s: expected %s (shape %s), got %s"
                                 % (where, t.text, t.shape, _describe(value)))
            return _aligned_copy(array, t.dtype)
        # Scalars: exact numpy dtype, or a Python number that fits.
        dtype = t.dtype
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if isinstance(value, np.generic):
            if value.dtype != dtype:
                raise TypeError("%s: expected %s (numpy %s), got %s"
                                % (where, t.text, dtype, _describe(value)))
            value = value.item()
        if dtype.kind == "b":
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError("%s: expected %s (bool), got %s"
                                % (where, t.text, _describe(value)))
            return int(bool(value))
        if dtype.kind == "i":
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError("%s: expected %s (int), got %s"
                                % (where, t.text, _describe(value)))
            info = np.iinfo(dtype)
            if not info.min <= value <= info.max:
                raise ValueError("%s: %d does not fit in %s"
                                 % (where, value, t.text))
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("%s: expected %s (float), got %s"
                            % (where, t.text, _describe(value)))
        # A Python float for an f32 argument is rounded to nearest f32.
        return float(dtype.type(value))

    def __call__(self, *args):
        sig = self.signature
        if self._unsupported:
            raise TypeError("%s: cannot be called from Python: %s"
                            % (self.name, self._unsupported))
        if len(args) != len(sig.args):
            raise TypeError("%s: takes %d argument(s) (%s), got %d"
                            % (self.name, len(sig.args),
                               ", ".join(t.text for t in sig.args), len(args)))
        keep = []  # the buffers and descriptors must outlive the call
        c_args = []
        inputs = []  # (start, end) of each input buffer
        for i, (t, value) in enumerate(zip(sig.args, args)):
            converted = self._convert_arg(i, t, value)
            if t.kind == "tensor":
                desc = _descriptor_for(converted)
                keep += [converted, desc]
                inputs.append((converted.ctypes.data,
                               converted.ctypes.data + converted.nbytes))
                c_args.append(ctypes.byref(desc))
            else:
                c_args.append(converted)
        out = self._out_type() if self._out_type is not None else None
        if out is not None:
            c_args.insert(0, ctypes.byref(out))

        ret = self._cfunc(*c_args)

        if out is None:
            if not sig.results:
                return None
            return self._scalar(sig.results[0], ret)
        raw = [out] if len(sig.results) == 1 else \
            [getattr(out, "r%d" % i) for i in range(len(sig.results))]
        # Copy every result before freeing any: results may share a buffer.
        values, to_free = [], []
        for i, (t, r) in enumerate(zip(sig.results, raw)):
            if t.kind == "tensor":
                values.append(_numpy_from_descriptor(
                    r, t, "%s: result %d" % (self.name, i)))
                to_free.append(r.allocated)
            else:
                values.append(self._scalar(t, r))
        freed = set()
        for ptr in to_free:
            if self.module._should_free(ptr, inputs, freed):
                _free(ptr)
                freed.add(ptr)
        del keep
        return values[0] if len(values) == 1 else tuple(values)

    @staticmethod
    def _scalar(t, raw):
        if t.element == "i1":
            return np.bool_(int(raw) & 1)  # only bit 0 of an i1 is defined
        return t.dtype.type(raw)


class Module(object):
    """A loaded shared library of compiled functions.

    With signatures (load() parses them from the MLIR) functions are
    attributes: m.f(a, b). Without, m.call(name, *args, result_types=[...])
    infers argument types from the values (numpy arrays/scalars, Python
    int -> i64, float -> f64, bool -> i1).
    """

    def __init__(self, so_path, signatures=None):
        self.path = os.path.abspath(so_path)
        # RTLD_LOCAL: two compiled modules may define the same function names.
        self._lib = ctypes.CDLL(self.path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        self.signatures = dict(signatures or {})
        self._functions = {}
        self.stats = {"freed": 0, "not_freed": 0}

    def _should_free(self, ptr, inputs, freed):
        ok = bool(ptr) and ptr != _DEADBEEF and ptr not in freed \
            and not any(lo <= ptr < hi for lo, hi in inputs) \
            and not _in_loaded_object(ptr)
        self.stats["freed" if ok else "not_freed"] += 1
        return ok

    def function(self, name):
        if name not in self._functions:
            if name not in self.signatures:
                raise AttributeError(
                    "no function @%s with a known signature in %s (known: %s)"
                    % (name, self.path, ", ".join(sorted(self.signatures))
                       or "none"))
            self._functions[name] = Function(self, self.signatures[name])
        return self._functions[name]

    def __getitem__(self, name):
        return self.function(name)

    def __getattr__(self, name):
        # Only reached for names that are not attributes; the instance
        # fields are excluded so a half-built Module cannot recurse.
        if name.startswith("_") or name in ("path", "signatures", "stats"):
            raise AttributeError(name)
        return self.function(name)

    def __dir__(self):
        return list(super().__dir__()) + list(self.signatures)

    def call(self, name, *args, result_types=None):
        if name in self.signatures:
            sig = self.signatures[name]
            if result_types is not None and \
                    [parse_type(r) for r in result_types] != sig.results:
                raise ValueError("%s: result_types %s differ from the "
                                 "signature %r" % (name, list(result_types),
                                                   sig))
            return self.function(name)(*args)
        if result_types is None:
            raise TypeError("%s: signature unknown; pass result_types=[...] "
                            "(e.g. ['tensor<2x3xf32>'])" % name)
        sig = Signature(name, [_infer_type(name, i, a)
                               for i, a in enumerate(args)],
                        [parse_type(r) for r in result_types])
        key = repr(sig)
        if key not in self._functions:
            self._functions[key] = Function(self, sig)
        return self._functions[key](*args)


def _infer_type(name, i, value):
    if isinstance(value, np.ndarray):
        element = _DTYPE_TO_ELEMENT.get(value.dtype.name)
        if element:
            return parse_type("tensor<%s>" % "x".join(
                [str(d) for d in value.shape] + [element]))
    elif isinstance(value, np.generic):
        element = _DTYPE_TO_ELEMENT.get(value.dtype.name)
        if element:
            return parse_type(element)
    elif isinstance(value, bool):
        return parse_type("i1")
    elif isinstance(value, int):
        return parse_type("i64")
    elif isinstance(value, float):
        return parse_type("f64")
    raise TypeError("%s: argument %d: cannot infer an MLIR type from %s"
                    % (name, i, _describe(value)))


# ---------------------------------------------------------------------------
# Checking the emitted C interface against the convention above.
# ---------------------------------------------------------------------------

_CIFACE_RE = re.compile(r"llvm\.func @_mlir_ciface_([A-Za-z0-9_$.]+)\(([^)]*)\)"
                        r"(?:\s*->\s*([^\s{]+))?")


def check_c_interface(lowered_text, signatures):
    """Raise RuntimeError where a wrapper's LLVM signature is not the one
    Function assumes for its MLIR signature."""
    found = {}
    for m in _CIFACE_RE.finditer(lowered_text):
        # "%argN: TYPE" (parameter attributes, if any, follow the type).
        params = [p.split(":", 1)[1].split()[0] for p in m.group(2).split(",")
                  if ":" in p]
        found[m.group(1)] = (params, m.group(3))
    for name, sig in signatures.items():
        if sig.unsupported():
            continue
        if name not in found:
            raise RuntimeError("%s: no _mlir_ciface_%s in the lowered module"
                               % (name, name))
        params, ret = found[name]
        scalar = lambda t: "!llvm.ptr" if t.kind == "tensor" \
            else _ELEMENTS[t.element][2]
        expect = [scalar(t) for t in sig.args]
        expect_ret = None
        if len(sig.results) == 1 and sig.results[0].kind == "scalar":
            expect_ret = scalar(sig.results[0])
        elif sig.results:
            expect = ["!llvm.ptr"] + expect
        if params != expect or ret != expect_ret:
            raise RuntimeError(
                "%s: C interface is (%s) -> %s, expected (%s) -> %s for %r"
                % (name, ", ".join(params), ret, ", ".join(expect),
                   expect_ret, sig))


# ---------------------------------------------------------------------------

_TEMP_DIRS = []


def _cleanup_temp_dirs():
    for d in _TEMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup_temp_dirs)


def load(mlir_text_or_path, out_dir=None, dq_opt=None,
         extra_pipeline_options="", name=None):
    """Compile a module and load it with the signatures of its functions.

    out_dir defaults to a temporary directory removed at exit (a loaded
    library stays usable after its file is removed).
    """
    canonical = _compile.canonicalize(mlir_text_or_path, dq_opt=dq_opt)
    signatures = parse_signatures(canonical)
    if out_dir is None:
        out_dir = tempfile.mkdtemp(prefix="dq_runtime_")
        _TEMP_DIRS.append(out_dir)
    so = _compile.compile_module(mlir_text_or_path, out_dir, dq_opt=dq_opt,
                                 extra_pipeline_options=extra_pipeline_options,
                                 name=name)
    lowered = _compile.lowered_path(so)
    if lowered and os.path.exists(lowered):
        with open(lowered, "r", encoding="utf-8") as f:
            check_c_interface(f.read(), signatures)
    return Module(so, signatures)
