#!/bin/bash
# Builds a dq model in two halves so the linalg-on-tensors IR can be edited
# (or snapshotted for profiling) in between, then links it like dq-compile.
#
#   bench/build_split.sh TRAIN.mlir REF_PREFIX OUT_PREFIX "FRONT" "REST" [FILTER] [OPTFLAGS]
#
# FRONT: pipeline up to linalg on tensors; REST: bufferization .. LLVM dialect
# (dq-pack-entry-points is appended); FILTER: command reading the tensor-level
# .mlir on stdin... given as a file argument, writing stdout ("cat" = none);
# OPTFLAGS: flags for opt (default -O2). REF_PREFIX: a dq-compile output of
# the same module whose manifest and initial state are copied (the state does
# not depend on the pipeline). With DQ_PROFILE=1 the IR after FRONT+FILTER is
# snapshotted (OUT.snap.mlir) and line tables into it are emitted, for
# bench/attribute_profile.py.
set -e
B=/usr/lib/llvm-22/bin; R=$(cd "$(dirname "$0")/.." && pwd)
in=$1; ref=$2; out=$3; front=$4; rest=$5; filter=${6:-cat}; optflags=${7:--O2}
$R/build/bin/dq-opt "$in" --pass-pipeline="builtin.module($front)" -o $out.lin0.mlir
$filter $out.lin0.mlir > $out.lin.mlir
snap=""; dbg=""; pdi=""
if [ "${DQ_PROFILE:-0}" = 1 ]; then
  snap="snapshot-op-locations{filename=$out.snap.mlir}, "
  dbg=", ensure-debug-info-scope-on-llvm-func{emission-kind=LineTablesOnly}"
  pdi=--mlir-print-debuginfo
fi
$R/build/bin/dq-opt $out.lin.mlir $pdi --pass-pipeline="builtin.module(${snap}$rest, dq-pack-entry-points$dbg)" -o $out.llvm.mlir
$B/mlir-translate --mlir-to-llvmir $out.llvm.mlir -o $out.ll
$B/opt $optflags -mcpu=native $out.ll -o $out.bc
$B/llc -O2 -mcpu=native -filetype=obj --relocation-model=pic $out.bc -o $out.o
cc -shared -o $out.so $out.o $R/build/lib/libDQModelSupport.a -lm -Wl,--no-undefined
cp $ref.manifest.json $out.manifest.json; cp $ref.state $out.state
rm -f $out.o $out.bc $out.lin0.mlir
