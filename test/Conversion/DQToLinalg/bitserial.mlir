// RUN: dq-opt %s --convert-dq-to-linalg | FileCheck %s
// RUN: dq-opt %s --convert-dq-to-linalg="bitserial-vector-bits=512 bitserial-vector-registers=32" | FileCheck %s --check-prefix=CHECK-WIDE
// RUN: not dq-opt %s --convert-dq-to-linalg="bitserial-vector-bits=100" 2>&1 | FileCheck %s --check-prefix=CHECK-BAD
// CHECK-BAD: bitserial-vector-bits must be a multiple of 64 and at least 128 (got 100)
// CHECK-BAD-NOT: see current operation

// pack_bits: codes padded to whole words with code 0, split [words, 64],
// one OR-reduction over the bit position, left scalar by the vectorizer.
// CHECK-LABEL: func.func @pack
// CHECK: tensor.pad
// CHECK: tensor.expand_shape {{.*}} into tensor<2x2x64xi8>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]{{.*}} attrs = {dq.keep_scalar}
// CHECK:   arith.shrui
// CHECK:   arith.shli
// CHECK:   arith.ori
func.func @pack(%c: tensor<2x70xi8>) -> tensor<2x3x2xi64> {
  %p = dq.pack_bits %c bits = 3 : (tensor<2x70xi8>) -> tensor<2x3x2xi64>
  return %p : tensor<2x3x2xi64>
}

// One word: no padding, the bit loop runs over the 19 channels.
// CHECK-LABEL: func.func @pack_one_word
// CHECK-NOT: tensor.pad
// CHECK: tensor.expand_shape {{.*}} into tensor<2x1x19xi8>
func.func @pack_one_word(%c: tensor<2x19xi8>) -> tensor<2x2x1xi64> {
  %p = dq.pack_bits %c bits = 2 : (tensor<2x19xi8>) -> tensor<2x2x1xi64>
  return %p : tensor<2x2x1xi64>
}

// bitserial_conv2d: zero-padded input, weights with output channels
// innermost, then one scf.forall iteration per output row (n, oh): the
// popcounts of the input planes (Q), then per chunk of output channels
// (4 i64 lanes at the default 256-bit vectors) and block of pixels (2 of
// the row's 4 here: 2 x K x Ka = 8 sums in registers) a loop nest over the
// window and the words whose loop-carried sums are vectors: AND + ctpop of
// a broadcast activation word with K weight vectors; then bias + the
// K x Ka terms (2 P - Q) v u, written into the output row.
// CHECK-LABEL: func.func @conv
// CHECK: tensor.pad {{.*}} low[0, 1, 1, 0, 0] high[0, 1, 1, 0, 0]
// CHECK: linalg.transpose {{.*}} permutation = [1, 2, 3, 4, 0]
// CHECK: scf.forall (%[[N:.*]], %[[ROW:.*]]) in (1, 4)
// CHECK:   tensor.extract_slice {{.*}} : tensor<1x6x6x2x1xi64> to tensor<3x6x2x1xi64>
// CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK:     math.ctpop
// CHECK:   scf.for {{.*}} -> (tensor<4x8xf32>)
// CHECK:     scf.for {{.*}} step %c2 {{.*}} -> (tensor<4x8xf32>)
// CHECK:       scf.for {{.*}} -> (vector<4xi64>, vector<4xi64>, vector<4xi64>, vector<4xi64>, vector<4xi64>, vector<4xi64>, vector<4xi64>, vector<4xi64>)
// CHECK-COUNT-2: vector.transfer_read {{.*}} : tensor<3x3x2x1x8xi64>, vector<4xi64>
// CHECK:         tensor.extract
// CHECK:         vector.broadcast {{.*}} : i64 to vector<4xi64>
// CHECK:         arith.andi {{.*}} : vector<4xi64>
// CHECK:         math.ctpop {{.*}} : vector<4xi64>
// CHECK:         arith.addi {{.*}} : vector<4xi64>
// CHECK-COUNT-8: vector.fma
// CHECK-NOT: vector.fma
// CHECK:       vector.transfer_write {{.*}} : vector<4xf32>, tensor<4x8xf32>
// CHECK:   tensor.parallel_insert_slice {{.*}}[%[[N]], %[[ROW]], 0, 0] [1, 1, 4, 8]
func.func @conv(%a: tensor<1x4x4x2x1xi64>, %w: tensor<8x3x3x2x1xi64>, %v: tensor<8x2xf32>, %u: tensor<2xf32>, %b: tensor<8xf32>) -> tensor<1x4x4x8xf32> {
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [1, 1, 1, 1] stride = [1, 1] dilation = [1, 1] : (tensor<1x4x4x2x1xi64>, tensor<8x3x3x2x1xi64>, tensor<8x2xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  return %y : tensor<1x4x4x8xf32>
}

// 512-bit vectors: 8 lanes; a 6-channel layer is one partial chunk (reads
// past O are zeros, writes stop at O); 32 registers take 5 pixels of
// W1A2 (2 x 1 x 2 sums each; a block of 5 divides the row).
// CHECK-WIDE-LABEL: func.func @partial_chunk
// CHECK-WIDE: scf.for {{.*}} to %c1 step %c1 {{.*}} -> (tensor<5x6xf32>)
// CHECK-WIDE:   vector.transfer_read {{.*}} : tensor<6xf32>, vector<8xf32>
// CHECK-WIDE:   scf.for {{.*}} to %c5 step %c5
// CHECK-WIDE:     vector.transfer_read {{.*}} : tensor<1x1x1x1x6xi64>, vector<8xi64>
// CHECK-WIDE-COUNT-10: vector.fma
// CHECK-WIDE-NOT: vector.fma
// CHECK-WIDE:     vector.transfer_write {{.*}} : vector<8xf32>, tensor<5x6xf32>
func.func @partial_chunk(%a: tensor<1x1x5x2x1xi64>, %w: tensor<6x1x1x1x1xi64>, %v: tensor<6x1xf32>, %u: tensor<2xf32>, %b: tensor<6xf32>) -> tensor<1x1x5x6xf32> {
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [0, 0, 0, 0] stride = [1, 1] dilation = [1, 1] : (tensor<1x1x5x2x1xi64>, tensor<6x1x1x1x1xi64>, tensor<6x1xf32>, tensor<2xf32>, tensor<6xf32>) -> tensor<1x1x5x6xf32>
  return %y : tensor<1x1x5x6xf32>
}
