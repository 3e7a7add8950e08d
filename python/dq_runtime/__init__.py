"""Compile MLIR modules of func.func on tensors to native code and call them
with numpy arrays (the harness of gradient checks and of comparisons against
the PyTorch reference).

    import dq_runtime
    m = dq_runtime.load(mlir_text)          # compile + parse signatures
    y = m.f(np.ones((2, 3), np.float32))    # -> ndarray, tuple, scalar, None

dq-opt is found from the dq_opt argument, $DQ_OPT, or <repo>/build/bin/dq-opt;
the LLVM tools from $DQ_LLVM_BIN (default /usr/lib/llvm-22/bin).
"""

from .compile import (CompileError, canonicalize, compile_module, find_dq_opt,
                      find_llvm_tool)
from .loader import (Function, Module, ScalarType, Signature, TensorType,
                     check_c_interface, load, parse_signatures, parse_type)

__all__ = [
    "CompileError",
    "canonicalize",
    "compile_module",
    "find_dq_opt",
    "find_llvm_tool",
    "Function",
    "Module",
    "ScalarType",
    "Signature",
    "TensorType",
    "check_c_interface",
    "load",
    "parse_signatures",
    "parse_type",
]
