# data-parallel.test: kill rank 1 of a 2-process run once a checkpoint
# exists; mpirun must stop the run naming the rank, and the checkpoint must
# load (a 2-process resume takes one more step).
# usage: kill-rank.sh BIN DIR MODEL
set -uo pipefail
export PATH="$1:$PATH"
dir=$2 model=$3
# mpirun's settings (root, shared memory, oversubscription) come from
# lit's environment (test/lit.cfg.py).
out=$dir/killed
rm -rf "$out"
common=(--epochs 50 --limit-train 640 --limit-test 64 --no-progress
        --no-augment --out "$out")
mpirun -x OMP_NUM_THREADS=1 -np 2 dq-train "$model" "${common[@]}" \
  > "$dir/killed.log" 2>&1 &
launcher=$!
for _ in $(seq 600); do
  [ -e "$out/checkpoint.state" ] && break
  sleep 0.1
done
[ -e "$out/checkpoint.state" ] || { echo "no checkpoint appeared"; exit 1; }
killed=
for pid in $(pgrep -f "dq-train $model"); do
  if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null |
      grep -qx OMPI_COMM_WORLD_RANK=1; then
    kill -9 "$pid" && killed=$pid
  fi
done
[ -n "$killed" ] || { echo "rank 1 not found"; exit 1; }
wait "$launcher"
echo "mpirun exit status $?"
cat "$dir/killed.log"
mpirun -x OMP_NUM_THREADS=1 -np 2 dq-train "$model" "${common[@]}" \
  --resume "$out/checkpoint.state" --stop-after-steps 1 2>&1
echo "resume exit status $?"
