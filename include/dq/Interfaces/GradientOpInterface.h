//===- GradientOpInterface.h - reverse-mode rules ---------------*- C++ -*-===//
//
// Below the dq dialect (whose ops implement it) and the training passes
// (which call it); the rules of upstream ops: dq/Training/GradientModels.h.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_INTERFACES_GRADIENTOPINTERFACE_H
#define DQ_INTERFACES_GRADIENTOPINTERFACE_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include "dq/Interfaces/GradientOpInterface.h.inc"

#endif // DQ_INTERFACES_GRADIENTOPINTERFACE_H
