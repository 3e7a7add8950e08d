#!/usr/bin/env python3
"""Checks dq_runtime.load: a module of tensor functions compiled by
dq-compile --kind kernels and called through the runtime's C API
(KernelLibrary) with numpy arrays: results, argument checks, compile
errors, no leaks.

Standalone: `/usr/bin/python3 python/tests/test_runtime_loader.py` exits 0
when every check passes and 1 (listing the failures) otherwise. Needs a
built dq-compile ($DQ_COMPILE, or build/bin/dq-compile) and
libdq_runtime.so ($DQ_RUNTIME_LIBRARY, or build/lib).
"""

import ctypes
import os
import sys
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

// i32 tensor and an f32 scalar: f32(a) * b + s.
func.func @widen(%a: tensor<3xi32>, %b: tensor<3xf32>, %s: f32) -> tensor<3xf32> {
  %e = tensor.empty() : tensor<3xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%a, %b : tensor<3xi32>, tensor<3xf32>) outs(%e : tensor<3xf32>) {
    ^bb0(%x: i32, %y: f32, %o: f32):
      %xf = arith.sitofp %x : i32 to f32
      %p = arith.mulf %xf, %y : f32
      %q = arith.addf %p, %s : f32
      linalg.yield %q : f32
  } -> tensor<3xf32>
  return %r : tensor<3xf32>
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
func.func @scalar_one(%a: f32, %b: i64) -> f32 {
  %bf = arith.sitofp %b : i64 to f32
  %r = arith.mulf %a, %bf : f32
  return %r : f32
}

func.func @scalar_two(%a: f32, %b: i32) -> (i32, f32) {
  %c = arith.constant 1 : i32
  %b1 = arith.addi %b, %c : i32
  return %b1, %a : i32, f32
}

