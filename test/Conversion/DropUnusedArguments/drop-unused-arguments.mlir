// RUN: dq-opt %s --split-input-file --dq-drop-unused-arguments | FileCheck %s

// An internal function's unread arguments leave it and its calls; the
// order of the others is kept.

// CHECK-LABEL: llvm.func internal @piece(
// CHECK-SAME:    %[[P:.*]]: !llvm.ptr, %[[V:.*]]: f32) {
// CHECK-NEXT:    llvm.store %[[V]], %[[P]] : f32, !llvm.ptr
// CHECK-LABEL: llvm.func @parent(
// CHECK-SAME:    %[[A:.*]]: !llvm.ptr, %[[N:.*]]: i64, %[[X:.*]]: f32)
// CHECK-NEXT:    llvm.call @piece(%[[A]], %[[X]]) : (!llvm.ptr, f32) -> ()
// CHECK-NEXT:    llvm.call @piece(%[[A]], %[[X]]) : (!llvm.ptr, f32) -> ()
llvm.func internal @piece(%p: !llvm.ptr, %size: i64, %v: f32, %stride: i64) {
  llvm.store %v, %p : f32, !llvm.ptr
  llvm.return
}
llvm.func @parent(%a: !llvm.ptr, %n: i64, %x: f32) {
  llvm.call @piece(%a, %n, %x, %n) : (!llvm.ptr, i64, f32, i64) -> ()
  llvm.call @piece(%a, %n, %x, %n) : (!llvm.ptr, i64, f32, i64) -> ()
  llvm.return
}

// -----

// Left alone: an exported function (callers outside the module) and one
// whose address is taken.

// CHECK-LABEL: llvm.func @exported(%{{.*}}: !llvm.ptr, %{{.*}}: i64)
// CHECK-LABEL: llvm.func internal @address_taken(%{{.*}}: !llvm.ptr, %{{.*}}: i64)
// CHECK-LABEL: llvm.func @user(
// CHECK:         llvm.call @exported(%{{.*}}, %{{.*}}) : (!llvm.ptr, i64) -> ()
// CHECK:         llvm.call @address_taken(%{{.*}}, %{{.*}}) : (!llvm.ptr, i64) -> ()
llvm.func @exported(%p: !llvm.ptr, %unused: i64) {
  llvm.return
}
llvm.func internal @address_taken(%p: !llvm.ptr, %unused: i64) {
  llvm.return
}
llvm.func @user(%a: !llvm.ptr, %n: i64) -> !llvm.ptr {
  llvm.call @exported(%a, %n) : (!llvm.ptr, i64) -> ()
  llvm.call @address_taken(%a, %n) : (!llvm.ptr, i64) -> ()
  %f = llvm.mlir.addressof @address_taken : !llvm.ptr
  llvm.return %f : !llvm.ptr
}
