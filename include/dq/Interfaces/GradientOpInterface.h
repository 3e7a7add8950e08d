//===- GradientOpInterface.h - reverse-mode rules ---------------*- C++ -*-===//

#ifndef DQ_TRAINING_GRADIENTOPINTERFACE_H
#define DQ_TRAINING_GRADIENTOPINTERFACE_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include "dq/Training/GradientOpInterface.h.inc"

namespace mlir {
class DialectRegistry;
namespace dq {
/// Attaches the reverse-mode rules of upstream ops (TOSA, linalg).
void registerGradientExternalModels(DialectRegistry &registry);
} // namespace dq
} // namespace mlir

#endif // DQ_TRAINING_GRADIENTOPINTERFACE_H
