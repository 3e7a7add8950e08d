//===- DQToLinalg.h - dq to linalg patterns ---------------------*- C++ -*-===//

#ifndef DQ_CONVERSION_DQTOLINALG_DQTOLINALG_H
#define DQ_CONVERSION_DQTOLINALG_DQTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::dq {

/// Adds the patterns that rewrite every dq op into linalg.generic ops on
/// tensors (see the convert-dq-to-linalg pass).
/// `tileRows`: dq.bitserial_conv2d as one scf.forall iteration per output
/// row (CPU), else as generics over the whole batch (GPU).
void populateDQToLinalgConversionPatterns(RewritePatternSet &patterns,
                                          bool tileRows = true);

/// The part of them for the inference ops on bit-planes (dq.pack_bits,
/// dq.bitserial_conv2d): AND + popcount reductions on 64-bit words.
void populateBitSerialToLinalgPatterns(RewritePatternSet &patterns,
                                       bool tileRows = true);

} // namespace mlir::dq

#endif // DQ_CONVERSION_DQTOLINALG_DQTOLINALG_H
