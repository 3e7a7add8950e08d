//===- StaticBuffers.h - dq-static-buffers' marks ---------------*- C++ -*-===//

#ifndef DQ_TRANSFORMS_STATICBUFFERS_H
#define DQ_TRANSFORMS_STATICBUFFERS_H

#include "llvm/ADT/StringRef.h"

namespace mlir::dq {

/// On the operations that take a function's arena ("acquire": the flag's
/// exchange, its test, the choice of buffer) and give it back ("release").
/// dq-split-functions keeps them in the parent (the release, like a
/// deallocation, after the call of the piece its run went into), so that
/// the pieces take the arena as an argument.
constexpr llvm::StringLiteral kArenaAttr = "dq.arena";

} // namespace mlir::dq

#endif // DQ_TRANSFORMS_STATICBUFFERS_H
