//===- dq-opt.cpp - the dq optimizer driver -------------------------------===//
//
// Like mlir-opt: parses IR, runs dq and upstream passes and pipelines, prints
// the result.
//
//===----------------------------------------------------------------------===//

#include "dq/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::dq::registerAllPasses();
  mlir::DialectRegistry registry;
  mlir::dq::registerAllDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "dq optimizer: Direct Quantization compiler driver\n",
      registry));
}
