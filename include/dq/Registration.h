//===- Registration.h - register everything dq-opt provides -----*- C++ -*-===//

#ifndef DQ_REGISTRATION_H
#define DQ_REGISTRATION_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::dq {

/// The dq dialect plus the upstream dialects, interfaces and translations
/// its pipelines use.
void registerAllDialects(DialectRegistry &registry);

/// Every dq pass and pipeline plus the upstream passes.
void registerAllPasses();

} // namespace mlir::dq

#endif // DQ_REGISTRATION_H
