# -*- Python -*-
# lit configuration of the dq downstream example.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "DQ-Downstream"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.downstream_obj_root, "test")
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]

llvm_config.use_default_substitutions()
config.substitutions.append(("%dq_plugin", config.dq_plugin))
# The installed dq tools, upstream's mlir-opt, this project's own.
llvm_config.add_tool_substitutions(
    ["downstream-opt", "dq-opt", "mlir-opt"],
    [config.downstream_tools_dir, config.dq_tools_dir, config.llvm_tools_dir])
if os.path.exists(os.path.join(config.llvm_tools_dir, "mlir-opt")) and config.dq_plugin:
    config.available_features.add("mlir-opt-plugin")
