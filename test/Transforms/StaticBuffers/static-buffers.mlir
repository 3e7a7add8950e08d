// RUN: dq-opt %s --split-input-file --dq-static-buffers="min-bytes=0" | FileCheck %s
// RUN: dq-opt %s --split-input-file --dq-static-buffers | FileCheck %s --check-prefix=SMALL

// Buffers freed before the return become views of one arena, largest
// first at the lowest offset free for their lifetime. Lifetimes end at the
// last use, not at the deallocations the pipeline puts at the end: %b (128
// bytes, placed first, at 0) is never used, so %c, allocated after it,
// reuses offset 0; %a is alive when %b is allocated and goes at 128; %d is
// allocated while %c is still read and takes 64. The returned buffer keeps
// its allocation. The arena goes back after the last use of any of its
// buffers.

// CHECK:       memref.global "private" @step.arena : memref<192xi8> = uninitialized {alignment = 64 : i64}
// CHECK:       memref.global "private" @step.arena_busy : memref<i32> = dense<0>
// CHECK-LABEL: func.func @step(
// CHECK-SAME:    %[[X:.*]]: memref<16xf32>) -> memref<16xf32>
// CHECK-DAG:     %[[FLAG:.*]] = memref.get_global @step.arena_busy : memref<i32>
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1 : i32
// CHECK:         %[[HELD:.*]] = memref.atomic_rmw assign %[[ONE]], %[[FLAG]][] {dq.arena = "acquire"} : (i32, memref<i32>) -> i32
// CHECK:         %[[OWN:.*]] = arith.cmpi eq, %[[HELD]], %[[ZERO]] {dq.arena = "acquire"} : i32
// CHECK:         %[[ARENA:.*]] = scf.if %[[OWN]] -> (memref<192xi8>) {
// CHECK:           %[[G:.*]] = memref.get_global @step.arena : memref<192xi8>
// CHECK:           scf.yield %[[G]] : memref<192xi8>
// CHECK:         } else {
// CHECK:           %[[M:.*]] = memref.alloc() {alignment = 64 : i64} : memref<192xi8>
// CHECK:           scf.yield %[[M]] : memref<192xi8>
// CHECK:         } {dq.arena = "acquire"}
// CHECK:         %[[OA:.*]] = arith.constant 128 : index
// CHECK:         %[[A:.*]] = memref.view %[[ARENA]][%[[OA]]][] : memref<192xi8> to memref<16xf32>
// CHECK:         linalg.copy ins(%[[X]] : memref<16xf32>) outs(%[[A]] : memref<16xf32>)
// CHECK:         %[[OB:.*]] = arith.constant 0 : index
// CHECK:         memref.view %[[ARENA]][%[[OB]]][] : memref<192xi8> to memref<32xf32>
// CHECK:         %[[OC:.*]] = arith.constant 0 : index
// CHECK:         %[[C:.*]] = memref.view %[[ARENA]][%[[OC]]][] : memref<192xi8> to memref<16xf32>
// CHECK:         linalg.copy ins(%[[A]] : memref<16xf32>) outs(%[[C]] : memref<16xf32>)
// CHECK:         %[[OD:.*]] = arith.constant 64 : index
// CHECK:         %[[D:.*]] = memref.view %[[ARENA]][%[[OD]]][] : memref<192xi8> to memref<16xf32>
// CHECK:         linalg.copy ins(%[[C]] : memref<16xf32>) outs(%[[D]] : memref<16xf32>)
// CHECK:         %[[R:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
// CHECK:         linalg.copy ins(%[[D]] : memref<16xf32>) outs(%[[R]] : memref<16xf32>)
// CHECK-NEXT:    scf.if %[[OWN]] {
// CHECK-NEXT:      memref.atomic_rmw assign %[[ZERO]], %[[FLAG]][] : (i32, memref<i32>) -> i32
// CHECK-NEXT:    } else {
// CHECK-NEXT:      memref.dealloc %[[ARENA]] : memref<192xi8>
// CHECK-NEXT:    } {dq.arena = "release"}
// CHECK-NEXT:    linalg.fill
// CHECK-NOT:     memref.dealloc
// CHECK:         return %[[R]] : memref<16xf32>

