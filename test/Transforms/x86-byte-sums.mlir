// RUN: dq-opt %s --pass-pipeline='builtin.module(func.func(dq-x86-byte-sums{vector-bits=256}))' | FileCheck %s
// RUN: dq-opt %s --pass-pipeline='builtin.module(func.func(dq-x86-byte-sums{vector-bits=128}))' | FileCheck %s --check-prefix=CHECK-SSE
// RUN: not dq-opt %s --pass-pipeline='builtin.module(func.func(dq-x86-byte-sums{vector-bits=100}))' 2>&1 | FileCheck %s --check-prefix=CHECK-BAD
// CHECK-BAD: dq-x86-byte-sums: vector-bits must be 128, 256 or 512 (got 100)

// The sum of each lane's 8 bytes: one PSADBW against zeros.
// CHECK-LABEL: func.func @lanes
// CHECK: %[[Z:.*]] = arith.constant dense<0> : vector<32xi8>
// CHECK: %[[S:.*]] = llvm.call_intrinsic "llvm.x86.avx2.psad.bw"(%arg0, %[[Z]]) : (vector<32xi8>, vector<32xi8>) -> vector<4xi64>
// CHECK-NOT: vector.multi_reduction
// CHECK: return %[[S]]
// Wider than the target's PSADBW: unchanged.
// CHECK-SSE-LABEL: func.func @lanes
// CHECK-SSE: vector.multi_reduction
func.func @lanes(%b: vector<32xi8>) -> vector<4xi64> {
  %zero = arith.constant dense<0> : vector<4xi64>
  %g = vector.shape_cast %b : vector<32xi8> to vector<4x8xi8>
  %w = arith.extui %g : vector<4x8xi8> to vector<4x8xi64>
  %s = vector.multi_reduction <add>, %w, %zero [1] : vector<4x8xi64> to vector<4xi64>
  return %s : vector<4xi64>
}

// A non-zero accumulator is added; 2 lanes are SSE2's PSADBW.
// CHECK-LABEL: func.func @accumulated
// CHECK: %[[S:.*]] = llvm.call_intrinsic "llvm.x86.sse2.psad.bw"
// CHECK: arith.addi %[[S]], %arg1 : vector<2xi64>
// CHECK-SSE-LABEL: func.func @accumulated
// CHECK-SSE: llvm.x86.sse2.psad.bw
func.func @accumulated(%b: vector<16xi8>, %acc: vector<2xi64>) -> vector<2xi64> {
  %w = arith.extui %b : vector<16xi8> to vector<16xi64>
  %g = vector.shape_cast %w : vector<16xi64> to vector<2x8xi64>
  %s = vector.multi_reduction <add>, %g, %acc [1] : vector<2x8xi64> to vector<2xi64>
  return %s : vector<2xi64>
}

// Not bytes, or not over 8 per lane: unchanged.
// CHECK-LABEL: func.func @not_bytes
// CHECK-NOT: llvm.call_intrinsic
// CHECK: return
func.func @not_bytes(%b: vector<32xi16>, %c: vector<32xi8>) -> (vector<4xi64>, vector<8xi64>) {
  %zero = arith.constant dense<0> : vector<4xi64>
  %zero8 = arith.constant dense<0> : vector<8xi64>
  %g = vector.shape_cast %b : vector<32xi16> to vector<4x8xi16>
  %w = arith.extui %g : vector<4x8xi16> to vector<4x8xi64>
  %s = vector.multi_reduction <add>, %w, %zero [1] : vector<4x8xi64> to vector<4xi64>
  %g4 = vector.shape_cast %c : vector<32xi8> to vector<8x4xi8>
  %w4 = arith.extui %g4 : vector<8x4xi8> to vector<8x4xi64>
  %s4 = vector.multi_reduction <add>, %w4, %zero8 [1] : vector<8x4xi64> to vector<8xi64>
  return %s, %s4 : vector<4xi64>, vector<8xi64>
}

