// RUN: not dq-opt %s --dq-build-training-graph="loss=mse" 2>&1 | FileCheck %s --check-prefix=LOSS
// RUN: not dq-opt %s --dq-build-training-graph="func=missing" 2>&1 | FileCheck %s --check-prefix=FUNC
// LOSS: error: dq-build-training-graph: option loss must be softmax-cross-entropy, got 'mse'
// FUNC: error: dq-build-training-graph: no function named 'missing' with a body (set func=<name>)
func.func @model(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  return %x : tensor<2x3xf32>
}
