# -*- Python -*-
# lit configuration of the dq test suite.

import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "DQ"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.dq_obj_root, "test")
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "Inputs", "CMakeLists.txt"]

config.environment["FILECHECK_OPTS"] = "-enable-var-scope --allow-unused-prefixes=false"
# dq-compile's compile cache (docs/Runtime.md) lives under the build tree
# during tests, never in the user's ~/.cache; tests of the cache itself pass
# --cache-dir.
config.environment["XDG_CACHE_HOME"] = os.path.join(config.test_exec_root, "cache")
llvm_config.use_default_substitutions()

# Debian's interpreter has numpy and torch; the first python3 on PATH may not.
python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
config.substitutions.append(("%python", python))
config.substitutions.append(("%dq_src", config.dq_src_root))
config.substitutions.append(("%dq_bin", config.dq_tools_dir))
config.environment["PYTHONPATH"] = os.path.join(config.dq_src_root, "python")
# dq_runtime.load compiles with this build's dq-compile; dq_runtime.packed
# calls models through the runtime's C API.
config.environment["DQ_COMPILE"] = os.path.join(config.dq_tools_dir, "dq-compile")
config.environment["DQ_RUNTIME_LIBRARY"] = os.path.join(config.dq_obj_root, "lib",
                                                     "libdq_runtime.so")

# Finite-difference check of every function's reverse-mode gradient.
config.substitutions.append(
    ("%gradcheck", "{} {} --dq-opt {}".format(
        python, os.path.join(config.dq_src_root, "python", "tools", "gradcheck.py"),
        os.path.join(config.dq_tools_dir, "dq-opt"))))

runner_libs = ",".join(
    os.path.join(config.llvm_lib_dir, name)
    for name in ("libmlir_runner_utils.so", "libmlir_c_runner_utils.so"))
config.substitutions.append(("%mlir_runner_libs", runner_libs))

tool_dirs = [config.dq_tools_dir, config.llvm_tools_dir]
tools = ["dq-opt", "dq-compile", "dq-train", "dq-run", "mlir-runner", "mlir-translate",
         "not", "count", "split-file", "llvm-dwarfdump"]
# dq-import is built only where LibTorch was found.
if os.path.exists(os.path.join(config.dq_tools_dir, "dq-import")):
    tools.append("dq-import")
    config.available_features.add("torch-import")
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Upstream's mlir-opt with dq's plugin (test/Plugin): `mlir-opt` wherever
# the LLVM dq is built with has one, `dq-plugin` wherever dq builds the
# plugin (not in the sanitized fuzz build).
config.substitutions.append(
    ("%upstream_mlir_opt", os.path.join(config.llvm_tools_dir, "mlir-opt")))
if os.path.exists(os.path.join(config.llvm_tools_dir, "mlir-opt")):
    config.available_features.add("mlir-opt")
if config.dq_have_plugin:
    config.available_features.add("dq-plugin")
    config.substitutions.append(
        ("%dq_plugin", os.path.join(config.dq_obj_root, "lib", "DQPlugin.so")))

# Installing this build and building examples/downstream on it
# (test/Package): not from the sanitized fuzz build, whose libraries an
# uninstrumented project cannot link.
if not config.dq_fuzz:
    config.available_features.add("dq-package")
lit_command = (config.llvm_external_lit or shutil.which("lit")
               or os.path.join(config.llvm_tools_dir, "lit"))
for name, value in (("%cmake_exe", config.cmake_command),
                    ("%cmake_generator", config.cmake_generator),
                    ("%cmake_make_program", config.cmake_make_program),
                    ("%cmake_c_compiler", config.cmake_c_compiler),
                    ("%cmake_cxx_compiler", config.cmake_cxx_compiler),
                    ("%cmake_build_type", config.cmake_build_type or "Release"),
                    ("%mlir_cmake_dir", config.mlir_dir),
                    ("%lit_command", lit_command),
                    ("%dq_obj", config.dq_obj_root)):
    config.substitutions.append((name, value))

