//===- ProjectSteps.h - dq.project as a step function -----------*- C++ -*-===//
//
// A nearest, unipolar dq.project on a constant basis (an inference model's
// activation quantizer) is a step function of its input with thresholds
// found at compile time (numerics::LevelTable::steps). Its lowering
// (DQToLinalg.cpp) and the CPU packing of its codes (BitSerial.cpp), which
// computes them from the floats instead of reading a tensor of codes, build
// it with the same function.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_LIB_CONVERSION_DQTOLINALG_PROJECTSTEPS_H
#define DQ_LIB_CONVERSION_DQTOLINALG_PROJECTSTEPS_H

#include "dialects/dq/DQOps.h"
#include "dq/Numerics/Levels.h"

#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::dq::project_steps {

using Steps = ::dq::numerics::LevelTable::Steps;

/// The steps of `op` when it is nearest and unipolar on a constant f32
/// basis; nothing otherwise.
std::optional<Steps> constantUnipolarSteps(ProjectOp op);

/// The code of `x` (f32, or a vector of f32) under `steps`, as `codeType`
/// (an integer type; the codes are a vector of it for a vector `x`): the
/// code of the last threshold <= x; NaN takes code 0, as the scan gives.
Value stepCode(OpBuilder &b, Location loc, Value x, const Steps &steps,
               Type codeType);

/// The steps of the dq.project whose codes `pack` packs, when the CPU
/// packing computes them from the floats: the project has steps, `pack`
/// reads static codes of rank >= 3, and a zero (the padding of a windowed
/// pack) takes code 0.
std::optional<Steps> fusedProjectSteps(PackBitsOp pack);

} // namespace mlir::dq::project_steps

#endif // DQ_LIB_CONVERSION_DQTOLINALG_PROJECTSTEPS_H
