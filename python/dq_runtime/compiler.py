"""Compile a module of tensor functions with dq-compile and call them from
numpy (the harness of gradient checks and of comparisons against the PyTorch
reference):

    import dq_runtime
    k = dq_runtime.load(mlir_text)          # dq-compile --kind kernels
    y = k.f(np.ones((2, 3), np.float32))    # -> ndarray, tuple, scalar, None
    m = dq_runtime.load_model(training_module_text)   # a PackedModel

There is one compile path, dq-compile (its lowering, its checks, its cache),
and one calling convention, the runtime's (KernelLibrary over the C API);
this module only runs the tool. dq-compile is found from the dq_compile
argument, $DQ_COMPILE, or <repo>/build/bin/dq-compile; dq-opt (for tests
that transform a module before compiling it) likewise from $DQ_OPT.
"""

import atexit
import os
import shutil
import subprocess
import tempfile

from .packed import KernelLibrary, PackedModel

__all__ = ["CompileError", "compile_module", "find_dq_opt", "find_tool",
           "load", "load_model"]

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
_TIMEOUT_S = 900


class CompileError(RuntimeError):
    """dq-compile failed; `stderr` holds its diagnostics."""

    def __init__(self, message, stderr=""):
        self.stderr = stderr or ""
        lines = self.stderr.rstrip().splitlines()
        # A whole module dumped would bury the first error.
        if len(lines) > 60:
            lines = lines[:60] + ["... (%d more lines)" % (len(lines) - 60)]
        super().__init__("\n  ".join([message] + lines))


def find_tool(name, explicit=None):
    """A dq tool: `explicit`, else $DQ_<NAME> (dq-opt -> $DQ_OPT,
    dq-compile -> $DQ_COMPILE), else <repo>/build/bin/<name>."""
    variable = "DQ_" + name[len("dq-"):].upper().replace("-", "_")
    if explicit:
        path, origin = explicit, "the argument"
    elif os.environ.get(variable):
        path, origin = os.environ[variable], "$" + variable
    else:
        path = os.path.join(_REPO_ROOT, "build", "bin", name)
        origin = "the repository build"
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(path):
        raise CompileError("dq_runtime: %s not found at %s (from %s); build "
                           "it or set $%s" % (name, path, origin, variable))
    return path


def find_dq_opt(dq_opt=None):
    return find_tool("dq-opt", dq_opt)


_TEMP_DIRS = []


@atexit.register
def _remove_temp_dirs():
    for d in _TEMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)


def compile_module(mlir_text_or_path, out_prefix=None, dq_compile=None,
                   options=()):
    """Runs dq-compile on MLIR text or a path with `options` (its flags);
    returns the output prefix (<prefix>.so, <prefix>.manifest.json and, for
    a training module, <prefix>.state). Without out_prefix, a temporary
    directory removed at exit (a loaded library stays usable once its file
    is gone)."""
    tool = find_tool("dq-compile", dq_compile)
    if out_prefix is None:
        directory = tempfile.mkdtemp(prefix="dq_compile_")
        _TEMP_DIRS.append(directory)
        out_prefix = os.path.join(directory, "module")
    if isinstance(mlir_text_or_path, os.PathLike):
        source, text = os.fspath(mlir_text_or_path), None
    elif isinstance(mlir_text_or_path, str) and \
            "\n" not in mlir_text_or_path and "{" not in mlir_text_or_path:
        source, text = mlir_text_or_path, None  # a path, never module text
    else:
        source, text = "-", mlir_text_or_path
    command = [tool, source, "-o", out_prefix] + list(options)
    try:
        proc = subprocess.run(command, input=text, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise CompileError("dq_runtime: dq-compile timed out after %d s"
                           % _TIMEOUT_S)
    if proc.returncode != 0:
        raise CompileError("dq_runtime: dq-compile exited with status %d"
                           % proc.returncode, proc.stderr)
    return out_prefix


def load(mlir_text_or_path, out_prefix=None, dq_compile=None, options=(),
         threads=0):
    """The KernelLibrary of a module of tensor functions (dq-compile --kind
    kernels with `options`, e.g. ["--cpu=generic"])."""
    return KernelLibrary(compile_module(mlir_text_or_path, out_prefix,
                                        dq_compile,
                                        ["--kind", "kernels"] + list(options)),
                         threads)


def load_model(mlir_text_or_path, out_prefix=None, dq_compile=None,
               options=(), threads=0):
    """The PackedModel of a training or inference module (dq-compile with
    `options`)."""
    return PackedModel(compile_module(mlir_text_or_path, out_prefix,
                                      dq_compile, options), threads)
