//===- Checks.h - validation of options and inputs --------------*- C++ -*-===//
//
// Shared checks for hostile input: numeric pass options out of range, and
// text IR files that are not text. Errors are emitted on a location with no
// operation attached, so a bad option does not print the whole module as a
// "see current operation" note.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_SUPPORT_CHECKS_H
#define DQ_SUPPORT_CHECKS_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <limits>

namespace mlir::dq {

/// "<pass>: option <option> " at `loc`, to be completed by the caller.
InFlightDiagnostic emitOptionError(Location loc, StringRef pass,
                                   StringRef option);

/// An allowed interval of a floating-point option. Values must be finite
/// (NaN and infinities are refused) and within [lo, hi], with each end
/// inclusive or exclusive. `hi = +infinity` means "no upper bound" (the
/// value must still be finite).
struct OptionRange {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool loInclusive = true;
  bool hiInclusive = true;

  static OptionRange closed(double lo, double hi) {
    return {lo, hi, true, true};
  }
  /// [lo, hi)
  static OptionRange rightOpen(double lo, double hi) {
    return {lo, hi, true, false};
  }
  /// (lo, hi]
  static OptionRange leftOpen(double lo, double hi) {
    return {lo, hi, false, true};
  }
  static OptionRange atLeast(double lo) {
    return {lo, std::numeric_limits<double>::infinity(), true, false};
  }
  static OptionRange positive() {
    return {0.0, std::numeric_limits<double>::infinity(), false, false};
  }

  bool contains(double value) const;
  /// "in [0, 1)", "a finite number > 0", ...
  std::string describe() const;
};

/// Fails with "<pass>: option <option> must be <range>, got <value>" at
/// `loc` unless `value` is in `range`.
LogicalResult checkOption(Location loc, StringRef pass, StringRef option,
                          double value, OptionRange range);

/// The same for integer options, in [lo, hi].
LogicalResult checkOption(Location loc, StringRef pass, StringRef option,
                          int64_t value, int64_t lo, int64_t hi);

/// The function a pass works on: the one named `name`, or, when `name` is
/// empty, the only public function with a body (with several, the one named
/// `fallback` if there is one). Fails with "<pass>: ..." at the module's
/// location naming what is there (never the module as a note).
FailureOr<FunctionOpInterface> selectFunction(Operation *module,
                                              StringRef name, StringRef pass,
                                              StringRef fallback = "");

/// Fails with "<pass>: recursive call: @a -> @b -> @a ..." at the call that
/// closes a cycle, if a function reachable from `root` through calls (the
/// callees resolved in `root`'s symbol tables) calls itself, directly or
/// through others: the training graph and the generated code need a static
/// call depth, and a recursive model would overflow the stack at run time.
LogicalResult checkNoRecursion(Operation *root, StringRef pass);

/// True if `buffer` starts with the MLIR bytecode magic "ML\xefR".
bool isMLIRBytecode(const llvm::MemoryBuffer &buffer);

/// Text IR must not contain NUL bytes: MLIR's lexer skips them like
/// whitespace, so a zeroed or truncated file would parse as an empty module.
/// Prints "<file>:<line>:<col>: error: ..." for the first NUL to `os` and
/// fails; bytecode (which may hold any byte) passes.
LogicalResult checkTextIRInput(const llvm::MemoryBuffer &buffer,
                               llvm::raw_ostream &os);

} // namespace mlir::dq

#endif // DQ_SUPPORT_CHECKS_H
