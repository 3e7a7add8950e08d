// RUN: dq-opt %s | dq-opt | FileCheck %s
// RUN: dq-opt %s --canonicalize | FileCheck %s --check-prefix=FOLD

// Round trip of the inference ops on bit-planes, and the fold of
// dq.pack_bits on constant codes: 70 channels are two words, the second
// holding channels 64..69; bit k of every code goes to plane k.

// CHECK-LABEL: func.func @ops
// CHECK: dq.pack_bits %{{.*}} bits = 2 : (tensor<1x4x4x70xi8>) -> tensor<1x4x4x2x2xi64>
// CHECK: dq.bitserial_conv2d %{{.*}} pad = [1, 1, 1, 1] stride = [1, 1] dilation = [1, 1]
func.func @ops(%codes: tensor<1x4x4x70xi8>, %w: tensor<8x3x3x1x2xi64>, %v: tensor<8x1xf32>, %u: tensor<2xf32>, %b: tensor<8xf32>) -> tensor<1x4x4x8xf32> {
  %a = dq.pack_bits %codes bits = 2 : (tensor<1x4x4x70xi8>) -> tensor<1x4x4x2x2xi64>
  %y = dq.bitserial_conv2d %a, %w, %v, %u, %b pad = [1, 1, 1, 1] stride = [1, 1] dilation = [1, 1] : (tensor<1x4x4x2x2xi64>, tensor<8x3x3x1x2xi64>, tensor<8x1xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  return %y : tensor<1x4x4x8xf32>
}

// Codes 1, 2, 3, 0 at channels 0..3 and code 3 at channel 65: plane 0 has
// bits 0, 2 (word 0) and bit 1 (word 1); plane 1 bits 1, 2 and bit 1.
// FOLD-LABEL: func.func @fold
// FOLD: arith.constant dense<{{\[}}{{\[}}{{\[}}5, 2], [6, 2]]]> : tensor<1x2x2xi64>
// FOLD-NOT: dq.pack_bits
func.func @fold() -> tensor<1x2x2xi64> {
  %c = arith.constant dense<[[1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]]> : tensor<1x66xi8>
  %p = dq.pack_bits %c bits = 2 : (tensor<1x66xi8>) -> tensor<1x2x2xi64>
  return %p : tensor<1x2x2xi64>
}

// A window of 3 taps with one zero column each side: column x packs the
// codes of columns x-1, x, x+1 one after another (code 0 outside). Codes
// per column (1, 2), (3, 0), (0, 1): positions 0,0,1,2,3,0 / 1,2,3,0,0,1
// / 3,0,0,1,0,0, so plane 0 is 20, 37, 9 and plane 1 is 24, 6, 1.
// CHECK-LABEL: func.func @windowed
// CHECK: dq.pack_bits %{{.*}} bits = 2 window = [3, 1, 1, 1] : (tensor<1x1x3x2xi8>) -> tensor<1x1x3x2x1xi64>
// FOLD-LABEL: func.func @windowed
// FOLD: arith.constant dense<{{\[}}{{\[}}{{\[}}{{\[}}[20], [24]], {{\[}}[37], [6]], {{\[}}[9], [1]]]]]> : tensor<1x1x3x2x1xi64>
// FOLD-NOT: dq.pack_bits
func.func @windowed() -> tensor<1x1x3x2x1xi64> {
  %c = arith.constant dense<[[[[1, 2], [3, 0], [0, 1]]]]> : tensor<1x1x3x2xi8>
  %p = dq.pack_bits %c bits = 2 window = [3, 1, 1, 1] : (tensor<1x1x3x2xi8>) -> tensor<1x1x3x2x1xi64>
  return %p : tensor<1x1x3x2x1xi64>
}
