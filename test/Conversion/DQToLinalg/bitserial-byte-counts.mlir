// RUN: dq-opt %s --convert-dq-to-linalg="bitserial-byte-counts=true" | FileCheck %s
// RUN: not dq-opt %s --convert-dq-to-linalg="bitserial-byte-counts=true bitserial-vector-bits=192" 2>&1 | FileCheck %s --check-prefix=CHECK-BAD
// CHECK-BAD: bitserial-byte-counts needs x86 vectors of 128, 256 or 512 bits (got bitserial-vector-bits=192)

// Byte counts (x86 without VPOPCNTQ): the input words shifted right by 4
// once per layer; in the kernel each weight vector's low and high nibbles
// as bytes, the sums loop-carried as vector<32xi8> (2 pixels x K x Ka = 8
// of them in 16 registers), one byte ctpop per nibble half, and after the
// window each lane's 8 bytes summed into an i64 lane.
// CHECK-LABEL: func.func @conv
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x6x6x2x1xi64>)
// CHECK:   arith.shrui {{.*}} : i64
// CHECK: scf.forall
// CHECK:   scf.for {{.*}} step %c2 {{.*}} -> (tensor<4x8xf32>)
// CHECK:     scf.for {{.*}} -> (vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>, vector<32xi8>)
// CHECK:       vector.transfer_read {{.*}} : tensor<3x3x2x1x8xi64>, vector<4xi64>
// CHECK:       vector.bitcast {{.*}} : vector<4xi64> to vector<32xi8>
// CHECK:       arith.andi {{.*}} : vector<32xi8>
// CHECK:       arith.shrui {{.*}} : vector<32xi8>
// CHECK:       arith.andi {{.*}} : vector<32xi8>
// CHECK:       vector.broadcast {{.*}} : i64 to vector<4xi64>
// CHECK:       vector.bitcast {{.*}} : vector<4xi64> to vector<32xi8>
// CHECK:       math.ctpop {{.*}} : vector<32xi8>
// CHECK:       arith.addi {{.*}} : vector<32xi8>
// CHECK-NOT:   math.ctpop {{.*}} : vector<4xi64>
// CHECK:     vector.shape_cast {{.*}} : vector<32xi8> to vector<4x8xi8>
// CHECK:     arith.extui {{.*}} : vector<4x8xi8> to vector<4x8xi64>
// CHECK:     vector.multi_reduction <add>, {{.*}} [1] : vector<4x8xi64> to vector<4xi64>
// CHECK-COUNT-8: vector.fma
func.func @conv(%a: tensor<1x4x4x2x1xi64>, %w: tensor<8x3x3x2x1xi64>, %v: tensor<8x2xf32>, %u: tensor<2xf32>, %b: tensor<8xf32>) -> tensor<1x4x4x8xf32> {
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [1, 1, 1, 1] stride = [1, 1] dilation = [1, 1] : (tensor<1x4x4x2x1xi64>, tensor<8x3x3x2x1xi64>, tensor<8x2xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  return %y : tensor<1x4x4x8xf32>
}

// 3 x 3 taps of 4 words: 36 words, more than a byte count holds (31 of 8
// bits each); the sums stay i64 lanes.
// CHECK-LABEL: func.func @many_words
// CHECK-NOT: vector<32xi8>
// CHECK: math.ctpop {{.*}} : vector<4xi64>
// CHECK-NOT: vector<32xi8>
// CHECK: return
func.func @many_words(%a: tensor<1x3x3x1x4xi64>, %w: tensor<4x3x3x1x4xi64>, %v: tensor<4x1xf32>, %u: tensor<1xf32>, %b: tensor<4xf32>) -> tensor<1x3x3x4xf32> {
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [1, 1, 1, 1] stride = [1, 1] dilation = [1, 1] : (tensor<1x3x3x1x4xi64>, tensor<4x3x3x1x4xi64>, tensor<4x1xf32>, tensor<1xf32>, tensor<4xf32>) -> tensor<1x3x3x4xf32>
  return %y : tensor<1x3x3x4xf32>
}

// W4A4: 16 sums and 8 nibble halves do not fit 16 registers; the i64 form.
// CHECK-LABEL: func.func @four_bits
// CHECK-NOT: vector<32xi8>
// CHECK: math.ctpop {{.*}} : vector<4xi64>
// CHECK-NOT: vector<32xi8>
// CHECK: return
func.func @four_bits(%a: tensor<1x3x3x4x1xi64>, %w: tensor<4x3x3x4x1xi64>, %v: tensor<4x4xf32>, %u: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<1x3x3x4xf32> {
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [1, 1, 1, 1] stride = [1, 1] dilation = [1, 1] : (tensor<1x3x3x4x1xi64>, tensor<4x3x3x4x1xi64>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x3x3x4xf32>
  return %y : tensor<1x3x3x4xf32>
}
