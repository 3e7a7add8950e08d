# data-parallel.test: one weight/activation scheme pair, P processes of
# batch 64 / P under mpirun against one process of batch 64 built with
# replica-batch=64/P, three steps; the states and every step's loss and
# accuracy must be the same bits. With "calibrate" after P, the runs first
# calibrate the activation quantizers on 2 batches (@calibrate).
# usage: data-parallel-check.sh BIN DIR PYTHON CLOSE_STATES W_SCHEME A_SCHEME P [calibrate]
set -euo pipefail
export PATH="$1:$PATH"
dir=$2 python=$3 close=$4 w=$5 a=$6 processes=$7
graph="data-parallel=true" calibrate=()
if [ "${8:-}" = calibrate ]; then
  graph="$graph calibration=true" calibrate=(--calibrate 2)
fi
share=$((64 / processes))
name=$dir/$w-$a-$processes
quantize="w-bits=2 a-bits=2 w-scheme=$w a-scheme=$a"
dq-opt "$dir/m$share.mlir" --dq-quantize="$quantize" \
  --dq-build-training-graph="$graph" -o "$name-share.train.mlir"
dq-opt "$dir/m64.mlir" --dq-quantize="$quantize" \
  --dq-build-training-graph="$graph replica-batch=$share" \
  -o "$name-whole.train.mlir"
for model in share whole; do
  dq-compile "$name-$model.train.mlir" -o "$name-$model" --no-cache > /dev/null
done
common=(--epochs 1 --limit-train 256 --limit-test 128 --no-augment
        --no-progress --metrics-every 1 --stop-after-steps 3 "${calibrate[@]}")
# --stop-after-steps ends as an interruption: exit status 130.
status=0
env OMP_NUM_THREADS=1 dq-train "$name-whole" "${common[@]}" --out "$name-1p" \
  > "$name-1p.log" 2>&1 || status=$?
[ "$status" = 130 ] || { cat "$name-1p.log"; exit 1; }
status=0
mpirun -x OMP_NUM_THREADS=1 -np "$processes" dq-train "$name-share" \
  "${common[@]}" --out "$name-np" > "$name-np.log" 2>&1 || status=$?
[ "$status" = 130 ] || { cat "$name-np.log"; exit 1; }
"$python" "$close" "$name-np/checkpoint.state" "$name-1p/checkpoint.state" \
  --metrics "$name-np/metrics.jsonl" "$name-1p/metrics.jsonl"
