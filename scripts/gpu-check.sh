#!/usr/bin/env bash
# The GPU checks of dq, run from a bundle of files compiled elsewhere
# (scripts/build-gpu-bundle.sh), on a machine with an NVIDIA GPU and its
# driver, Python 3 with numpy and PyTorch; no MLIR, no dq build.
#
#   ./gpu-check.sh [--quick]     (from the bundle directory, or give its path
#                                 as BUNDLE=...)
#
# 1. GPU vs CPU: a ResNet-8 (batch 16) in fp32, 5 training steps in a row,
#    and in W2A2 built with --gpu-deterministic, 5 steps each started from
#    the CPU's state (also its data-parallel build, one process: the
#    all-reduces staged through host memory); the default builds' W2A2 steps for information;
#    predict and init_state (tolerances and why in
#    python/compare_devices.py).
# 2. Benchmark: the W2A2 ResNet-20 train_step at batch 256, dq vs PyTorch
#    eager and torch.compile on this GPU (--quick: no torch.compile).
# 3. Profile: GPU time per kernel of the benchmark step, written next to
#    the results as gpu-check-profile-<build>.txt (DQ_CUDA_PROFILE, docs/GPU.md).
# 4. With DQ_DATA=<Fashion-MNIST dir> and a bundle with demo/: make demo's
#    training run with dq-train --device cuda (DEMO_EPOCHS, default 4).
# Output also goes to gpu-check-results.txt (or $RESULTS). Exit status 0
# only if the comparison passed and the benchmark ran. Each PyTorch variant
# gets TORCH_TIMEOUT seconds (default 300, torch.compile included).
set -uo pipefail

bundle=${BUNDLE:-$(cd "$(dirname "$0")" && pwd)}
results=${RESULTS:-$bundle/gpu-check-results.txt}
python=${PYTHON:-python3}
modes=eager,compile
[[ ${1:-} == --quick ]] && modes=eager

exec > >(tee "$results") 2>&1

say() { printf '\n== %s\n' "$*"; }
die() { echo "gpu-check: $*"; exit 2; }

say "machine"
nvidia-smi -L || die "nvidia-smi cannot list a GPU (no NVIDIA driver or GPU?)"
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 |
      tr -d ' ')
case $cap in
  9.0) variant=sm_90 ;;
  *) variant=ptx ;;
esac
echo "compute capability $cap: using the $variant build"
"$python" -c 'import numpy, torch; print("python", __import__("sys").version.split()[0], "numpy", numpy.__version__, "torch", torch.__version__, "cuda", torch.version.cuda, "gpu available:", torch.cuda.is_available())' ||
  die "$python lacks numpy or torch"
[[ -f $bundle/BUNDLE.txt ]] && cat "$bundle/BUNDLE.txt"

say "GPU train_step/predict vs the CPU build (resnet8, batch 16)"
start=$SECONDS
compare=0
fp32_build=$(ls "$bundle/check-fp32" 2>/dev/null | grep -v '^cpu$' | head -1)
if [[ -n $fp32_build ]]; then
  echo "-- fp32, $fp32_build: 5 steps"
  "$python" "$bundle/python/compare_devices.py" \
    --cpu "$bundle/check-fp32/cpu/model" \
    --gpu "$bundle/check-fp32/$fp32_build/model" --steps 5 || compare=1
fi
if [[ -d $bundle/check/$variant-deterministic ]]; then
  echo "-- W2A2, $variant-deterministic (no reassociated reductions):" \
    "5 steps, each from the CPU's state"
  "$python" "$bundle/python/compare_devices.py" \
    --cpu "$bundle/check/cpu/model" \
    --gpu "$bundle/check/$variant-deterministic/model" --steps 5 \
    --per-step || compare=1
fi
# One process of a data-parallel model: every dq.all_reduce is a copy to
# the host, the (identity) collective and a copy back between kernels.
dp_build=$(ls "$bundle/check-dp" 2>/dev/null | grep -v '^cpu$' | head -1)
if [[ -n $dp_build ]]; then
  echo "-- W2A2 data-parallel, $dp_build (all-reduces staged through the" \
    "host): 5 steps, each from the CPU's state"
  "$python" "$bundle/python/compare_devices.py" \
    --cpu "$bundle/check-dp/cpu/model" \
    --gpu "$bundle/check-dp/$dp_build/model" --steps 5 --per-step ||
    compare=1
fi
for build in "$variant" "$variant-global"; do
  [[ -d $bundle/check/$build ]] || continue
  echo "-- W2A2, $build: 5 steps, each from the CPU's state (for" \
    "information: reassociated sums can flip a 2-bit code)"
  "$python" "$bundle/python/compare_devices.py" \
    --cpu "$bundle/check/cpu/model" --gpu "$bundle/check/$build/model" \
    --steps 5 --per-step --report-only | grep -v "^  step "
done
echo "($((SECONDS - start)) s)"

say "benchmark: resnet20 W2A2 train_step, batch 256"
start=$SECONDS
models=(--model "$bundle/bench/resnet20-w2a2-b256/$variant/model")
[[ -d $bundle/bench/resnet20-w2a2-b256/$variant-global ]] &&
  models+=(--model "$bundle/bench/resnet20-w2a2-b256/$variant-global/model")
"$python" "$bundle/python/gpu_throughput.py" "${models[@]}" --arch resnet20 \
  --steps 10 --warmup 2 --modes "$modes" --torch-timeout "${TORCH_TIMEOUT:-300}" \
  --log-dir "$(dirname "$results")"
bench=$?
echo "($((SECONDS - start)) s)"

say "profile: GPU time per kernel of the benchmark step (3 steps)"
for build in "$variant" "$variant-global"; do
  [[ -d $bundle/bench/resnet20-w2a2-b256/$build ]] || continue
  profile=$(dirname "$results")/gpu-check-profile-$build.txt
  DQ_CUDA_PROFILE=$profile "$python" "$bundle/python/gpu_throughput.py" \
    --model "$bundle/bench/resnet20-w2a2-b256/$build/model" \
    --arch resnet20 --steps 3 --warmup 1 --modes "" > /dev/null &&
    { echo "-- $build"; head -25 "$profile"; }
done

train=skipped
data=${DQ_DATA:-}
if [[ -x $bundle/demo/dq-train && -n $data ]]; then
  say "training: make demo's W2A2 ResNet-8 on Fashion-MNIST, --device cuda"
  start=$SECONDS
  demo_out=${DEMO_OUT:-$(mktemp -d)/demo-run}
  "$bundle/demo/dq-train" "$bundle/demo/model" --device cuda \
    --epochs "${DEMO_EPOCHS:-4}" --lr 0.1 --seed 0 --data "$data" \
    --out "$demo_out" --no-progress && train=ran || train=FAILED
  cp "$demo_out/metrics.jsonl" "$(dirname "$results")/demo-metrics.jsonl" \
    2>/dev/null
  echo "($((SECONDS - start)) s)"
fi

say "summary"
echo "GPU vs CPU comparison: $([[ $compare == 0 ]] && echo PASS || echo FAIL)"
echo "benchmark: $([[ $bench == 0 ]] && echo ran || echo FAILED)"
echo "training (DQ_DATA): $train"
echo "results: $results"
[[ $compare == 0 && $bench == 0 ]]
