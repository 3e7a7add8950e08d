//===- VerifyTrainingModule.cpp - dq-verify-training-module ---------------===//
//
// The contract checks of readTrainingModule (dq/Contract/TrainingModule.h)
// as a pass, for modules written or edited outside the builder.
//
//===----------------------------------------------------------------------===//

#include "dq/Training/Passes.h"

#include "dq/Contract/TrainingModule.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQVERIFYTRAININGMODULE
#include "dq/Training/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

struct VerifyTrainingModulePass
    : public mlir::dq::impl::DQVerifyTrainingModuleBase<
          VerifyTrainingModulePass> {
  void runOnOperation() override {
    if (failed(mlir::dq::readTrainingModule(getOperation())))
      return signalPassFailure();
    markAllAnalysesPreserved();
  }
};

} // namespace
