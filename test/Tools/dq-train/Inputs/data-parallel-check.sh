# data-parallel.test: one weight/activation scheme pair, 2 x 32 under
# mpirun against 1 x 64, one step (see the test for the tolerance).
# usage: data-parallel-check.sh BIN DIR PYTHON CLOSE_STATES W_SCHEME A_SCHEME
set -euo pipefail
export PATH="$1:$PATH"
dir=$2 python=$3 close=$4 w=$5 a=$6
name=$dir/$w-$a
for batch in 32 64; do
  dq-opt "$dir/m$batch.mlir" --dq-quantize="w-bits=2 a-bits=2 w-scheme=$w a-scheme=$a" \
    --dq-build-training-graph="data-parallel=true" -o "$name-$batch.train.mlir"
  dq-compile "$name-$batch.train.mlir" -o "$name-$batch" --no-cache > /dev/null
done
common=(--epochs 1 --limit-train 192 --limit-test 128 --no-augment
        --no-progress --metrics-every 1 --stop-after-steps 1)
# --stop-after-steps ends as an interruption: exit status 130.
status=0
env OMP_NUM_THREADS=1 dq-train "$name-64" "${common[@]}" --out "$name-1p" \
  > "$name-1p.log" 2>&1 || status=$?
[ "$status" = 130 ] || { cat "$name-1p.log"; exit 1; }
status=0
mpirun -x OMP_NUM_THREADS=1 -np 2 dq-train "$name-32" "${common[@]}" \
  --out "$name-2p" > "$name-2p.log" 2>&1 || status=$?
[ "$status" = 130 ] || { cat "$name-2p.log"; exit 1; }
"$python" "$close" \
  "$name-2p/checkpoint.state" "$name-1p/checkpoint.state" --tol 1e-2 \
  --skip '(conv[0-9]*|downsample\.0)\.bias' \
  --metrics "$name-2p/metrics.jsonl" "$name-1p/metrics.jsonl"
