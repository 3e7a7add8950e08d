#!/bin/bash
# Builds the CPU train_step of a model with several lowering variants and
# times them side by side (bench/step_timer.cpp, round-robin, medians).
# See bench/cpu_pipeline_experiments.md for what the variants are.
#
#   bench/cpu_pipeline_bench.sh [ARCH=small] [BATCH=128] [WORKDIR=/tmp/dq-cpu-bench]
#   env: STEPS (per round, 2), ROUNDS (3), VARIANTS (space separated subset)
set -e
R=$(cd "$(dirname "$0")/.." && pwd); cd "$R"
arch=${1:-small}; batch=${2:-128}; W=${3:-/tmp/dq-cpu-bench}/$arch; mkdir -p $W
steps=${STEPS:-2}; rounds=${ROUNDS:-3}
variants=${VARIANTS:-"base base_O3 split_base interchange vec vec_all vec_all_hwcf vec_ew_hwcf"}

[ -x $W/step_timer ] || c++ -O2 -std=c++17 -I runtime/include bench/step_timer.cpp \
    build/runtime/libDQRuntime.a -ldl -lz -o $W/step_timer
if [ ! -f $W/train.mlir ]; then
  /usr/bin/python3 python/tools/make_example_model.py --arch $arch --batch $batch -o $W/model.mlir
  build/bin/dq-opt $W/model.mlir --dq-quantize="w-bits=2 a-bits=2" --dq-build-training-graph -o $W/train.mlir
fi

# The default dq-lower-to-llvm{emit-c-interface}, written out (same .ll up to
# the numbering of constant globals, checked with bench/normalize_ll.py).
FRONT="convert-dq-to-linalg, func.func(tosa-optional-decompositions), func.func(canonicalize), func.func(tosa-infer-shapes), func.func(tosa-make-broadcastable), func.func(tosa-to-linalg-named), func.func(canonicalize), func.func(tosa-layerwise-constant-fold), func.func(tosa-make-broadcastable), tosa-validate, func.func(tosa-to-linalg), func.func(tosa-to-arith), func.func(tosa-to-tensor), canonicalize, func.func(linalg-fuse-elementwise-ops)"
BUF="one-shot-bufferize{bufferize-function-boundaries=true function-boundary-type-conversion=identity-layout-map}, expand-realloc{emit-deallocs=false}, canonicalize, ownership-based-buffer-deallocation, canonicalize, buffer-deallocation-simplification, bufferization-lower-deallocations, cse, canonicalize, convert-bufferization-to-memref, func.func(llvm-request-c-wrappers)"
LOOPS="func.func(convert-linalg-to-loops)"
TOLLVM="lower-affine, convert-scf-to-cf, expand-strided-metadata, lower-affine, finalize-memref-to-llvm, convert-math-to-llvm, convert-arith-to-llvm, convert-index-to-llvm, convert-func-to-llvm, convert-cf-to-llvm, reconcile-unrealized-casts, canonicalize"
# With vector ops: vector-to-scf before the loops go to cf, vector/ub to LLVM.
TOLLVM_V="lower-affine, convert-scf-to-cf, expand-strided-metadata, lower-affine, convert-vector-to-llvm, finalize-memref-to-llvm, convert-math-to-llvm, convert-arith-to-llvm, convert-index-to-llvm, convert-ub-to-llvm, convert-func-to-llvm, convert-cf-to-llvm, reconcile-unrealized-casts, canonicalize"
GEN="func.func(linalg-generalize-named-ops)"
FRONT_HWCF=$(echo "$FRONT" | sed 's/tosa-to-linalg-named)/tosa-to-linalg-named{prefer-conv2d-kernel-layout-hwcf=true})/')
vecpipe() { echo "transform-preload-library{transform-library-paths=$1}, transform-interpreter{disable-expensive-checks=true}, canonicalize, func.func(loop-invariant-subset-hoisting), canonicalize, $BUF, $LOOPS, func.func(convert-vector-to-scf), $TOLLVM_V"; }

build() {
  local v=$1 t0=$(date +%s.%N)
  case $v in
    base) build/bin/dq-compile $W/train.mlir -o $W/base >/dev/null ;;
    base_O3) build/bin/dq-compile $W/train.mlir -o $W/base_O3 -O3 >/dev/null ;;
    split_base) bench/build_split.sh $W/train.mlir $W/base $W/$v "$FRONT" "$BUF, $LOOPS, $TOLLVM" ;;
    interchange) bench/build_split.sh $W/train.mlir $W/base $W/$v "$FRONT, $GEN" "$BUF, $LOOPS, $TOLLVM" bench/interchange_generics.py ;;
    vec) DQ_TRANSFORM=$W/$v.transform.mlir bench/build_split.sh $W/train.mlir $W/base $W/$v "$FRONT, $GEN" "$(vecpipe $W/$v.transform.mlir)" bench/vec_filter.sh ;;
    vec_all) DQ_MARK_FLAGS=--all DQ_TRANSFORM=$W/$v.transform.mlir bench/build_split.sh $W/train.mlir $W/base $W/$v "$FRONT, $GEN" "$(vecpipe $W/$v.transform.mlir)" bench/vec_filter.sh ;;
    vec_all_hwcf) DQ_MARK_FLAGS=--all DQ_TRANSFORM=$W/$v.transform.mlir bench/build_split.sh $W/train.mlir $W/base $W/$v "$FRONT_HWCF, $GEN" "$(vecpipe $W/$v.transform.mlir)" bench/vec_filter.sh ;;
    vec_ew_hwcf) DQ_MARK_FLAGS="--all --elementwise" DQ_TRANSFORM=$W/$v.transform.mlir bench/build_split.sh $W/train.mlir $W/base $W/$v "$FRONT_HWCF, $GEN" "$(vecpipe $W/$v.transform.mlir)" bench/vec_filter.sh ;;
  esac 2>$W/$v.build.log
  printf 'built %-14s in %5.1f s\n' $v $(echo "$(date +%s.%N) - $t0" | bc)
}
[ -f $W/base.so ] || build base
prefixes=""
for v in $variants; do [ $v = base ] || build $v; prefixes="$prefixes $W/$v"; done
echo "== $arch batch $batch: $steps steps x $rounds rounds each, default malloc"
$W/step_timer -n $steps -r $rounds $prefixes
echo "== same, GLIBC_TUNABLES: no mmap for big blocks, no trimming"
GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295 \
  $W/step_timer -n $steps -r $rounds $prefixes
