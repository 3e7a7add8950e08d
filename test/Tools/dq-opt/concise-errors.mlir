// Option errors and missing functions are one located line each: never the
// module (or a function) printed in generic form as a note (issue 21).
// RUN: not dq-opt %s --dq-quantize="w-bits=9" 2>&1 | FileCheck %s --check-prefix=WBITS --implicit-check-not="see current operation" --implicit-check-not=builtin.module
// RUN: not dq-opt %s --dq-quantize="a-bits=0" 2>&1 | FileCheck %s --check-prefix=ABITS --implicit-check-not="see current operation" --implicit-check-not=builtin.module
// RUN: not dq-opt %s --dq-quantize="w-scheme=int" 2>&1 | FileCheck %s --check-prefix=SCHEME --implicit-check-not="see current operation" --implicit-check-not=builtin.module
// RUN: not dq-opt %s --dq-build-training-graph="func=missing" 2>&1 | FileCheck %s --check-prefix=TRAIN --implicit-check-not="see current operation" --implicit-check-not=builtin.module
// RUN: not dq-opt %s --dq-build-training-graph="momentum=2" 2>&1 | FileCheck %s --check-prefix=MOMENTUM --implicit-check-not="see current operation" --implicit-check-not=builtin.module
// RUN: not dq-opt %s --dq-differentiate="func=missing" 2>&1 | FileCheck %s --check-prefix=DIFF --implicit-check-not="see current operation" --implicit-check-not=builtin.module
// RUN: not dq-opt %s --dq-build-inference-graph 2>&1 | FileCheck %s --check-prefix=INFER --implicit-check-not="see current operation" --implicit-check-not=builtin.module

// WBITS: error: dq-quantize: option w-bits must be in [1, 8], got 9
// ABITS: error: dq-quantize: option a-bits must be in [1, 8], got 0
// SCHEME: error: dq-quantize: option w-scheme must be dq, dq-lean or lqnets, got 'int'
// TRAIN: error: dq-build-training-graph: no function named 'missing' with a body (set func=<name>)
// MOMENTUM: error: dq-build-training-graph: option momentum must be
// DIFF: error: dq-differentiate: no function named 'missing' with a body (set func=<name>)
// INFER: error: dq-build-inference-graph needs the module of --dq-build-training-graph (@predict and @init_state)

func.func @model(%x: tensor<1x4x4x1xf32>) -> tensor<1x4x4x1xf32> {
  return %x : tensor<1x4x4x1xf32>
}
