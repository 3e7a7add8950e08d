#!/usr/bin/env bash
# Runs one fuzz target of the fuzz build for a while (docs/Fuzzing.md):
#
#   fuzz/run-fuzzer.sh TARGET SECONDS [WORKDIR]
#
# TARGET: state-file, export, manifest, dataset, compiler, torch-import.
# WORKDIR (default fuzz-work/) keeps seeds/, TARGET/corpus (grows from run to
# run), TARGET/artifacts (crash-*, leak-*, timeout-*, oom-*) and TARGET.log.
# Fork mode with -ignore_crashes etc.: a finding is saved and fuzzing goes
# on. Niced: the machine is shared. DQ_FUZZ_BIN overrides build-fuzz/bin.
set -euo pipefail
target=${1:?target}
seconds=${2:?seconds}
work=$(mkdir -p "${3:-fuzz-work}" && cd "${3:-fuzz-work}" && pwd)
src=$(cd "$(dirname "$0")" && pwd)
bin=${DQ_FUZZ_BIN:-$src/../build-fuzz/bin}
python=/usr/bin/python3

mkdir -p "$work/$target/corpus" "$work/$target/artifacts" "$work/seeds"
options=(-max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 -print_funcs=0)
case $target in
  state-file|export|manifest|dataset)
    "$bin/dq-fuzz-seeds" "$work/seeds/runtime"
    seeds=$work/seeds/runtime/$target
    options+=(-max_len=4096 -timeout=10)
    ;;
  compiler)
    $python "$src/make_seeds.py" mlir "$work/seeds/compiler" --with-examples
    seeds=$work/seeds/compiler
    options+=(-max_len=131072 -timeout=60 -dict="$src/mlir.dict")
    ;;
  torch-import)
    [[ -d $work/seeds/torch ]] || $python "$src/make_seeds.py" torch "$work/seeds/torch"
    seeds=$work/seeds/torch
    options+=(-max_len=300000 -timeout=60 -rss_limit_mb=3072)
    export OMP_NUM_THREADS=1 LSAN_OPTIONS=suppressions=$src/lsan-torch.supp
    ;;
  *) echo "run-fuzzer.sh: unknown target '$target'" >&2; exit 2 ;;
esac
export UBSAN_OPTIONS=print_stacktrace=1
cd "$work/$target"
exec nice -n 10 "$bin/dq-fuzz-$target" "${options[@]}" -fork=1 \
  -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
  -artifact_prefix=artifacts/ corpus "$seeds" > "$work/$target.log" 2>&1
