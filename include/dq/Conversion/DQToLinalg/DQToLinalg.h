//===- DQToLinalg.h - dq to linalg patterns ---------------------*- C++ -*-===//

#ifndef DQ_CONVERSION_DQTOLINALG_DQTOLINALG_H
#define DQ_CONVERSION_DQTOLINALG_DQTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::dq {

/// How dq.bitserial_conv2d is lowered.
struct BitSerialLowering {
  /// CPU: one scf.forall iteration per output row, in which a kernel of
  /// vector ops keeps the popcount sums of a block of pixels in registers.
  /// false: generics over the whole batch (what GPU launches map).
  bool rows = true;
  /// The target's vector registers (width in bits, count): the kernel's
  /// lanes and its pixel block.
  int64_t vectorBits = 256;
  int64_t vectorRegisters = 16;
  /// x86 without a vector popcount (AVX2, AVX-512 without VPOPCNTDQ): the
  /// row kernel counts bits per byte, one nibble-table VPSHUFB per nibble
  /// of a word, and adds each byte count over the window before one
  /// PSADBW sums a lane's bytes (LLVM's vector ctpop on i64 lanes would
  /// pay the byte sum for every word).
  bool byteCounts = false;
};

/// Adds the patterns that rewrite every dq op into linalg.generic ops on
/// tensors (see the convert-dq-to-linalg pass).
void populateDQToLinalgConversionPatterns(
    RewritePatternSet &patterns, const BitSerialLowering &bitSerial = {});

/// The part of them for the inference ops on bit-planes (dq.pack_bits,
/// dq.bitserial_conv2d): AND + popcount reductions on 64-bit words.
void populateBitSerialToLinalgPatterns(RewritePatternSet &patterns,
                                       const BitSerialLowering &bitSerial = {});

} // namespace mlir::dq

#endif // DQ_CONVERSION_DQTOLINALG_DQTOLINALG_H
