#!/usr/bin/env python3
"""Checks python/dq_runtime: compile small modules, call them with numpy.

Standalone: `/usr/bin/python3 python/tests/test_runtime_loader.py` exits 0
when every check passes and 1 (listing the failures) otherwise. Needs a built
dq-opt ($DQ_OPT, or build/bin/dq-opt) and the LLVM 22 tools.
"""

import ctypes
import os
import shutil
import sys
import tempfile
import traceback

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import dq_runtime as R  # noqa: E402

_failures = []
_checks = [0]


def check(condition, message):
    _checks[0] += 1
    if not condition:
        _failures.append(message)


def same(actual, expected, dtype):
    """Exact equality, same dtype and shape (NaN equal to NaN)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected, dtype=dtype)
    if actual.dtype != expected.dtype or actual.shape != expected.shape:
        return False
    if actual.dtype.kind == "f":
        return bool(np.all((actual == expected) |
                           (np.isnan(actual) & np.isnan(expected))))
    return bool(np.all(actual == expected))


def raises(exc_type, fn, *needles):
    """The message of the exc_type that fn() raises if it mentions all needles,
    else None."""
    try:
        fn()
    except exc_type as err:
        text = str(err)
        return text if all(n in text for n in needles) else None
    except Exception:  # a different exception type is a failure too
        return None
    return None


MODULE = r"""
func.func @add(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = tosa.add %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// Two results, the second a 0-d tensor (sum of all elements, row order).
func.func @twice_and_sum(%a: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<f32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%a : tensor<2x3xf32>) outs(%init : tensor<f32>) dimensions = [0, 1]
    (%x: f32, %acc: f32) {
      %y = arith.addf %acc, %x : f32
      linalg.yield %y : f32
    }
  %t = tosa.add %a, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %t, %s : tensor<2x3xf32>, tensor<f32>
}

// i8 and i64 tensors, and a scalar i64: sext(a) * b + s.
func.func @mix(%a: tensor<4xi8>, %b: tensor<4xi64>, %s: i64) -> tensor<4xi64> {
  %e = tensor.empty() : tensor<4xi64>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%a, %b : tensor<4xi8>, tensor<4xi64>) outs(%e : tensor<4xi64>) {
    ^bb0(%x: i8, %y: i64, %o: i64):
      %xe = arith.extsi %x : i8 to i64
      %p = arith.muli %xe, %y : i64
      %q = arith.addi %p, %s : i64
      linalg.yield %q : i64
  } -> tensor<4xi64>
  return %r : tensor<4xi64>
}

// i32 and f64 tensors and an f32 scalar: f64(a) * b + f64(s).
func.func @widen(%a: tensor<3xi32>, %b: tensor<3xf64>, %s: f32) -> tensor<3xf64> {
  %e = tensor.empty() : tensor<3xf64>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%a, %b : tensor<3xi32>, tensor<3xf64>) outs(%e : tensor<3xf64>) {
    ^bb0(%x: i32, %y: f64, %o: f64):
      %xf = arith.sitofp %x : i32 to f64
      %sf = arith.extf %s : f32 to f64
      %p = arith.mulf %xf, %y : f64
      %q = arith.addf %p, %sf : f64
      linalg.yield %q : f64
  } -> tensor<3xf64>
  return %r : tensor<3xf64>
}

func.func @constant() -> tensor<2x2xf32> {
  %c = arith.constant dense<[[1.5, -2.0], [0.25, 8.0]]> : tensor<2x2xf32>
  return %c : tensor<2x2xf32>
}

// A constant and an argument side by side, and the argument returned as is.
func.func @const_and_arg(%a: tensor<3xi64>) -> (tensor<3xi64>, tensor<3xi64>, tensor<3xi64>) {
  %c = arith.constant dense<[7, 8, 9]> : tensor<3xi64>
  return %c, %a, %a : tensor<3xi64>, tensor<3xi64>, tensor<3xi64>
}

// Writes into its argument's buffer in place (arguments are writable).
func.func @insert_first(%a: tensor<3xf32>, %v: f32) -> tensor<3xf32> {
  %c0 = arith.constant 0 : index
  %r = tensor.insert %v into %a[%c0] : tensor<3xf32>
  return %r : tensor<3xf32>
}

