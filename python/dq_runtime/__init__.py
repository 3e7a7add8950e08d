"""Python's way into dq's compiled code, all of it through the C++ runtime's
C API (libdq_runtime.so):

    import dq_runtime
    k = dq_runtime.load(mlir_text)          # dq-compile --kind kernels
    y = k.f(np.ones((2, 3), np.float32))    # -> ndarray, tuple, scalar, None

    m = dq_runtime.PackedModel("out/model") # a model dq-compile wrote
    logits = m.predict(m.init_state(), images)

statefile reads and writes dq's state files and exports.
"""

from .compiler import (CompileError, compile_module, find_dq_opt, find_tool,
                       load, load_model)
from .packed import Kernel, KernelLibrary, PackedModel, Spec, Value

__all__ = ["CompileError", "Kernel", "KernelLibrary", "PackedModel", "Spec",
           "Value", "compile_module", "find_dq_opt", "find_tool", "load",
           "load_model"]
