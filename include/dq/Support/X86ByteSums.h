//===- X86ByteSums.h - the x86 forms of the byte-count kernel ---*- C++ -*-===//
//
// One owner for which x86 vector widths the bit-serial kernel's byte counts
// support: dq-compile's choice from the target CPU, convert-dq-to-linalg's
// option check and dq-x86-byte-sums' intrinsic all read this table.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_SUPPORT_X86BYTESUMS_H
#define DQ_SUPPORT_X86BYTESUMS_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace mlir::dq {

/// The byte-count kernel at one vector width: a nibble table looked up by
/// PSHUFB, counts summed per 64-bit lane by PSADBW against zeros.
struct X86ByteSumForm {
  int64_t vectorBits;
  /// The PSADBW of this width, as an LLVM intrinsic.
  llvm::StringLiteral psadbw;
  /// The CPU feature that has both instructions at this width.
  llvm::StringLiteral feature;
};

inline constexpr X86ByteSumForm kX86ByteSumForms[] = {
    {128, "llvm.x86.sse2.psad.bw", "+ssse3"},
    {256, "llvm.x86.avx2.psad.bw", "+avx2"},
    {512, "llvm.x86.avx512.psad.bw.512", "+avx512bw"},
};

/// The form for vectors of `vectorBits` bits, if there is one.
inline std::optional<X86ByteSumForm> x86ByteSumForm(int64_t vectorBits) {
  for (const X86ByteSumForm &form : kX86ByteSumForms)
    if (form.vectorBits == vectorBits)
      return form;
  return std::nullopt;
}

} // namespace mlir::dq

#endif // DQ_SUPPORT_X86BYTESUMS_H