func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>) -> tensor<4x3xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  %m = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x3xf32>) outs(%f : tensor<4x3xf32>) -> tensor<4x3xf32>
  return %m : tensor<4x3xf32>
}

func.func @decode(%c: tensor<2x4xi8>, %v: tensor<2x2xf32>) -> tensor<2x4xf32> {
  %w = dq.decode_weights %c, %v axis = 0 : (tensor<2x4xi8>, tensor<2x2xf32>) -> tensor<2x4xf32>
  return %w : tensor<2x4xf32>
}

// Scalars only: one scalar result by value, several through a struct.
func.func @scalar_one(%a: f64, %b: i64) -> f64 {
  %bf = arith.sitofp %b : i64 to f64
  %r = arith.mulf %a, %bf : f64
  return %r : f64
}

func.func @scalar_two(%a: f32, %b: i32) -> (i32, f32) {
  %c = arith.constant 1 : i32
  %b1 = arith.addi %b, %c : i32
  return %b1, %a : i32, f32
}

func.func @greater(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xi1> {
  %r = tosa.greater %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  return %r : tensor<4xi1>
}

func.func @nothing(%a: tensor<2xf32>) {
  return
}

// A large result, so that a leaked buffer shows in the RSS.
func.func @big(%a: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %r = tosa.add %a, %a : (tensor<256x256xf32>, tensor<256x256xf32>) -> tensor<256x256xf32>
  return %r : tensor<256x256xf32>
}
"""

DYNAMIC = r"""
func.func @dyn(%a: tensor<?xf32>) -> tensor<?xf32> {
  return %a : tensor<?xf32>
}
func.func @ok(%a: tensor<2xf32>) -> tensor<2xf32> {
  return %a : tensor<2xf32>
}
"""

MALFORMED = r"""
func.func @bad(%a: tensor<2xf32>) -> tensor<2xf32> {
  %r = tosa.add %a, %undefined : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}
"""


def f32_matmul_in_order(a, b):
    """acc = acc + a[i,k]*b[k,j] for k ascending, each op rounded to f32
    (what the loop lowering of linalg.matmul computes, without FMA)."""
    acc = np.zeros((a.shape[0], b.shape[1]), dtype=np.float32)
    for k in range(a.shape[1]):
        acc = acc + a[:, k:k + 1] * b[k:k + 1, :]
        assert acc.dtype == np.float32
    return acc


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
        "fsmblks", "uordblks", "fordblks", "keepcost")]


def heap_in_use():
    """Bytes malloc has handed out and not got back (glibc), or None."""
    try:
        fn = ctypes.CDLL(None).mallinfo2
    except AttributeError:
        return None
    fn.restype = _Mallinfo2
    info = fn()
    return info.uordblks + info.hblkhd


def test_results(m):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((2, 3)).astype(np.float32)
    a_before, b_before = a.copy(), b.copy()
    r = m.add(a, b)
    check(isinstance(r, np.ndarray) and same(r, a + b, np.float32),
          "add: %r != %r" % (r, a + b))
    check(same(a, a_before, np.float32) and same(b, b_before, np.float32),
          "add modified its inputs")

    # Non-contiguous input of the right dtype is accepted (copied).
    at = np.asfortranarray(a)
    check(same(m.add(at, b), a + b, np.float32), "add: Fortran-order input")

    r = m.twice_and_sum(a)
    check(isinstance(r, tuple) and len(r) == 2, "twice_and_sum: not a pair")
    total = np.float32(0)
    for x in a.reshape(-1):
        total = np.float32(total + x)
    check(same(r[0], a + a, np.float32), "twice_and_sum[0]: %r" % (r[0],))
    check(r[1].shape == () and same(r[1], total, np.float32),
          "twice_and_sum[1]: %r != %r" % (r[1], total))

    ca = np.array([-128, -1, 0, 127], dtype=np.int8)
    cb = np.array([3, -(1 << 40), 5, 1 << 33], dtype=np.int64)
    r = m.mix(ca, cb, -7)
    check(same(r, ca.astype(np.int64) * cb - 7, np.int64), "mix: %r" % (r,))
    r = m.mix(ca, cb, np.int64(1 << 50))
    check(same(r, ca.astype(np.int64) * cb + (1 << 50), np.int64),
          "mix (numpy i64 scalar): %r" % (r,))

    ia = np.array([1, -2, 1 << 30], dtype=np.int32)
    fb = np.array([0.1, 1e300, -3.5], dtype=np.float64)
    r = m.widen(ia, fb, 0.1)  # 0.1 rounds to f32, then widens
    expect = ia.astype(np.float64) * fb + np.float64(np.float32(0.1))
    check(same(r, expect, np.float64), "widen: %r != %r" % (r, expect))

    for _ in range(2):  # twice: a constant must not be freed or modified
        r = m.constant()
        check(same(r, [[1.5, -2.0], [0.25, 8.0]], np.float32),
              "constant: %r" % (r,))
        r[0, 0] = 99.0
    x = np.array([4, 5, 6], dtype=np.int64)
    c, y1, y2 = m.const_and_arg(x)
    check(same(c, [7, 8, 9], np.int64) and same(y1, x, np.int64) and
          same(y2, x, np.int64), "const_and_arg: %r %r %r" % (c, y1, y2))
    check(not np.shares_memory(y1, x) and not np.shares_memory(y1, y2),
          "const_and_arg: results share memory with each other or the input")

    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    r = m.insert_first(x, np.float32(-4.0))
    check(same(r, [-4.0, 2.0, 3.0], np.float32), "insert_first: %r" % (r,))
    check(same(x, [1.0, 2.0, 3.0], np.float32),
          "insert_first modified the caller's array: %r" % (x,))

    ma = rng.standard_normal((4, 8)).astype(np.float32)
    mb = rng.standard_normal((8, 3)).astype(np.float32)
    r = m.matmul(ma, mb)
    expect = f32_matmul_in_order(ma, mb)
    check(same(r, expect, np.float32),
          "matmul differs from the in-order f32 reference by %g"
          % float(np.max(np.abs(r - expect))))
    check(np.allclose(r, ma.astype(np.float64) @ mb.astype(np.float64),
                      rtol=1e-5, atol=1e-5), "matmul far from the f64 product")

    codes = np.array([[0, 1, 2, 3], [3, 0, 1, 2]], dtype=np.int8)
    basis = np.array([[0.5, 2.0], [0.25, 1.0]], dtype=np.float32)
    r = m.decode(codes, basis)
    check(same(r, [[-2.5, -1.5, 1.5, 2.5], [1.25, -1.25, -0.75, 0.75]],
               np.float32), "decode: %r" % (r,))

    r = m.scalar_one(1.5, 3)
    check(type(r) is np.float64 and r == 4.5, "scalar_one: %r" % (r,))
    r = m.scalar_two(np.float32(2.5), np.int32(41))
    check(r == (41 + 1, 2.5) and type(r[0]) is np.int32 and
          type(r[1]) is np.float32, "scalar_two: %r" % (r,))

    ga = np.array([1.0, 2.0, np.nan, -1.0], dtype=np.float32)
    gb = np.array([0.0, 2.0, 1.0, -2.0], dtype=np.float32)
    r = m.greater(ga, gb)
    check(same(r, ga > gb, np.bool_), "greater: %r" % (r,))

    check(m.nothing(np.zeros(2, np.float32)) is None, "nothing: not None")


def test_argument_errors(m):
    a = np.zeros((2, 3), np.float32)
    check(raises(ValueError, lambda: m.add(a, np.zeros((3, 2), np.float32)),
                 "add", "argument 1", "(2, 3)", "(3, 2)"),
          "wrong shape: no clear ValueError")
    check(raises(TypeError, lambda: m.add(a, np.zeros((2, 3), np.float64)),
                 "add", "argument 1", "float32", "float64"),
          "wrong dtype: no clear TypeError")
    check(raises(TypeError, lambda: m.add(a), "add", "2 argument", "got 1"),
          "wrong argument count: no clear TypeError")
    check(raises(TypeError, lambda: m.add(a, [[0.0] * 3] * 2),
                 "add", "argument 1", "list"),
          "a list for a tensor: no clear TypeError")
    check(raises(TypeError, lambda: m.mix(np.zeros(4, np.int8),
                                          np.zeros(4, np.int64), 1.5),
                 "mix", "argument 2", "i64"),
          "a float for an i64: no clear TypeError")
    check(raises(ValueError, lambda: m.mix(np.zeros(4, np.int8),
                                           np.zeros(4, np.int64), 1 << 64),
                 "mix", "argument 2", "does not fit"),
          "an out-of-range i64: no clear ValueError")
    check(raises(TypeError, lambda: m.mix(np.zeros(4, np.int8),
                                          np.zeros(4, np.int64), np.int32(1)),
                 "mix", "argument 2", "int32"),
          "an int32 scalar for i64: no clear TypeError")
    check(raises(AttributeError, lambda: m.no_such_function,
                 "no_such_function"), "unknown function: no clear error")


def test_leaks(m):
    """2000 calls of each function; RSS and malloc'd bytes must not grow."""
    rng = np.random.default_rng(1)
    calls = {
        "add": (np.ones((2, 3), np.float32), np.ones((2, 3), np.float32)),
        "twice_and_sum": (np.ones((2, 3), np.float32),),
        "mix": (np.ones(4, np.int8), np.ones(4, np.int64), 3),
        "widen": (np.ones(3, np.int32), np.ones(3, np.float64), 1.0),
        "constant": (),
        "const_and_arg": (np.ones(3, np.int64),),
        "insert_first": (np.ones(3, np.float32), 2.0),
        "matmul": (rng.standard_normal((4, 8)).astype(np.float32),
                   rng.standard_normal((8, 3)).astype(np.float32)),
        "decode": (np.zeros((2, 4), np.int8), np.ones((2, 2), np.float32)),
        "scalar_one": (1.0, 2),
        "scalar_two": (1.0, 2),
        "greater": (np.ones(4, np.float32), np.zeros(4, np.float32)),
        "nothing": (np.ones(2, np.float32),),
        "big": (np.ones((256, 256), np.float32),),
    }
    for name, args in calls.items():
        fn = m[name]
        for _ in range(50):  # warm up allocator and ctypes caches
            fn(*args)
        rss0, heap0 = rss_bytes(), heap_in_use()
        for _ in range(2000):
            fn(*args)
        rss_growth = rss_bytes() - rss0
        check(rss_growth < 4 << 20,
              "%s: RSS grew by %.1f MB over 2000 calls" % (name,
                                                           rss_growth / 2**20))
        if heap0 is not None:
            heap_growth = heap_in_use() - heap0
            # Even a 32-byte result leaked 2000 times is 64 KB (+ headers).
            check(heap_growth < 48 << 10,
                  "%s: malloc'd bytes grew by %d over 2000 calls"
                  % (name, heap_growth))


def test_errors_and_edges(out_dir):
    # A malformed module names the failing step.
    err = None
    try:
        R.compile_module(MALFORMED, out_dir)
    except R.CompileError as e:
        err = e
    check(err is not None and err.step == "dq-opt" and
          "step 'dq-opt' failed" in str(err) and "undefined" in str(err),
          "malformed module: no clear dq-opt error: %s" % (err,))
    err = None
    try:
        R.load(MALFORMED, out_dir=out_dir)
    except R.CompileError as e:
        err = e
    check(err is not None and err.step.startswith("parse") and
          "%undefined" in err.stderr, "malformed module via load(): %s" % (err,))
    check(not [f for f in os.listdir(out_dir) if f.startswith(".tmp-")],
          "temporary files left behind after a failed compile")

    # A missing dq-opt is reported as such.
    err = None
    try:
        R.compile_module(MODULE, out_dir, dq_opt="/nonexistent/dq-opt")
    except R.CompileError as e:
        err = e
    check(err is not None and "dq-opt not found" in str(err),
          "missing dq-opt: %s" % (err,))

    # Dynamic shapes: the module loads, the function refuses clearly.
    m = R.load(DYNAMIC, out_dir=out_dir)
    check(same(m.ok(np.array([1, 2], np.float32)), [1, 2], np.float32),
          "ok() beside a dynamic function")
    check(raises(TypeError, lambda: m.dyn(np.zeros(3, np.float32)),
                 "dyn", "dynamic", "tensor<?xf32>"),
          "dynamic dims: no clear TypeError")

    # Module(so).call without signatures, from compile_module + result_types.
    so = R.compile_module(MODULE, out_dir, name="plain")
    check(os.path.basename(so).startswith("plain-") and so.endswith(".so"),
          "compile_module output name: %s" % so)
    plain = R.Module(so)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    r = plain.call("add", a, a, result_types=["tensor<2x3xf32>"])
    check(same(r, a + a, np.float32), "Module.call add: %r" % (r,))
    r = plain.call("scalar_one", 2.0, 4, result_types=["f64"])
    check(r == 8.0, "Module.call scalar_one: %r" % (r,))
    check(raises(TypeError, lambda: plain.call("add", a, a), "result_types"),
          "Module.call without result_types: no clear error")

    # The C-interface check notices a signature the wrappers do not match.
    with open(R.compile.lowered_path(so)) as f:
        lowered = f.read()
    R.check_c_interface(lowered, R.parse_signatures(MODULE))
    wrong = R.parse_signatures(
        "func.func @scalar_one(%a: tensor<2xf64>, %b: i64) -> f64 {\n}")
    check(raises(RuntimeError, lambda: R.check_c_interface(lowered, wrong),
                 "scalar_one", "C interface"),
          "check_c_interface accepted a wrong signature")

    # What is never freed: NULL, memref.get_global's 0xdeadbeef, a pointer
    # into an input, into a loaded object (a global), or one freed already.
    buf = np.zeros(8, np.float32)
    lo = buf.ctypes.data
    inputs = [(lo, lo + buf.nbytes)]
    in_lib = ctypes.cast(plain._lib._mlir_ciface_add, ctypes.c_void_p).value
    for ptr, why in ((None, "NULL"), (0, "0"), (0xDEADBEEF, "0xdeadbeef"),
                     (lo, "an input"), (lo + 8, "inside an input"),
                     (in_lib, "a loaded object")):
        check(not plain._should_free(ptr, inputs, set()),
              "_should_free accepted %s" % why)
    check(not plain._should_free(12345678, [], {12345678}),
          "_should_free accepted a pointer freed already")

    # Signature parsing of hand-written text (comments, attrs, declarations).
    sigs = R.parse_signatures(r"""
      // func.func @commented(%a: tensor<1xf32>) -> tensor<1xf32> {
      func.func private @decl(tensor<2xf32>) -> tensor<2xf32>
      func.func @g(%a: tensor<2x3xi8> {dq.note = "a->b, c"}, %s: index)
          -> (tensor<f32> {dq.r}, i1) attributes {dq.x = [1, 2]} {
        return
      }
      func.func public @h() -> tensor<4x?xf64> {
        return
      }
    """)
    check(sorted(sigs) == ["g", "h"], "parse_signatures names: %s" % sorted(sigs))
    if "g" in sigs:
        g = sigs["g"]
        check([t.text for t in g.args] == ["tensor<2x3xi8>", "index"] and
              [t.text for t in g.results] == ["tensor<f32>", "i1"] and
              g.args[0].shape == (2, 3) and g.results[0].shape == (),
              "parse_signatures g: %r" % (g,))
    if "h" in sigs:
        check("dynamic" in (sigs["h"].unsupported() or ""),
              "parse_signatures h: %r" % (sigs["h"].unsupported(),))


def main():
    out_dir = tempfile.mkdtemp(prefix="dq_runtime_test_")
    try:
        m = R.load(MODULE, out_dir=out_dir, name="loader_test")
        for name, fn in (("results", lambda: test_results(m)),
                         ("argument errors", lambda: test_argument_errors(m)),
                         ("leaks", lambda: test_leaks(m)),
                         ("errors and edges",
                          lambda: test_errors_and_edges(out_dir))):
            try:
                fn()
            except Exception:
                _failures.append("%s raised:\n%s"
                                 % (name, traceback.format_exc()))
        if m.stats["freed"] == 0:
            _failures.append("no returned buffer was ever freed")
    except Exception:
        _failures.append("setup raised:\n" + traceback.format_exc())
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)

    if _failures:
        print("FAILED %d of %d checks:" % (len(_failures), _checks[0]))
        for f in _failures:
            print("  - " + f)
        return 1
    print("OK: %d checks" % _checks[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
