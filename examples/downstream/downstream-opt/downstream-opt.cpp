//===- downstream-opt.cpp - an optimizer built on an installed dq ---------===//
//
// mlir-opt with dq and one pass of this project's own: every upstream
// dialect, extension and pass, then dq's with the one call of
// dq/Registration.h.
//
//===----------------------------------------------------------------------===//

#include "CountQuantizedLayers.h"

#include "dq/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllPasses();
  mlir::dq::registerDQ(registry);
  downstream::registerCountQuantizedLayersPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "dq downstream example optimizer\n", registry));
}