// The form dq-vectorize-generics leaves (vector.multi_reduction lowered):
// the 8 rows of the transpose added up.
// CHECK-LABEL: func.func @lowered
// CHECK: %[[S:.*]] = llvm.call_intrinsic "llvm.x86.avx2.psad.bw"(%arg0
// CHECK-NOT: arith.addi
// CHECK: return %[[S]]
func.func @lowered(%b: vector<32xi8>) -> vector<4xi64> {
  %g = vector.shape_cast %b : vector<32xi8> to vector<4x8xi8>
  %w = arith.extui %g : vector<4x8xi8> to vector<4x8xi64>
  %t = vector.transpose %w, [1, 0] : vector<4x8xi64> to vector<8x4xi64>
  %r0 = vector.extract %t[0] : vector<4xi64> from vector<8x4xi64>
  %r1 = vector.extract %t[1] : vector<4xi64> from vector<8x4xi64>
  %r2 = vector.extract %t[2] : vector<4xi64> from vector<8x4xi64>
  %r3 = vector.extract %t[3] : vector<4xi64> from vector<8x4xi64>
  %r4 = vector.extract %t[4] : vector<4xi64> from vector<8x4xi64>
  %r5 = vector.extract %t[5] : vector<4xi64> from vector<8x4xi64>
  %r6 = vector.extract %t[6] : vector<4xi64> from vector<8x4xi64>
  %r7 = vector.extract %t[7] : vector<4xi64> from vector<8x4xi64>
  %s1 = arith.addi %r1, %r0 : vector<4xi64>
  %s2 = arith.addi %r2, %s1 : vector<4xi64>
  %s3 = arith.addi %r3, %s2 : vector<4xi64>
  %s4 = arith.addi %r4, %s3 : vector<4xi64>
  %s5 = arith.addi %r5, %s4 : vector<4xi64>
  %s6 = arith.addi %r6, %s5 : vector<4xi64>
  %s7 = arith.addi %r7, %s6 : vector<4xi64>
  return %s7 : vector<4xi64>
}

// One more term in the tree, or a row read elsewhere too: unchanged.
// CHECK-LABEL: func.func @lowered_plus
// CHECK-NOT: llvm.call_intrinsic
// CHECK: return
func.func @lowered_plus(%b: vector<32xi8>, %x: vector<4xi64>) -> (vector<4xi64>, vector<4xi64>) {
  %g = vector.shape_cast %b : vector<32xi8> to vector<4x8xi8>
  %w = arith.extui %g : vector<4x8xi8> to vector<4x8xi64>
  %t = vector.transpose %w, [1, 0] : vector<4x8xi64> to vector<8x4xi64>
  %r0 = vector.extract %t[0] : vector<4xi64> from vector<8x4xi64>
  %r1 = vector.extract %t[1] : vector<4xi64> from vector<8x4xi64>
  %r2 = vector.extract %t[2] : vector<4xi64> from vector<8x4xi64>
  %r3 = vector.extract %t[3] : vector<4xi64> from vector<8x4xi64>
  %r4 = vector.extract %t[4] : vector<4xi64> from vector<8x4xi64>
  %r5 = vector.extract %t[5] : vector<4xi64> from vector<8x4xi64>
  %r6 = vector.extract %t[6] : vector<4xi64> from vector<8x4xi64>
  %r7 = vector.extract %t[7] : vector<4xi64> from vector<8x4xi64>
  %s1 = arith.addi %r1, %r0 : vector<4xi64>
  %s2 = arith.addi %r2, %s1 : vector<4xi64>
  %s3 = arith.addi %r3, %s2 : vector<4xi64>
  %s4 = arith.addi %r4, %s3 : vector<4xi64>
  %s5 = arith.addi %r5, %s4 : vector<4xi64>
  %s6 = arith.addi %r6, %s5 : vector<4xi64>
  %s7 = arith.addi %r7, %s6 : vector<4xi64>
  %plus = arith.addi %s7, %x : vector<4xi64>
  %t2 = vector.transpose %w, [1, 0] : vector<4x8xi64> to vector<8x4xi64>
  %q0 = vector.extract %t2[0] : vector<4xi64> from vector<8x4xi64>
  %q1 = vector.extract %t2[1] : vector<4xi64> from vector<8x4xi64>
  %q2 = vector.extract %t2[2] : vector<4xi64> from vector<8x4xi64>
  %q3 = vector.extract %t2[3] : vector<4xi64> from vector<8x4xi64>
  %q4 = vector.extract %t2[4] : vector<4xi64> from vector<8x4xi64>
  %q5 = vector.extract %t2[5] : vector<4xi64> from vector<8x4xi64>
  %q6 = vector.extract %t2[6] : vector<4xi64> from vector<8x4xi64>
  %q7 = vector.extract %t2[7] : vector<4xi64> from vector<8x4xi64>
  %z1 = arith.addi %q1, %q0 : vector<4xi64>
  %z2 = arith.addi %q2, %z1 : vector<4xi64>
  %z3 = arith.addi %q3, %z2 : vector<4xi64>
  %z4 = arith.addi %q4, %z3 : vector<4xi64>
  %z5 = arith.addi %q5, %z4 : vector<4xi64>
  %z6 = arith.addi %q6, %z5 : vector<4xi64>
  %z7 = arith.addi %q7, %z6 : vector<4xi64>
  %again = arith.muli %q3, %z7 : vector<4xi64>
  return %plus, %again : vector<4xi64>, vector<4xi64>
}
