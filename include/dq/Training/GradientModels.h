//===- GradientModels.h - gradient rules of upstream ops --------*- C++ -*-===//
//
// The reverse-mode rules (GradientOpInterface) of TOSA ops, attached as
// external models; defined in DQTraining (lib/Training/TosaGradients.cpp),
// which a tool links to differentiate TOSA models. dq's own ops implement
// the interface natively in the dialect.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_TRAINING_GRADIENTMODELS_H
#define DQ_TRAINING_GRADIENTMODELS_H

namespace mlir {
class DialectRegistry;
namespace dq {
/// Attaches the reverse-mode rules of upstream ops (TOSA, and through
/// registerLinalgGradientModels those of linalg-form models).
void registerGradientExternalModels(DialectRegistry &registry);
/// The rules of the ops of linalg-form models: the linalg named layer ops
/// (matmul, batch_matmul, NHWC convolutions, sum and max pooling), the
/// tensor ops around them (lib/Training/LinalgGradients.cpp) and
/// linalg.generic / linalg.reduce with arithmetic payloads
/// (lib/Training/PayloadGradients.cpp).
void registerLinalgGradientModels(DialectRegistry &registry);
} // namespace dq
} // namespace mlir

#endif // DQ_TRAINING_GRADIENTMODELS_H
