// RUN: dq-opt %s --split-input-file --dq-split-functions="ops-per-function=4" | FileCheck %s
// RUN: dq-opt %s --split-input-file --dq-split-functions="ops-per-function=100" | FileCheck %s --check-prefix=WHOLE

// Runs of about 4 operations become calls in order. Buffers and constants
// stay in the parent: a piece takes the buffers it uses, clones the
// constants, returns what is used after it; the deallocation moves after
// the call of the piece it was in.

// CHECK-LABEL: func.func @step(
// CHECK-SAME:    %[[A:.*]]: memref<8xf32>, %[[S:.*]]: f32) -> f32
// CHECK-SAME:    attributes {dq.pieces = 2 : i64}
// CHECK:         %[[B:.*]] = memref.alloc() : memref<8xf32>
// CHECK-NEXT:    %[[X:.*]] = call @step.part0(%[[A]], %[[B]]) : (memref<8xf32>, memref<8xf32>) -> f32
// CHECK-NEXT:    %[[R:.*]] = call @step.part1(%[[X]], %[[S]], %[[A]]) : (f32, f32, memref<8xf32>) -> f32
// CHECK-NEXT:    memref.dealloc %[[B]] : memref<8xf32>
// CHECK-NEXT:    return %[[R]] : f32
// CHECK:       func.func private @step.part0(%[[A0:.*]]: memref<8xf32>, %[[B0:.*]]: memref<8xf32>) -> f32
// CHECK-SAME:    attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK-DAG:     %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[I:.*]] = arith.constant 3 : index
// CHECK:         linalg.fill ins(%[[Z]] : f32) outs(%[[A0]] : memref<8xf32>)
// CHECK-NEXT:    memref.copy %[[A0]], %[[B0]]
// CHECK-NEXT:    %[[L:.*]] = memref.load %[[B0]][%[[I]]]
// CHECK-NEXT:    return %[[L]] : f32
// CHECK:       func.func private @step.part1(%[[X1:.*]]: f32, %[[S1:.*]]: f32, %[[A1:.*]]: memref<8xf32>) -> f32
// CHECK:         %[[I1:.*]] = arith.constant 3 : index
// CHECK-NEXT:    %[[Y:.*]] = arith.addf %[[X1]], %[[S1]] : f32
// CHECK-NEXT:    memref.store %[[Y]], %[[A1]][%[[I1]]]
// CHECK-NEXT:    return %[[Y]] : f32

// A function no larger than ops-per-function stays whole.
// WHOLE-LABEL: func.func @step(
// WHOLE-NOT:     call
// WHOLE-NOT:     func.func private

func.func @step(%a: memref<8xf32>, %s: f32) -> f32 {
  %zero = arith.constant 0.0 : f32
  %c3 = arith.constant 3 : index
  linalg.fill ins(%zero : f32) outs(%a : memref<8xf32>)
  %b = memref.alloc() : memref<8xf32>
  memref.copy %a, %b : memref<8xf32> to memref<8xf32>
  %x = memref.load %b[%c3] : memref<8xf32>
  %y = arith.addf %x, %s : f32
  memref.dealloc %b : memref<8xf32>
  memref.store %y, %a[%c3] : memref<8xf32>
  return %y : f32
}

// -----

// A loop nest moves whole and takes the values it uses from above (in the
// order of their first use). A view with constant offsets and sizes is
// rebuilt in the piece, which takes the view's source instead (one
// descriptor for all the views of a buffer).

// CHECK-LABEL: func.func @loops(
// CHECK-SAME:    %[[A:.*]]: memref<4x8xf32>, %[[N:.*]]: index)
// CHECK:         call @loops.part0(%[[N]], %[[A]]) : (index, memref<4x8xf32>) -> ()
// CHECK-NEXT:    return
// CHECK:       func.func private @loops.part0(%[[N0:.*]]: index, %[[A0:.*]]: memref<4x8xf32>)
// CHECK:         %[[V0:.*]] = memref.subview %[[A0]][0, 0] [2, 8] [1, 1]
// CHECK:         scf.for %{{.*}} = %{{.*}} to %[[N0]]
// CHECK:           memref.store %{{.*}}, %[[V0]]

// WHOLE-LABEL: func.func @loops(
// WHOLE-NOT:     call

func.func @loops(%a: memref<4x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  %v = memref.subview %a[0, 0] [2, 8] [1, 1]
      : memref<4x8xf32> to memref<2x8xf32, strided<[8, 1]>>
  scf.for %i = %c0 to %n step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      memref.store %one, %v[%c1, %j] : memref<2x8xf32, strided<[8, 1]>>
    }
  }
  return
}