// Below min-bytes (1 MiB by default) a function keeps its allocations.
// SMALL-NOT:   memref.global
// SMALL-LABEL: func.func @step(
// SMALL-COUNT-5: memref.alloc()
// SMALL-COUNT-4: memref.dealloc
func.func @step(%x: memref<16xf32>) -> memref<16xf32> {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%x : memref<16xf32>) outs(%a : memref<16xf32>)
  %b = memref.alloc() {alignment = 64 : i64} : memref<32xf32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%a : memref<16xf32>) outs(%c : memref<16xf32>)
  %d = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%c : memref<16xf32>) outs(%d : memref<16xf32>)
  %r = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%d : memref<16xf32>) outs(%r : memref<16xf32>)
  linalg.fill ins(%zero : f32) outs(%x : memref<16xf32>)
  memref.dealloc %a : memref<16xf32>
  memref.dealloc %b : memref<32xf32>
  memref.dealloc %c : memref<16xf32>
  memref.dealloc %d : memref<16xf32>
  return %r : memref<16xf32>
}

// -----

// A use through a view extends the lifetime: %a's collapsed view is read
// after %b is allocated, so they do not share bytes.

// CHECK-LABEL: func.func @through_views(
// CHECK:         %[[A:.*]] = memref.view %{{.*}}[%{{.*}}][] : memref<{{.*}}xi8> to memref<2x8xf32>
// CHECK:         %[[AV:.*]] = memref.collapse_shape %[[A]]
// CHECK:         %[[OB:.*]] = arith.constant 64 : index
// CHECK:         %[[B:.*]] = memref.view %{{.*}}[%[[OB]]][] : memref<{{.*}}xi8> to memref<16xf32>
// CHECK:         linalg.copy ins(%[[AV]] : memref<16xf32>) outs(%[[B]] : memref<16xf32>)
func.func @through_views(%x: memref<16xf32>) {
  %a = memref.alloc() : memref<2x8xf32>
  %av = memref.collapse_shape %a [[0, 1]] : memref<2x8xf32> into memref<16xf32>
  linalg.copy ins(%x : memref<16xf32>) outs(%av : memref<16xf32>)
  %b = memref.alloc() : memref<16xf32>
  linalg.copy ins(%av : memref<16xf32>) outs(%b : memref<16xf32>)
  linalg.copy ins(%b : memref<16xf32>) outs(%x : memref<16xf32>)
  memref.dealloc %a : memref<2x8xf32>
  memref.dealloc %b : memref<16xf32>
  return
}

// -----

// Buffers that leave the function or whose lifetime the block does not
// bound keep their allocations: returned through a view, passed to a call,
// freed under a condition, of dynamic size, not freed at all. No arena.

// CHECK-NOT:   memref.global
// CHECK-LABEL: func.func @escaping(
// CHECK-COUNT-5: memref.alloc
// CHECK-NOT:     memref.view
func.func private @consume(memref<16xf32>)
func.func @escaping(%x: memref<16xf32>, %n: index, %p: i1) -> memref<4x4xf32> {
  %a = memref.alloc() : memref<16xf32>
  %av = memref.expand_shape %a [[0, 1]] output_shape [4, 4] : memref<16xf32> into memref<4x4xf32>
  %b = memref.alloc() : memref<16xf32>
  func.call @consume(%b) : (memref<16xf32>) -> ()
  memref.dealloc %b : memref<16xf32>
  %c = memref.alloc() : memref<16xf32>
  linalg.copy ins(%x : memref<16xf32>) outs(%c : memref<16xf32>)
  scf.if %p {
    memref.dealloc %c : memref<16xf32>
  }
  %d = memref.alloc(%n) : memref<?xf32>
  memref.dealloc %d : memref<?xf32>
  %e = memref.alloc() : memref<16xf32>
  linalg.copy ins(%x : memref<16xf32>) outs(%e : memref<16xf32>)
  return %av : memref<4x4xf32>
}

// -----

// A function of several blocks is left alone.

// CHECK-NOT:   memref.global
// CHECK-LABEL: func.func @blocks(
// CHECK:         memref.alloc
func.func @blocks(%x: memref<16xf32>) {
  %a = memref.alloc() : memref<16xf32>
  linalg.copy ins(%x : memref<16xf32>) outs(%a : memref<16xf32>)
  memref.dealloc %a : memref<16xf32>
  cf.br ^bb1
^bb1:
  return
}
