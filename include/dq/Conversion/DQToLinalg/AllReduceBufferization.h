//===- AllReduceBufferization.h - dq.all_reduce on buffers ------*- C++ -*-===//

#ifndef DQ_CONVERSION_DQTOLINALG_ALLREDUCEBUFFERIZATION_H
#define DQ_CONVERSION_DQTOLINALG_ALLREDUCEBUFFERIZATION_H

#include "dialects/dq/DQOps.h"

#include "mlir/IR/DialectRegistry.h"

#include <string>

namespace mlir::dq {

/// dq.all_reduce bufferizes to a copy into a fresh buffer and a call of
/// `allReduceSymbol(...)(memref<?xT>)` on it (the model library's
/// collective, runtime/lib/ModelCollectives.c).
void registerAllReduceBufferizationModel(DialectRegistry &registry);

/// The model library function of an all-reduce:
/// `dq_model_all_reduce_<sum|mean>_<f32|f64|i32>`.
std::string allReduceSymbol(Reduction reduction, Type element);

} // namespace mlir::dq

#endif