# Features that gate tests needing more than the build.
def python_has(module):
    try:
        subprocess.run([python, "-c", "import " + module], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120)
        return True
    except Exception:
        return False

if python_has("torch"):
    config.available_features.add("torch")
if python_has("torchvision"):
    config.available_features.add("torchvision")
if python_has("numpy"):
    config.available_features.add("numpy")
if python_has("matplotlib"):
    config.available_features.add("matplotlib")
if os.path.exists(os.path.join(config.llvm_tools_dir, "mlir-runner")):
    config.available_features.add("mlir-runner")
# oneDNN (libdnnl-dev): bench/onednn_convs.cpp.
if os.path.exists("/usr/include/dnnl.hpp") and shutil.which("g++"):
    config.available_features.add("onednn")
if os.path.exists(os.path.join(config.dq_tools_dir, "DQConvLibraryTests")):
    config.available_features.add("conv-library")
if os.path.exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"):
    config.available_features.add("fashion-mnist")
if config.enable_unittests:
    config.available_features.add("unittests")
# Data-parallel dq-train (Open MPI, libopenmpi-dev + openmpi-bin): `mpi`,
# and %mpirun, which runs N processes on this machine whatever its cores
# (root included: CI machines run as root).
if getattr(config, "dq_have_mpi", False) and shutil.which("mpirun"):
    config.available_features.add("mpi")
for name, value in (("OMPI_ALLOW_RUN_AS_ROOT", "1"),
                    ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"),
                    ("OMPI_MCA_btl", "self,vader"),
                    ("OMPI_MCA_rmaps_base_oversubscribe", "1")):
    config.environment[name] = value
config.substitutions.append(("%mpirun", "mpirun -x OMP_NUM_THREADS=1 -np"))
# dq-compile links parallel models against an OpenMP runtime.
if getattr(config, "dq_openmp_library", "").endswith((".so", ".so.5")):
    config.available_features.add("openmp")

# The fuzz build (make fuzz, docs/Fuzzing.md): `fuzz` when its targets were
# built, `fuzz-torch-import` with LibTorch, `sanitized-unittests` for its
# ASan/UBSan DQRuntimeTests. Without clang there is none and test/Fuzz is
# unsupported.
fuzz_bin = getattr(config, "dq_fuzz_bin_dir", "")
def fuzz_built(name):
    return bool(fuzz_bin) and os.access(os.path.join(fuzz_bin, name), os.X_OK)
config.substitutions.append(("%fuzz_bin", fuzz_bin))
config.substitutions.append(("%fuzz_src", os.path.join(config.dq_src_root, "fuzz")))
if all(fuzz_built(name) for name in (
        "dq-fuzz-seeds", "dq-fuzz-state-file", "dq-fuzz-export",
        "dq-fuzz-manifest", "dq-fuzz-dataset", "dq-fuzz-compiler")):
    config.available_features.add("fuzz")
    if fuzz_built("dq-fuzz-torch-import"):
        config.available_features.add("fuzz-torch-import")
if fuzz_built("DQRuntimeTests"):
    config.available_features.add("sanitized-unittests")

# GPU (NVIDIA): `ptxas` assembles the PTX dq-lower-to-nvvm emits (register and
# spill statistics); `cuda-runtime` when libdq_cuda_runtime.so was built (a
# CUDA toolkit, no GPU needed); `cuda-gpu` when, in addition, a GPU is usable
# here (nvidia-smi lists one): only then do GPU models run.
cuda_bin = config.dq_cuda_bin_dir or "/usr/local/cuda/bin"
ptxas = shutil.which("ptxas") or shutil.which("ptxas", path=cuda_bin)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
if config.dq_have_cuda_runtime:
    config.available_features.add("cuda-runtime")
    config.substitutions.append(
        ("%dq_cuda_runtime", os.path.join(config.dq_obj_root, "lib",
                                          "libdq_cuda_runtime.so")))
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, timeout=60,
                                universal_newlines=True)
        if listed.returncode == 0 and "GPU" in listed.stdout:
            config.available_features.add("cuda-gpu")
    except Exception:
        pass
