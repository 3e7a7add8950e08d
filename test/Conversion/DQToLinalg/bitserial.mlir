// RUN: dq-opt %s --convert-dq-to-linalg | FileCheck %s

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
// innermost, then one scf.forall iteration per output row (n, oh): AND +
// ctpop over the window and words (output channel loop innermost), the
// popcounts of the input planes, and one elementwise combination of the
// K x Ka planes, inserted into the result.
// CHECK-LABEL: func.func @conv
// CHECK: tensor.pad {{.*}} low[0, 1, 1, 0, 0] high[0, 1, 1, 0, 0]
// CHECK: linalg.transpose {{.*}} permutation = [1, 2, 3, 4, 0]
// CHECK: scf.forall (%[[N:.*]], %[[ROW:.*]]) in (1, 4)
// CHECK:   tensor.extract_slice {{.*}} : tensor<1x6x6x2x1xi64> to tensor<3x6x2x1xi64>
// CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]
// CHECK:     arith.andi
// CHECK:     math.ctpop
// CHECK:     arith.addi
// CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK:     math.ctpop
// CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-COUNT-4: arith.sitofp
// CHECK-NOT: arith.sitofp
// CHECK:     linalg.yield
// CHECK:   tensor.parallel_insert_slice {{.*}}[%[[N]], %[[ROW]], 0, 0] [1, 1, 4, 8]
func.func @conv(%a: tensor<1x4x4x2x1xi64>, %w: tensor<8x3x3x2x1xi64>, %v: tensor<8x2xf32>, %u: tensor<2xf32>, %b: tensor<8xf32>) -> tensor<1x4x4x8xf32> {
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [1, 1, 1, 1] stride = [1, 1] dilation = [1, 1] : (tensor<1x4x4x2x1xi64>, tensor<8x3x3x2x1xi64>, tensor<8x2xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  return %y : tensor<1x4x4x8xf32>
}
