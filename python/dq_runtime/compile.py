"""Ahead-of-time compilation of an MLIR module to a native shared library.

    dq-opt --dq-lower-to-llvm=emit-c-interface   (MLIR -> LLVM dialect)
    mlir-translate --mlir-to-llvmir              (LLVM dialect -> LLVM IR)
    llc -O2 -filetype=obj -relocation-model=pic  (LLVM IR -> object)
    cc -shared ... -lm                           (object -> .so)

Every output is written under a temporary name in the output directory and
renamed into place, so a reader never sees a partial file. Output names carry
a hash of everything that determines their content (input text, options,
the dq-opt binary's identity): the dynamic loader caches libraries by path,
so a path must never be reused for different code within one process.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time

__all__ = ["CompileError", "compile_module", "find_dq_opt", "find_llvm_tool",
           "canonicalize", "lowered_path", "LLVM_BIN"]

LLVM_BIN = os.environ.get("DQ_LLVM_BIN", "/usr/lib/llvm-22/bin")

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

_STEP_TIMEOUT_S = 900


class CompileError(RuntimeError):
    """A compilation step failed; `step` names it, `stderr` is its output."""

    def __init__(self, step, message, cmd=None, returncode=None, stderr=""):
        self.step = step
        self.cmd = cmd
        self.returncode = returncode
        self.stderr = stderr or ""
        text = "dq_runtime: step '%s' failed: %s" % (step, message)
        if cmd:
            text += "\n  command: " + " ".join(cmd)
        if self.stderr.strip():
            text += "\n  stderr:\n" + _indent(self.stderr.rstrip(), "    ")
        super().__init__(text)


def _indent(text, prefix):
    # Huge diagnostics (a whole module dumped) would bury the first error.
    lines = text.splitlines()
    if len(lines) > 60:
        lines = lines[:60] + ["... (%d more lines)" % (len(lines) - 60)]
    return "\n".join(prefix + line for line in lines)


def find_dq_opt(dq_opt=None):
    """dq-opt from the argument, $DQ_OPT, or <repo>/build/bin/dq-opt."""
    candidates = []
    if dq_opt:
        candidates.append(("argument dq_opt", dq_opt))
    elif os.environ.get("DQ_OPT"):
        candidates.append(("$DQ_OPT", os.environ["DQ_OPT"]))
    else:
        candidates.append(("repository build",
                           os.path.join(_REPO_ROOT, "build", "bin", "dq-opt")))
    origin, path = candidates[0]
    path = os.path.abspath(os.path.expanduser(path))
    # The binary may be mid-replacement by a rebuild; give it a moment.
    for _ in range(10):
        if os.path.isfile(path):
            break
        time.sleep(0.5)
    if not os.path.isfile(path):
        raise CompileError("find dq-opt",
                           "dq-opt not found at %s (from %s); pass dq_opt=... "
                           "or set DQ_OPT" % (path, origin))
    return path


def find_llvm_tool(name):
    """An LLVM tool from $DQ_LLVM_BIN (default /usr/lib/llvm-22/bin), else PATH."""
    path = os.path.join(LLVM_BIN, name)
    if os.path.isfile(path):
        return path
    found = shutil.which(name)
    if found:
        return found
    raise CompileError("find " + name,
                       "%s not found in %s nor on PATH" % (name, LLVM_BIN))


def _find_cc():
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise CompileError("link", "no C compiler driver (cc, gcc, clang) found")


def _run(step, cmd, retries_on_missing=3):
    for attempt in range(retries_on_missing + 1):
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE,
                                  timeout=_STEP_TIMEOUT_S)
            break
        except (FileNotFoundError, PermissionError, OSError) as err:
            # ETXTBSY/ENOENT while a tool is being rebuilt are transient.
            if attempt == retries_on_missing:
                raise CompileError(step, "could not run %s: %s" % (cmd[0], err),
                                   cmd=cmd)
            time.sleep(1.0)
        except subprocess.TimeoutExpired as err:
            raise CompileError(step, "timed out after %ds" % _STEP_TIMEOUT_S,
                               cmd=cmd, stderr=(err.stderr or b"").decode(
                                   "utf-8", "replace"))
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise CompileError(step, "exit status %d" % proc.returncode, cmd=cmd,
                           returncode=proc.returncode, stderr=stderr)
    return proc.stdout.decode("utf-8", "replace"), stderr


def _read_input(mlir_text_or_path):
    """(text, stem) from MLIR text or a path to an .mlir file."""
    if isinstance(mlir_text_or_path, bytes):
        mlir_text_or_path = mlir_text_or_path.decode("utf-8")
    if isinstance(mlir_text_or_path, os.PathLike):
        mlir_text_or_path = os.fspath(mlir_text_or_path)
        is_path = True
    else:
        if not isinstance(mlir_text_or_path, str):
            raise TypeError("compile_module: expected MLIR text or a path, got "
                            + type(mlir_text_or_path).__name__)
        # Module text always holds a newline or a brace; a path never needs to.
        is_path = ("\n" not in mlir_text_or_path and "{" not in mlir_text_or_path)
    if not is_path:
        return mlir_text_or_path, "module"
    try:
        with open(mlir_text_or_path, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise CompileError("read input", "cannot read %r: %s"
                           % (mlir_text_or_path, err))
    stem = os.path.splitext(os.path.basename(mlir_text_or_path))[0] or "module"
    return text, stem


def _write_atomic(path, data):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _tmp_path(out_dir, suffix):
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=out_dir)
    os.close(fd)
    return tmp


def _tool_identity(path):
    st = os.stat(path)
    return "%s:%d:%d" % (os.path.realpath(path), st.st_size, st.st_mtime_ns)


def _safe_stem(stem):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem)[:64] or "module"


def lowered_path(so_path):
    """Where compile_module kept the LLVM-dialect module for `so_path`."""
    return so_path[:-3] + ".lowered.mlir" if so_path.endswith(".so") else None


def canonicalize(mlir_text_or_path, dq_opt=None):
    """The module printed back by dq-opt with no passes (parses and verifies
    it; comments stripped, aliases resolved, one op header per line)."""
    text, _ = _read_input(mlir_text_or_path)
    dq_opt = find_dq_opt(dq_opt)
    with tempfile.TemporaryDirectory(prefix="dq_runtime_") as tmp:
        src = os.path.join(tmp, "input.mlir")
        with open(src, "w", encoding="utf-8") as f:
            f.write(text)
        out, _ = _run("parse (dq-opt, no passes)", [dq_opt, src])
    return out


# Ops the pipeline may leave behind: dq-lower-to-llvm (as of this writing)
# runs no convert-bufferization-to-memref, so the clones that ownership-based
# deallocation inserts for returned arguments and constants survive into the
# LLVM dialect and mlir-translate rejects them.
_LEFTOVER_BUFFERIZATION = re.compile(r"\bbufferization\.clone\b")
_REPAIR_PIPELINE = ("builtin.module(convert-bufferization-to-memref,"
                    "finalize-memref-to-llvm,reconcile-unrealized-casts,"
                    "canonicalize)")


def compile_module(mlir_text_or_path, out_dir, dq_opt=None,
                   extra_pipeline_options="", name=None,
                   keep_intermediates=True, llc_options=()):
    """Compile a module of func.func on tensors to `<out_dir>/<name>-<hash>.so`.

    Returns the path of the shared library. Raises CompileError naming the
    failing step (dq-opt, repair-bufferization, mlir-translate, llc, link).
    With keep_intermediates, the input, lowered module (`.lowered.mlir`, read
    by the loader to check the C interface), LLVM IR and object stay beside it.
    """
    text, stem = _read_input(mlir_text_or_path)
    stem = _safe_stem(name or stem)
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)

    dq_opt = find_dq_opt(dq_opt)
    translate = find_llvm_tool("mlir-translate")
    llc = find_llvm_tool("llc")
    cc = _find_cc()

    options = "emit-c-interface"
    if extra_pipeline_options and extra_pipeline_options.strip():
        options += " " + extra_pipeline_options.strip()
    llc_options = list(llc_options)

    key = hashlib.sha256()
    for part in (text, options, " ".join(llc_options), _tool_identity(dq_opt),
                 _tool_identity(translate), _tool_identity(llc)):
        key.update(part.encode("utf-8"))
        key.update(b"\0")
    base = os.path.join(out_dir, "%s-%s" % (stem, key.hexdigest()[:16]))
    paths = {ext: base + ext for ext in
             (".input.mlir", ".lowered.mlir", ".ll", ".o", ".so")}

    # Each step writes a temporary and renames it to its final name once it
    # succeeded, so diagnostics name files that exist and a failure leaves
    # the failing step's input behind for inspection.
    def step(name, suffix, make_cmd):
        tmp = _tmp_path(out_dir, suffix)
        try:
            _run(name, make_cmd(tmp))
            os.replace(tmp, paths[suffix])
        except BaseException:
            _unlink(tmp)
            raise
        return paths[suffix]

    _write_atomic(paths[".input.mlir"], text)
    lowered = step("dq-opt", ".lowered.mlir", lambda out: [
        dq_opt, paths[".input.mlir"], "--dq-lower-to-llvm=" + options,
        "-o", out])
    with open(lowered, "r", encoding="utf-8") as f:
        needs_repair = bool(_LEFTOVER_BUFFERIZATION.search(f.read()))
    if needs_repair:
        lowered = step("repair-bufferization (dq-opt)", ".lowered.mlir",
                       lambda out: [dq_opt, lowered,
                                    "--pass-pipeline=" + _REPAIR_PIPELINE,
                                    "-o", out])
    step("mlir-translate", ".ll", lambda out: [
        translate, "--mlir-to-llvmir", lowered, "-o", out])
    step("llc", ".o", lambda out: [
        llc, "-O2", "-filetype=obj", "-relocation-model=pic"] + llc_options
        + [paths[".ll"], "-o", out])

    # --no-undefined: a missing symbol fails here, not at dlopen time.
    # The C runner utils (memrefCopy for strided copies) only if needed.
    def link_cmd(out):
        cmd = [cc, "-shared", "-o", out, paths[".o"], "-Wl,--no-undefined",
               "-lm"]
        llvm_lib = os.path.join(os.path.dirname(LLVM_BIN), "lib")
        if os.path.isfile(os.path.join(llvm_lib, "libmlir_c_runner_utils.so")):
            cmd += ["-Wl,--as-needed", "-L" + llvm_lib,
                    "-Wl,-rpath," + llvm_lib, "-lmlir_c_runner_utils",
                    "-Wl,--no-as-needed"]
        return cmd + ["-lc"]

    try:
        step("link", ".so", link_cmd)
    except CompileError as err:
        if "undefined reference" in err.stderr:
            raise CompileError(
                "link", "undefined symbols: does the module declare functions "
                "without a body (func.func private @f(...)) or call a library "
                "that is not linked?", cmd=err.cmd,
                returncode=err.returncode, stderr=err.stderr)
        raise

    if not keep_intermediates:
        for suffix in (".input.mlir", ".lowered.mlir", ".ll", ".o"):
            _unlink(paths[suffix])
    return paths[".so"]
