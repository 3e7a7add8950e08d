#!/usr/bin/env bash
# make demo: quantize the example model W2A2, show what happened to each
# layer, check the IR round-trips, compile the fp32 and the quantized model
# to native code and run both on a Fashion-MNIST test image.
set -euo pipefail
cd "$(dirname "$0")/.."

DQ_OPT=${1:-build/bin/dq-opt}
LLVM_DIR=${LLVM_DIR:-/usr/lib/llvm-22}
RUNNER="$LLVM_DIR/bin/mlir-runner -e main -entry-point-result=void \
  -shared-libs=$LLVM_DIR/lib/libmlir_runner_utils.so,$LLVM_DIR/lib/libmlir_c_runner_utils.so"
MODEL=examples/small_resnet.mlir
DATA=${DQ_DATA:-/usr/share/datasets/fashion-mnist}
IMAGE_INDEX=${IMAGE_INDEX:-0}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for f in t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  [[ -r $DATA/$f ]] || { echo "demo: missing $DATA/$f (install dataset-fashion-mnist or set DQ_DATA)" >&2; exit 1; }
done

echo "== 1. quantize $MODEL (w-bits=2 a-bits=2, dq schemes)"
"$DQ_OPT" "$MODEL" --dq-quantize="w-bits=2 a-bits=2 summary" -o "$out/quantized.mlir"
echo "   dq ops in the result: $(grep -c 'dq.decode_weights' "$out/quantized.mlir") weight decoders," \
     "$(grep -c 'dq.quantize_act' "$out/quantized.mlir") activation quantizers"
"$DQ_OPT" "$out/quantized.mlir" -o "$out/roundtrip.mlir"
echo "   the quantized IR parses, verifies and round-trips"
echo "   one quantized layer:"
grep -m1 -o 'dq.decode_weights.*' "$out/quantized.mlir" | cut -c1-150 | sed 's/^/     /'

echo "== 2. compile fp32 and W2A2 to native code and run test image #$IMAGE_INDEX"
# Image IMAGE_INDEX of the IDX file (16-byte header), normalized with the
# protocol's mean 0.2860 / std 0.3530, as an MLIR constant.
zcat "$DATA/t10k-images-idx3-ubyte.gz" > "$out/images"
zcat "$DATA/t10k-labels-idx1-ubyte.gz" > "$out/labels"
pixels=$(od -An -v -tu1 -j $((16 + 784 * IMAGE_INDEX)) -N 784 "$out/images" \
  | awk '{for (i = 1; i <= NF; i++) printf "%s%.6f", (n++ ? ", " : ""), ($i / 255 - 0.2860) / 0.3530}')
label=$(od -An -tu1 -j $((8 + IMAGE_INDEX)) -N 1 "$out/labels" | tr -d ' ')
cat > "$out/driver.mlir" <<MLIR
func.func private @printMemrefF32(memref<*xf32>)
func.func @main() {
  %flat = arith.constant dense<[$pixels]> : tensor<784xf32>
  %x = tensor.expand_shape %flat [[0, 1, 2, 3]] output_shape [1, 28, 28, 1] : tensor<784xf32> into tensor<1x28x28x1xf32>
  %y = call @model(%x) : (tensor<1x28x28x1xf32>) -> tensor<1x10xf32>
  %m = bufferization.to_buffer %y : tensor<1x10xf32> to memref<1x10xf32>
  %u = memref.cast %m : memref<1x10xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}
MLIR
cat "$MODEL" "$out/driver.mlir" > "$out/program.mlir"
logits() { grep -o '\[\[.*\]\]' | tr -d '[] '; }
fp32=$("$DQ_OPT" "$out/program.mlir" --dq-lower-to-llvm | $RUNNER | logits)
w2a2=$("$DQ_OPT" "$out/program.mlir" --dq-quantize="w-bits=2 a-bits=2" --dq-lower-to-llvm | $RUNNER | logits)
argmax() { tr ',' '\n' | awk 'NR == 1 || $1 > best {best = $1; arg = NR - 1} END {print arg}'; }
echo "   fp32 logits: $fp32"
echo "   W2A2 logits: $w2a2"
echo "   (the example's weights are random: the classes mean nothing until dq trains it)"
echo "== demo: W2A2 quantized and compiled; fp32 class $(echo "$fp32" | argmax)," \
     "W2A2 class $(echo "$w2a2" | argmax), image label $label"
