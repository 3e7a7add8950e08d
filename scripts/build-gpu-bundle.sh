#!/usr/bin/env bash
# Builds, on this machine (MLIR + CUDA toolkit, no GPU needed), everything
# scripts/gpu-check.sh runs on a GPU machine that has the NVIDIA driver,
# Python 3 with numpy and PyTorch, but no MLIR and no dq build:
#
#   <out>/gpu-check.sh                   the one command to run there
#   <out>/check/cpu/model.*              a small W2A2 ResNet-8 (batch 16), CPU build
#   <out>/check/<variant>/model.*        the same, GPU builds
#   <out>/check-fp32/{cpu,<variant>}/    the same network in fp32 (CPU and
#                                        the first GPU variant)
#   <out>/bench/resnet20-w2a2-b256/<variant>/model.*   the benchmark model
#   <out>/demo/                          make demo's model (sm_90), dq-train,
#                                        dq-run (GPU_BUNDLE_DEMO=0: none)
#   <out>/python/                        dq_reference, the packed-call driver
#                                        and libdq_runtime.so (its C API),
#                                        compare_devices.py, the benchmark
#
# GPU variants: sm_90 (cubin for H100/H200, nothing to compile at load),
# sm_90-global (the same without shared-memory tiles, for the benchmark's
# side-by-side) and ptx (PTX for compute_80, JIT-compiled by the driver on an
# A100 or any newer GPU; the first load takes a while). Each GPU model
# directory holds its libdq_cuda_runtime.so.
#
# GPU_BUNDLE_VARIANTS picks the variants (default: "sm_90 sm_90-global ptx").
#
#   scripts/build-gpu-bundle.sh [out-dir]     (default: build/gpu-bundle)
#   BIN=build/bin LIB=build/lib scripts/build-gpu-bundle.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/gpu-bundle}
bin=${BIN:-$root/build/bin}
lib=${LIB:-$root/build/lib}
python=${PYTHON:-/usr/bin/python3}
runtime=$lib/libdq_cuda_runtime.so
# Explicit, so a dq-compile relinked by a parallel build while this runs
# still finds them.
support=$lib/libDQModelSupport.a

for tool in "$bin/dq-opt" "$bin/dq-compile" "$runtime" "$support" \
    "$lib/libdq_runtime.so"; do
  if [[ ! -e $tool ]]; then
    echo "build-gpu-bundle: $tool is missing (build dq-opt, dq-compile," \
         "dq_runtime and dq_cuda_runtime; the last needs the CUDA toolkit)" >&2
    exit 1
  fi
done

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
work=$out.tmp/.work
mkdir -p "$work"

# A training module from a dq_reference network (what bench/throughput_cpu.py
# and the PyTorch side build too); W2A2 unless a 4th argument says fp32.
training_module() { # arch batch out.mlir [fp32|data-parallel]
  PYTHONPATH=$root/python "$python" - "$1" "$2" "$work/$1-$2.model.mlir" <<'PY'
import sys
from dq_reference import resnet as R
arch, batch, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write(R.emit_mlir(R.build_network(arch, batch, 0), batch))
PY
  local quantize=(--dq-quantize="w-bits=2 a-bits=2")
  local graph=--dq-build-training-graph
  [[ ${4:-} == fp32 ]] && quantize=()
  [[ ${4:-} == data-parallel ]] &&
    graph=--dq-build-training-graph="data-parallel=true"
  "$bin/dq-opt" "$work/$1-$2.model.mlir" "${quantize[@]}" "$graph" -o "$3"
}

# Host code of GPU models is a straight line of launches: -O1 is enough and
# much faster to compile than -O2 for thousands of launches.
#   sm_90          cubin for H100/H200
#   sm_90-global   the same without shared-memory tiles (the baseline the
#                  benchmark compares the tiles against)
#   ptx            PTX for compute_80 and newer (JIT-compiled at load)
#   sm_90-deterministic  (check model only, with sm_90) no reassociated
#                  reductions: compared with the CPU build step by step
gpu_variant() { # train.mlir dir variant
  local common=(-O1 --target cuda --cuda-runtime "$runtime"
                --support-library "$support")
  case $3 in
    sm_90) "$bin/dq-compile" "$1" -o "$2/sm_90/model" "${common[@]}" \
             --gpu-chip sm_90 --gpu-features=+ptx80 --gpu-format bin ;;
    sm_90-global) "$bin/dq-compile" "$1" -o "$2/sm_90-global/model" \
             "${common[@]}" --gpu-chip sm_90 --gpu-features=+ptx80 \
             --gpu-format bin --gpu-shared-tiles=false ;;
    sm_90-deterministic) "$bin/dq-compile" "$1" \
             -o "$2/sm_90-deterministic/model" "${common[@]}" \
             --gpu-chip sm_90 --gpu-features=+ptx80 --gpu-format bin \
             --gpu-deterministic ;;
    ptx) "$bin/dq-compile" "$1" -o "$2/ptx/model" "${common[@]}" \
             --gpu-chip sm_80 --gpu-features=+ptx70 --gpu-format isa ;;
    *) echo "build-gpu-bundle: unknown variant $3" >&2; exit 1 ;;
  esac
}
variants=${GPU_BUNDLE_VARIANTS:-sm_90 sm_90-global ptx}

