//===- Registration.h - register dq with an MLIR tool -----------*- C++ -*-===//
//
// The entry point for tools built on dq (docs/Design.md, "Using dq as a
// library"): a tool that registers upstream MLIR as mlir-opt does adds dq
// with one call,
//
//   mlir::registerAllDialects(registry);
//   mlir::registerAllExtensions(registry);
//   mlir::registerAllPasses();
//   mlir::dq::registerDQ(registry);
//
// The two halves of registerDQ are what the mlir-opt plugin (lib/Plugin)
// calls from its dialect and pass entry points.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_REGISTRATION_H
#define DQ_REGISTRATION_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::dq {

/// Everything dq contributes to a context, in `registry`: the dq dialect,
/// the gradient interface models on upstream (TOSA) ops, and the upstream
/// interfaces dq's pipelines need beyond the usual dialects and extensions
/// (LLVM IR translations, the NVVM target of gpu-module-to-binary).
/// Adding them again is harmless.
void registerDQDialects(DialectRegistry &registry);

/// dq's passes and pass pipelines, in the global pass registry. Only the
/// first call in a process registers; later ones do nothing.
void registerDQPasses();

/// registerDQDialects(registry) and registerDQPasses(): dq next to whatever
/// else the tool registers.
void registerDQ(DialectRegistry &registry);

/// dq-opt's set: upstream MLIR's dialects and extensions plus
/// registerDQDialects.
void registerAllDialects(DialectRegistry &registry);

/// dq-opt's set: upstream MLIR's passes plus registerDQPasses.
void registerAllPasses();

} // namespace mlir::dq

#endif // DQ_REGISTRATION_H
