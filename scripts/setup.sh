#!/usr/bin/env bash
# Installs the Debian packages dq needs to build and test. Idempotent: only
# missing packages are installed; nothing is fetched from anywhere but the
# machine's Debian package sources.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ make
  # LLVM/MLIR 22 (shared libMLIR/libLLVM, lit, FileCheck, mlir-runner)
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  # unit tests
  libgtest-dev
  # runtime: JSON manifests, gzip-compressed IDX datasets; OpenMP runtime for
  # the multi-threaded CPU code
  nlohmann-json3-dev zlib1g-dev libomp-22-dev
  # dq-import: TorchScript models through LibTorch
  libtorch-dev
  # PyTorch reference and model export (Debian's interpreter)
  python3 python3-numpy python3-torch python3-torchvision
  # plots of the benchmarks (bench/accuracy.py)
  python3-matplotlib
  # fuzzing: libFuzzer, AddressSanitizer and UBSan (make fuzz, docs/Fuzzing.md)
  clang-22 libclang-rt-22-dev
  # oneDNN, the convolution library bench/onednn_convs.cpp measures (issue 14)
  libdnnl-dev
  # data-parallel dq-train (mpirun; docs/Runtime.md, "Data parallelism")
  libopenmpi-dev openmpi-bin
  # data for the demo and the data-loader tests
  dataset-fashion-mnist
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q \
  --no-install-recommends "${missing[@]}"