echo "== check model: resnet8 W2A2, batch 16"
training_module resnet8 16 "$work/check.train.mlir"
"$bin/dq-compile" "$work/check.train.mlir" -o "$out.tmp/check/cpu/model" \
  --parallel=false --support-library "$support"
check_variants=$variants
[[ " $variants " == *" sm_90 "* ]] && check_variants+=" sm_90-deterministic"
for v in $check_variants; do
  gpu_variant "$work/check.train.mlir" "$out.tmp/check" $v
done

echo "== check model: resnet8 fp32, batch 16"
training_module resnet8 16 "$work/check-fp32.train.mlir" fp32
"$bin/dq-compile" "$work/check-fp32.train.mlir" \
  -o "$out.tmp/check-fp32/cpu/model" --parallel=false \
  --support-library "$support"
gpu_variant "$work/check-fp32.train.mlir" "$out.tmp/check-fp32" \
  "${variants%% *}"

echo "== check model: resnet8 W2A2 data-parallel (all-reduces staged through the host), batch 16"
training_module resnet8 16 "$work/check-dp.train.mlir" data-parallel
"$bin/dq-compile" "$work/check-dp.train.mlir" -o "$out.tmp/check-dp/cpu/model" \
  --parallel=false --support-library "$support"
dp_variant=${variants%% *}
[[ " $variants " == *" sm_90 "* ]] && dp_variant=sm_90-deterministic
gpu_variant "$work/check-dp.train.mlir" "$out.tmp/check-dp" "$dp_variant"

echo "== benchmark model: resnet20 W2A2, batch 256"
training_module resnet20 256 "$work/bench.train.mlir"
for v in $variants; do
  gpu_variant "$work/bench.train.mlir" "$out.tmp/bench/resnet20-w2a2-b256" $v
done

# A training run on Fashion-MNIST with dq-train --device cuda (make demo's
# model and settings); dq-train and dq-run need only libc, libstdc++, zlib.
if [[ ${GPU_BUNDLE_DEMO:-1} == 1 ]]; then
  echo "== demo model: examples/resnet8_b128.mlir W2A2 dq/dq, sm_90"
  "$bin/dq-opt" "$root/examples/resnet8_b128.mlir" \
    --dq-quantize="w-bits=2 a-bits=2 w-scheme=dq a-scheme=dq" \
    --dq-build-training-graph -o "$work/demo.train.mlir"
  "$bin/dq-compile" "$work/demo.train.mlir" -o "$out.tmp/demo/model" -O1 \
    --target cuda --cuda-runtime "$runtime" --support-library "$support" \
    --gpu-chip sm_90 --gpu-features=+ptx80 --gpu-format bin
  cp "$bin/dq-train" "$bin/dq-run" "$out.tmp/demo/"
fi

echo "== scripts"
mkdir -p "$out.tmp/python"
cp -r "$root/python/dq_reference" "$out.tmp/python/"
rm -rf "$out.tmp/python/dq_reference/__pycache__"
cp "$root/python/dq_runtime/packed.py" "$out.tmp/python/dq_packed.py"
# dq_packed calls the models through the runtime's C API, found next to it.
cp "$lib/libdq_runtime.so" "$out.tmp/python/"
cp "$root/python/tools/compare_devices.py" "$root/bench/gpu_throughput.py" \
   "$root/bench/torch_gpu_step.py" "$out.tmp/python/"
cp "$root/scripts/gpu-check.sh" "$out.tmp/gpu-check.sh"
rm -rf "$work"
{
  echo "dq GPU bundle"
  echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "run: ./gpu-check.sh   (on a machine with an NVIDIA GPU, Python 3, numpy, PyTorch)"
} > "$out.tmp/BUNDLE.txt"

rm -rf "$out"
mv "$out.tmp" "$out"
echo "build-gpu-bundle: wrote $out ($(du -sh "$out" | cut -f1))"
