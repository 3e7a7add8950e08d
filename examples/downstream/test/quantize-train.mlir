// One pipeline mixing upstream passes, dq's and this project's own on a
// small TOSA model (python/tools/make_example_model.py --arch tiny):
// quantize every layer to 2 bits, count them, build the training graph.

// RUN: downstream-opt %S/Inputs/tiny_model.mlir --pass-pipeline='builtin.module(canonicalize, dq-quantize{w-bits=2 a-bits=2 keep-first-last=false}, downstream-count-quantized-layers, dq-build-training-graph, func.func(cse))' | FileCheck %s

// CHECK: module attributes {downstream.quantized_layers = 2 : i64}
// CHECK-DAG: func.func @init_state()
// CHECK-DAG: func.func @train_step(
// CHECK-DAG: dq.softmax_cross_entropy
// CHECK-DAG: dq.fit_levels

// The result lowers with dq's CPU pipeline.
// RUN: downstream-opt %S/Inputs/tiny_model.mlir --pass-pipeline='builtin.module(dq-quantize{keep-first-last=false}, dq-lower-to-llvm)' | FileCheck %s --check-prefix=LLVM
// LLVM: llvm.func @model(
