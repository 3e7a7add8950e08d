// RUN: dq-opt %s --gpu-kernel-outlining --dq-gpu-device-buffers | FileCheck %s

// The CPU calling convention at the boundary, device memory inside: the
// argument is copied to the device on entry, the allocation and the
// constants live on the device (a splat is set there, not copied), the
// result is copied into a fresh host buffer (allocated first, so nothing
// waits for queued work before it), and every device buffer is freed before
// returning.

// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[ARG:.*]]: memref<8xf32>) -> memref<8xf32>
// CHECK: %[[HOST_RESULT:.*]] = memref.alloc() : memref<8xf32>
// CHECK: %[[DEVICE_ARG:.*]] = gpu.alloc () : memref<8xf32>
// CHECK: gpu.memcpy %[[DEVICE_ARG]], %[[ARG]]
// CHECK: %[[GLOBAL:.*]] = memref.get_global @bias
// CHECK: %[[DEVICE_GLOBAL:.*]] = gpu.alloc () : memref<8xf32>
// CHECK: gpu.memcpy %[[DEVICE_GLOBAL]], %[[GLOBAL]]
// CHECK: %[[DEVICE_OUT:.*]] = gpu.alloc () : memref<8xf32>
// CHECK: %[[DEVICE_ZEROS:.*]] = gpu.alloc () : memref<1024xf32>
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: gpu.memset %[[DEVICE_ZEROS]], %[[ZERO]]
// CHECK: gpu.launch_func @step_kernel::@step_kernel {{.*}} args(%[[DEVICE_ARG]] : memref<8xf32>, %[[DEVICE_GLOBAL]] : memref<8xf32>, %[[DEVICE_ZEROS]] : memref<1024xf32>, %[[DEVICE_OUT]] : memref<8xf32>
// CHECK: gpu.memcpy %[[HOST_RESULT]], %[[DEVICE_OUT]]
// CHECK-DAG: gpu.dealloc %[[DEVICE_ARG]]
// CHECK-DAG: gpu.dealloc %[[DEVICE_GLOBAL]]
// CHECK-DAG: gpu.dealloc %[[DEVICE_OUT]]
// CHECK-DAG: gpu.dealloc %[[DEVICE_ZEROS]]
// CHECK: return %[[HOST_RESULT]]
module attributes {gpu.container_module} {
  memref.global "private" constant @bias : memref<8xf32> = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>
  memref.global "private" constant @zeros : memref<1024xf32> = dense<0.0>
  func.func @step(%x: memref<8xf32>) -> memref<8xf32> {
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %bias = memref.get_global @bias : memref<8xf32>
    %out = memref.alloc() {alignment = 64 : i64} : memref<8xf32>
    %zeros = memref.get_global @zeros : memref<1024xf32>
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
      %a = memref.load %x[%tx] : memref<8xf32>
      %b = memref.load %bias[%tx] : memref<8xf32>
      %z = memref.load %zeros[%tx] : memref<1024xf32>
      %ab = arith.addf %a, %b : f32
      %s = arith.addf %ab, %z : f32
      memref.store %s, %out[%tx] : memref<8xf32>
      gpu.terminator
    }
    return %out : memref<8xf32>
  }
}