// -----

// A piece that would return a stack buffer it allocates is left inline (the
// buffer would not outlive the call); a later piece may take it.

// CHECK-LABEL: func.func @stack(
// CHECK:         %[[T:.*]] = memref.alloca() : memref<8xf32>
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    %[[X:.*]] = call @stack.part0(%[[T]]) : (memref<8xf32>) -> f32
// CHECK-NEXT:    return %[[X]]

func.func @stack(%a: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %t = memref.alloca() : memref<8xf32>
  memref.copy %a, %t : memref<8xf32> to memref<8xf32>
  memref.copy %t, %a : memref<8xf32> to memref<8xf32>
  memref.copy %a, %t : memref<8xf32> to memref<8xf32>
  %x = memref.load %t[%c0] : memref<8xf32>
  return %x : f32
}

// -----

// The views of dq-static-buffers' arena: its taking and giving back stay
// in the parent (the giving back after the call of the piece of its run,
// like a deallocation), the pieces take the arena, not a descriptor per buffer, and
// rebuild the views they use.

// CHECK-LABEL: func.func @arena(
// CHECK-SAME:    %[[X:.*]]: memref<16xf32>, %[[OWN:.*]]: i1)
// CHECK:         %[[ARENA:.*]] = scf.if %[[OWN]]
// CHECK:         } {dq.arena = "acquire"}
// CHECK:         call @arena.part0(%[[X]], %[[ARENA]]) : (memref<16xf32>, memref<128xi8>) -> ()
// CHECK-NEXT:    call @arena.part1(%[[ARENA]], %[[X]]) : (memref<128xi8>, memref<16xf32>) -> ()
// CHECK-NEXT:    call @arena.part2(%[[X]])
// CHECK-NEXT:    scf.if %[[OWN]] {
// CHECK-NEXT:    } else {
// CHECK-NEXT:      memref.dealloc %[[ARENA]]
// CHECK-NEXT:    } {dq.arena = "release"}
// CHECK-NEXT:    call @arena.part3(%[[X]])
// CHECK:       func.func private @arena.part0(%[[X0:.*]]: memref<16xf32>, %[[ARENA0:.*]]: memref<128xi8>)
// CHECK-DAG:     %[[O0:.*]] = arith.constant 64 : index
// CHECK-DAG:     %[[B0:.*]] = memref.view %[[ARENA0]][%[[O0]]][] : memref<128xi8> to memref<16xf32>
// CHECK:         linalg.copy ins(%[[X0]] : memref<16xf32>) outs(%[[B0]] : memref<16xf32>)
// CHECK:       func.func private @arena.part1(%[[ARENA1:.*]]: memref<128xi8>, %[[X1:.*]]: memref<16xf32>)
// CHECK-DAG:     memref.view %[[ARENA1]][%{{.*}}][] : memref<128xi8> to memref<16xf32>
// CHECK-DAG:     memref.view %[[ARENA1]][%{{.*}}][] : memref<128xi8> to memref<16xf32>
memref.global "private" @arena.arena : memref<128xi8> = uninitialized
func.func @arena(%x: memref<16xf32>, %own: i1) {
  %arena = scf.if %own -> (memref<128xi8>) {
    %g = memref.get_global @arena.arena : memref<128xi8>
    scf.yield %g : memref<128xi8>
  } else {
    %m = memref.alloc() : memref<128xi8>
    scf.yield %m : memref<128xi8>
  } {dq.arena = "acquire"}
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %a = memref.view %arena[%c0][] : memref<128xi8> to memref<16xf32>
  %b = memref.view %arena[%c64][] : memref<128xi8> to memref<16xf32>
  linalg.copy ins(%x : memref<16xf32>) outs(%b : memref<16xf32>)
  linalg.copy ins(%b : memref<16xf32>) outs(%a : memref<16xf32>)
  linalg.copy ins(%a : memref<16xf32>) outs(%b : memref<16xf32>)
  linalg.copy ins(%b : memref<16xf32>) outs(%x : memref<16xf32>)
  scf.if %own {
  } else {
    memref.dealloc %arena : memref<128xi8>
  } {dq.arena = "release"}
  linalg.copy ins(%x : memref<16xf32>) outs(%x : memref<16xf32>)
  linalg.copy ins(%x : memref<16xf32>) outs(%x : memref<16xf32>)
  linalg.copy ins(%x : memref<16xf32>) outs(%x : memref<16xf32>)
  return
}
