// RUN: not dq-opt %s --dq-build-training-graph="loss=mse" 2>&1 | FileCheck %s --check-prefix=LOSS
// RUN: not dq-opt %s --dq-build-training-graph="func=missing" 2>&1 | FileCheck %s --check-prefix=FUNC
// LOSS: error: dq-build-training-graph: option loss must be softmax-cross-entropy, got 'mse'
// FUNC: error: dq-build-training-graph: no function named 'missing' with a body (set func=<name>)
// Errors about options do not print the module.
// LOSS-NOT: see current operation
// FUNC-NOT: see current operation

// Every numeric option is range-checked, NaN and infinities refused.
// RUN: not dq-opt %s --dq-build-training-graph="momentum=-1" 2>&1 | FileCheck %s --check-prefix=MOM
// RUN: not dq-opt %s --dq-build-training-graph="momentum=nan" 2>&1 | FileCheck %s --check-prefix=MOMNAN
// RUN: not dq-opt %s --dq-build-training-graph="momentum=2" 2>&1 | FileCheck %s --check-prefix=MOM2
// RUN: not dq-opt %s --dq-build-training-graph="weight-decay=-1" 2>&1 | FileCheck %s --check-prefix=WD
// RUN: not dq-opt %s --dq-build-training-graph="weight-decay=inf" 2>&1 | FileCheck %s --check-prefix=WDINF
// RUN: not dq-opt %s --dq-build-training-graph="act-momentum=1.5" 2>&1 | FileCheck %s --check-prefix=ACT
// RUN: not dq-opt %s --dq-build-training-graph="bn-momentum=2" 2>&1 | FileCheck %s --check-prefix=BN
// RUN: not dq-opt %s --dq-build-training-graph="lqnets-basis-momentum=7" 2>&1 | FileCheck %s --check-prefix=LQ
// RUN: not dq-opt %s --dq-build-training-graph="ridge=0" 2>&1 | FileCheck %s --check-prefix=RIDGE
// RUN: not dq-opt %s --dq-build-training-graph="ridge=-inf" 2>&1 | FileCheck %s --check-prefix=RIDGEINF
// RUN: not dq-opt %s --dq-build-training-graph="trim-epsilon=-1e-8" 2>&1 | FileCheck %s --check-prefix=EPS
// RUN: dq-opt %s --dq-build-training-graph="momentum=0 weight-decay=0 act-momentum=1 bn-momentum=0 lqnets-basis-momentum=1" -o /dev/null
// MOM: error: dq-build-training-graph: option momentum must be in [0, 1], got -1
// MOM-NOT: see current operation
// MOMNAN: option momentum must be in [0, 1], got nan
// MOM2: option momentum must be in [0, 1], got 2
// WD: option weight-decay must be a finite number >= 0, got -1
// WDINF: option weight-decay must be a finite number >= 0, got inf
// ACT: option act-momentum must be in [0, 1], got 1.5
// BN: option bn-momentum must be in [0, 1], got 2
// LQ: option lqnets-basis-momentum must be in [0, 1], got 7
// RIDGE: option ridge must be a finite number > 0, got 0
// RIDGEINF: option ridge must be a finite number > 0, got -inf
// EPS: option trim-epsilon must be a finite number > 0, got -1e-08

// The optimizer and Adam's options.
// RUN: not dq-opt %s --dq-build-training-graph="optimizer=rmsprop" 2>&1 | FileCheck %s --check-prefix=OPT
// RUN: not dq-opt %s --dq-build-training-graph="optimizer=adam beta1=1" 2>&1 | FileCheck %s --check-prefix=BETA1
// RUN: not dq-opt %s --dq-build-training-graph="optimizer=adamw beta2=-0.5" 2>&1 | FileCheck %s --check-prefix=BETA2
// RUN: not dq-opt %s --dq-build-training-graph="optimizer=adam epsilon=0" 2>&1 | FileCheck %s --check-prefix=ADAMEPS
// RUN: dq-opt %s --dq-build-training-graph="optimizer=adamw beta1=0 beta2=0 epsilon=1e-12" -o /dev/null
// OPT: error: dq-build-training-graph: option optimizer must be sgd, adam or adamw, got 'rmsprop'
// OPT-NOT: see current operation
// BETA1: option beta1 must be in [0, 1), got 1
// BETA2: option beta2 must be in [0, 1), got -0.5
// ADAMEPS: option epsilon must be a finite number > 0, got 0
func.func @model(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  return %x : tensor<2x3xf32>
}
