// The installed DQPlugin.so in upstream mlir-opt: the install keeps it
// loadable (its run path finds libMLIR where dq was linked against it).

// REQUIRES: mlir-opt-plugin
// RUN: mlir-opt --load-dialect-plugin=%dq_plugin --load-pass-plugin=%dq_plugin %S/Inputs/tiny_model.mlir --pass-pipeline='builtin.module(dq-quantize{keep-first-last=false}, dq-build-training-graph)' | FileCheck %s

// CHECK: func.func @train_step(
// CHECK: dq.decode_weights
