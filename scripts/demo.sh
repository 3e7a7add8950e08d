#!/usr/bin/env bash
# make demo: the main job. Quantize the checked-in example model (weights
# and activations to W_BITS/A_BITS bits with the dq schemes), build its
# training step, compile it to native code, and train it on Fashion-MNIST on
# this CPU. Ends with a one-line summary including the test accuracy.
#
# Options (environment or make variables): MODEL, EPOCHS, W_BITS, A_BITS,
# W_SCHEME (dq | dq-lean | lqnets), A_SCHEME (dq | lqnets), LR, SEED,
# DQ_DATA (dataset directory), DEMO_OUT (output directory).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-build/bin}
MODEL=${MODEL:-examples/resnet8_b128.mlir}
EPOCHS=${EPOCHS:-4}
W_BITS=${W_BITS:-2}
A_BITS=${A_BITS:-2}
W_SCHEME=${W_SCHEME:-dq}
A_SCHEME=${A_SCHEME:-dq}
LR=${LR:-0.1}
SEED=${SEED:-0}
DATA=${DQ_DATA:-/usr/share/datasets/fashion-mnist}
OUT=${DEMO_OUT:-build/demo}

for f in train-images-idx3-ubyte.gz t10k-images-idx3-ubyte.gz; do
  [[ -r $DATA/$f ]] || { echo "demo: missing $DATA/$f (install dataset-fashion-mnist or set DQ_DATA)" >&2; exit 1; }
done
mkdir -p "$OUT"
start=$(date +%s)

echo "== 1. quantize $MODEL: W${W_BITS}A${A_BITS}, weights $W_SCHEME, activations $A_SCHEME"
"$BIN/dq-opt" "$MODEL" \
  --dq-quantize="w-bits=$W_BITS a-bits=$A_BITS w-scheme=$W_SCHEME a-scheme=$A_SCHEME summary" \
  --dq-build-training-graph -o "$OUT/train.mlir"

echo "== 2. compile the training step (init_state, train_step, predict) to native code"
"$BIN/dq-compile" "$OUT/train.mlir" -o "$OUT/model"
compiled=$(date +%s)

echo "== 3. train on Fashion-MNIST ($EPOCHS epoch(s), batch 128, cosine schedule from lr $LR)"
rm -f "$OUT/run/metrics.jsonl"
"$BIN/dq-train" "$OUT/model" --epochs "$EPOCHS" --lr "$LR" --seed "$SEED" \
  --data "$DATA" --out "$OUT/run" | tee "$OUT/train.log"
done_at=$(date +%s)

accuracy=$(grep -o 'test accuracy [0-9.]*%' "$OUT/train.log" | tail -n 1 | cut -d' ' -f3)

echo "== 4. the trained model in bits: bit-serial inference library (weights and activations as packed bit-planes)"
"$BIN/dq-opt" "$OUT/train.mlir" \
  --dq-build-inference-graph="state=$OUT/run/final.state" -o "$OUT/infer.mlir"
"$BIN/dq-compile" "$OUT/infer.mlir" -o "$OUT/infer" > /dev/null
# The same trained model with decoded float weights, for its size.
"$BIN/dq-opt" "$OUT/train.mlir" \
  --dq-build-inference-graph="state=$OUT/run/final.state bit-serial=false" \
  -o "$OUT/infer-float.mlir"
"$BIN/dq-compile" "$OUT/infer-float.mlir" -o "$OUT/infer-float" > /dev/null
bits_accuracy=$("$BIN/dq-run" "$OUT/infer" --data "$DATA" | grep -o 'accuracy [0-9.]*%' | tail -n 1 | cut -d' ' -f2)
median() { grep -o '"median_ms": *[0-9.e+-]*' | grep -o '[0-9.e+-]*$' | xargs printf "%.1f"; }
bits_ms=$("$BIN/dq-run" "$OUT/infer" --bench --json | median)
decoded_ms=$("$BIN/dq-run" "$OUT/model" --state "$OUT/run/final.state" --bench --json | median)
bits_size=$(stat -c %s "$OUT/infer.so")
float_size=$(stat -c %s "$OUT/infer-float.so")
echo "bit-serial model: test accuracy $bits_accuracy (decoded predict: $accuracy), library $((bits_size / 1024)) KiB (float weights: $((float_size / 1024)) KiB), predict of a batch of 128 $bits_ms ms (decoded predict $decoded_ms ms)"
echo "demo: $(basename "$MODEL" .mlir) W${W_BITS}A${A_BITS} ($W_SCHEME/$A_SCHEME), $EPOCHS epoch$([[ $EPOCHS == 1 ]] || echo s) on Fashion-MNIST: test accuracy $accuracy (bit-serial $bits_accuracy); compile $((compiled - start)) s, train $((done_at - compiled)) s; trained state $OUT/run/final.state, bit-serial model $OUT/infer.so"
