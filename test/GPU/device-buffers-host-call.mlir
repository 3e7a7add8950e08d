// RUN: dq-opt %s --split-input-file --dq-gpu-device-buffers --verify-diagnostics | FileCheck %s
// RUN: dq-opt %s --split-input-file --dq-gpu-device-buffers --gpu-async-region --verify-diagnostics | FileCheck %s --check-prefix=ASYNC

// A host function's call (dq.all_reduce's collective on CPU memory) gets
// host copies of its device buffers: copied in before the call, back after
// it, the host buffer allocated at the entry and freed on return.

// CHECK-LABEL: func.func @step(
// CHECK: %[[HOST:.*]] = memref.alloc() : memref<8xf32>
// CHECK: %[[DEVICE:.*]] = gpu.alloc () : memref<8xf32>
// CHECK: gpu.memcpy %[[HOST]], %[[DEVICE]] : memref<8xf32>, memref<8xf32>
// CHECK: %[[VIEW:.*]] = memref.cast %[[HOST]] : memref<8xf32> to memref<?xf32>
// CHECK: call @dq_model_all_reduce_mean_f32(%[[VIEW]])
// CHECK: gpu.memcpy %[[DEVICE]], %[[HOST]] : memref<8xf32>, memref<8xf32>
// CHECK: gpu.dealloc %[[DEVICE]]
// CHECK: memref.dealloc %[[HOST]]

// The queued work is waited for before the call (the copy in is complete)
// and the copy back is queued after it, before the next kernel.
// ASYNC-LABEL: func.func @step(
// ASYNC: gpu.memcpy async
// ASYNC: gpu.wait [
// ASYNC-NEXT: call @dq_model_all_reduce_mean_f32(
// ASYNC: gpu.memcpy async
// ASYNC: gpu.launch_func async
module attributes {gpu.container_module} {
  func.func private @dq_model_all_reduce_mean_f32(memref<?xf32>)
  gpu.module @kernels {
    gpu.func @scale(%x: memref<8xf32>) kernel {
      gpu.return
    }
  }
  func.func @step() {
    %c1 = arith.constant 1 : index
    %sum = memref.alloc() : memref<8xf32>
    gpu.launch_func @kernels::@scale blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%sum : memref<8xf32>)
    %view = memref.cast %sum : memref<8xf32> to memref<?xf32>
    call @dq_model_all_reduce_mean_f32(%view) : (memref<?xf32>) -> ()
    gpu.launch_func @kernels::@scale blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%sum : memref<8xf32>)
    memref.dealloc %sum : memref<8xf32>
    return
  }
}

// -----

// A call of a function defined in the module is left alone (no host
// function reads device buffers there: its own buffers are device ones).
// CHECK-LABEL: func.func @caller(
// CHECK-NOT: memref.alloc
// CHECK: call @callee(%{{.*}}) : (memref<4xf32>) -> ()
module attributes {gpu.container_module} {
  func.func @callee(%x: memref<4xf32>) {
    return
  }
  func.func @caller() {
    %buffer = memref.alloc() : memref<4xf32>
    call @callee(%buffer) : (memref<4xf32>) -> ()
    memref.dealloc %buffer : memref<4xf32>
    return
  }
}

// -----

// A strided view cannot be staged as one contiguous copy.
module attributes {gpu.container_module} {
  func.func private @dq_model_all_reduce_sum_f32(memref<?xf32, strided<[2]>>)
  func.func @strided() {
    %buffer = memref.alloc() : memref<8xf32>
    %view = memref.subview %buffer[0] [4] [2] : memref<8xf32> to memref<4xf32, strided<[2]>>
    %dynamic = memref.cast %view : memref<4xf32, strided<[2]>> to memref<?xf32, strided<[2]>>
    // expected-error @below {{dq-gpu-device-buffers: operand 0 of the host call to 'dq_model_all_reduce_sum_f32' has type 'memref<4xf32, strided<[2]>>'; staging it through host memory needs a static shape with the identity layout}}
    call @dq_model_all_reduce_sum_f32(%dynamic) : (memref<?xf32, strided<[2]>>) -> ()
    memref.dealloc %buffer : memref<8xf32>
    return
  }
}