func.func @greater(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xi8> {
  %e = tensor.empty() : tensor<4xi8>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xi8>) {
    ^bb0(%x: f32, %y: f32, %o: i8):
      %g = arith.cmpf ogt, %x, %y : f32
      %c = arith.extui %g : i1 to i8
      linalg.yield %c : i8
  } -> tensor<4xi8>
  return %r : tensor<4xi8>
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
    fb = np.array([0.1, 1e30, -3.5], dtype=np.float32)
    r = m.widen(ia, fb, 0.1)  # 0.1 rounds to f32
    expect = ia.astype(np.float32) * fb + np.float32(0.1)
    check(same(r, expect, np.float32), "widen: %r != %r" % (r, expect))

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
    check(type(r) is np.float32 and r == 4.5, "scalar_one: %r" % (r,))
    r = m.scalar_two(np.float32(2.5), np.int32(41))
    check(r == (41 + 1, 2.5) and type(r[0]) is np.int32 and
          type(r[1]) is np.float32, "scalar_two: %r" % (r,))

    ga = np.array([1.0, 2.0, np.nan, -1.0], dtype=np.float32)
    gb = np.array([0.0, 2.0, 1.0, -2.0], dtype=np.float32)
    r = m.greater(ga, gb)
    check(same(r, (ga > gb).astype(np.int8), np.int8), "greater: %r" % (r,))

    check(m.nothing(np.zeros(2, np.float32)) is None, "nothing: not None")


def test_leaks(m):
    """2000 calls of each function; RSS and malloc'd bytes must not grow."""
    rng = np.random.default_rng(1)
    calls = {
        "add": (np.ones((2, 3), np.float32), np.ones((2, 3), np.float32)),
        "twice_and_sum": (np.ones((2, 3), np.float32),),
        "mix": (np.ones(4, np.int8), np.ones(4, np.int64), 3),
        "widen": (np.ones(3, np.int32), np.ones(3, np.float32), 1.0),
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


def test_argument_errors(m):
    a = np.zeros((2, 3), np.float32)
    check(raises(TypeError, lambda: m.add(a, np.zeros((3, 2), np.float32)),
                 "@add", "argument 1", "[3, 2]", "[2, 3]"),
          "wrong shape: no clear error")
    check(raises(TypeError, lambda: m.add(a, np.zeros((2, 3), np.float64)),
                 "@add", "argument 1", "float32", "float64"),
          "wrong dtype: no clear error")
    check(raises(TypeError, lambda: m.add(a), "@add", "2 arguments", "got 1"),
          "wrong argument count: no clear error")
    check(raises(TypeError, lambda: m.add(a, [[0.0] * 3] * 2),
                 "@add", "argument 1", "list"),
          "a list for a tensor: no clear error")
    mix = lambda s: m.mix(np.zeros(4, np.int8), np.zeros(4, np.int64), s)
    check(raises(TypeError, lambda: mix(1.5), "@mix", "argument 2", "int64",
                 "float"), "a float for an i64: no clear error")
    check(raises(ValueError, lambda: mix(1 << 64), "@mix", "argument 2",
                 "does not fit"), "an out-of-range i64: no clear error")
    check(raises(TypeError, lambda: mix(np.int32(1)), "@mix", "argument 2",
                 "int32"), "an int32 scalar for i64: no clear error")
    check(raises(TypeError, lambda: mix(True), "@mix", "argument 2", "bool"),
          "a bool for an i64: no clear error")
    check(raises(AttributeError, lambda: m.missing), "missing function: no "
          "AttributeError")
    check(raises(KeyError, lambda: m["missing"], "@missing", "has:", "add"),
          "missing function by name: no clear error")
    sig = m["widen"]
    check([(v.dtype, v.shape, v.scalar) for v in sig.args] ==
          [(np.dtype(np.int32), (3,), False), (np.dtype(np.float32), (3,),
                                                False),
           (np.dtype(np.float32), (), True)], "widen's signature: %r" % sig)


DYNAMIC = r"""
func.func @dyn(%a: tensor<?xf32>) -> tensor<?xf32> {
  return %a : tensor<?xf32>
}
"""

MALFORMED = r"""
func.func @bad(%a: tensor<2xf32>) -> tensor<2xf32> {
  %r = tosa.add %a, %undefined : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}
"""

OTHER = r"""
func.func @add(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = tosa.sub %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}
"""


def compile_error(text, *options):
    try:
        R.load(text, options=list(options))
    except R.CompileError as e:
        return str(e)
    return None


def test_errors_and_edges(m):
    err = compile_error(MALFORMED) or ""
    check("dq-compile exited with status 1" in err and "undefined" in err,
          "malformed module: no clear error: %s" % err)
    err = compile_error(DYNAMIC) or ""
    check("@dyn: argument 0 has a dynamic shape" in err,
          "dynamic shape: no clear error: %s" % err)
    err = compile_error(MODULE, "--kind", "inference") or ""
    check("dq-compile" in err, "a second --kind: no error: %s" % err)
    # Two libraries defining the same names stay apart.
    other = R.load(OTHER)
    a = np.full((2, 3), 5, np.float32)
    b = np.ones((2, 3), np.float32)
    check(same(other.add(a, b), a - b, np.float32) and
          same(m.add(a, b), a + b, np.float32),
          "two libraries with the same function names mixed up")
    # A missing dq-compile is named.
    saved = os.environ.get("DQ_COMPILE")
    os.environ["DQ_COMPILE"] = "/nonexistent/dq-compile"
    try:
        err = compile_error(OTHER) or ""
    finally:
        if saved is None:
            del os.environ["DQ_COMPILE"]
        else:
            os.environ["DQ_COMPILE"] = saved
    check("dq-compile not found at /nonexistent/dq-compile (from "
          "$DQ_COMPILE)" in err, "missing dq-compile: %s" % err)


def main():
    try:
        # Generic x86-64: the matmul check is of the in-order f32 sum, which
        # a host with FMA would fuse.
        m = R.load(MODULE, options=["--cpu=generic"])
        for name, fn in (("results", lambda: test_results(m)),
                         ("argument errors", lambda: test_argument_errors(m)),
                         ("leaks", lambda: test_leaks(m)),
                         ("errors and edges", lambda: test_errors_and_edges(m))):
            try:
                fn()
            except Exception:
                _failures.append("%s raised:\n%s"
                                 % (name, traceback.format_exc()))
    except Exception:
        _failures.append("setup raised:\n" + traceback.format_exc())

    if _failures:
        print("FAILED %d of %d checks:" % (len(_failures), _checks[0]))
        for f in _failures:
            print("  - " + f)
        return 1
    print("OK: %d checks" % _checks[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
