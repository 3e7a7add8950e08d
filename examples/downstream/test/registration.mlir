// downstream-opt knows dq's dialect, passes and pipelines next to
// upstream's, and its own pass.

// RUN: downstream-opt --show-dialects | FileCheck %s --check-prefix=DIALECTS
// DIALECTS: Available Dialects: {{.*}},dq,{{.*}},tosa,

// RUN: downstream-opt --help | FileCheck %s --check-prefix=PASSES
// PASSES-DAG: --canonicalize
// PASSES-DAG: --dq-build-training-graph
// PASSES-DAG: --dq-lower-to-llvm
// PASSES-DAG: --dq-quantize
// PASSES-DAG: --downstream-count-quantized-layers
