// RUN: dq-opt %s --dq-quantize="keep-first-last=false" --dq-lower-to-llvm | FileCheck %s

// dq-lower-to-llvm takes a quantized TOSA model all the way to the LLVM
// dialect: no dq, tosa, linalg, tensor or memref ops remain.

// CHECK: llvm.func @model
// CHECK-NOT: dq.
// CHECK-NOT: tosa.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK-NOT: memref.
// CHECK: llvm.return
func.func @model(%x: tensor<1x4x4x2xf32>) -> tensor<1x4x4x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %w = "tosa.const"() <{values = dense<0.25> : tensor<3x3x3x2xf32>}> : () -> tensor<3x3x3x2xf32>
  %b = "tosa.const"() <{values = dense<0.0> : tensor<3xf32>}> : () -> tensor<3xf32>
  %y = tosa.conv2d %x, %w, %b, %zp, %zp {acc_type = f32, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, stride = array<i64: 1, 1>} : (tensor<1x4x4x2xf32>, tensor<3x3x3x2xf32>, tensor<3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x4x3xf32>
  %r = tosa.clamp %y {min_val = 0.0 : f32, max_val = 3.4e38 : f32} : (tensor<1x4x4x3xf32>) -> tensor<1x4x4x3xf32>
  return %r : tensor<1x4x4x3xf32>
}

// RUN: dq-opt %s --dq-quantize="keep-first-last=false" --dq-lower-to-llvm="emit-c-interface" | FileCheck %s --check-prefix=CIFACE
// CIFACE: llvm.func @_mlir_ciface_model(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)

// With `parallel`, large loops become OpenMP work-sharing loops.
// RUN: dq-opt %s --dq-quantize="keep-first-last=false" --dq-lower-to-llvm="parallel min-parallel-iterations=16" | FileCheck %s --check-prefix=PAR
// PAR: llvm.func @model
// PAR: omp.parallel
// PAR: omp.wsloop
// PAR: omp.loop_nest
// PAR-NOT: scf.
// PAR-NOT: memref.alloca_scope
