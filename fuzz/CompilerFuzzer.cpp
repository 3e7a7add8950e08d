//===- CompilerFuzzer.cpp - fuzz parse -> verify -> quantize -> training --===//
//
// Input: MLIR text (a model as dq-opt reads it). It is parsed and verified;
// IR that verifies goes through --dq-quantize and --dq-build-training-graph
// with one of a few option sets (chosen by a hash of the input). A pass may
// fail with a diagnostic; it must not crash, and IR a pass claims to have
// produced must verify and survive printing and parsing again.
//
// Registers the dq dialect and passes and every upstream dialect and
// extension, as dq-opt does, but not dq's lowering and GPU passes (smaller
// fuzz build).
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "dialects/dq/DQDialect.h"
#include "dq/Training/GradientOpInterface.h"
#include "dq/Training/Passes.h"
#include "dq/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <memory>

using namespace mlir;

static DialectRegistry *registry;

// How deep inputs get; printed at exit with DQ_FUZZ_STATS=1 (run over a
// corpus with -runs=0 to see how much of it reaches the passes).
static size_t inputs, parsed, quantized, trained;
static void printStats() {
  llvm::errs() << "dq-fuzz-compiler: " << inputs << " inputs, " << parsed
               << " parsed and verified, " << quantized
               << " through --dq-quantize, " << trained
               << " through --dq-build-training-graph\n";
}

// Option sets of --dq-quantize; --dq-build-training-graph follows each.
static const char *const kQuantizeOptions[] = {
    "w-bits=2 a-bits=2",
    "w-bits=1 a-bits=3 w-scheme=lqnets a-scheme=lqnets",
    "w-bits=3 a-bits=2 w-scheme=dq-lean trim=0.05 keep-first-last=false "
    "keep-shortcuts=false",
    "w-bits=4 a-bits=1 keep-first-last=false",
};
static const char *const kTrainingOptions[] = {
    "",
    "momentum=0 weight-decay=0 seed=3",
    "ridge=0.5 act-momentum=0.5 bn-momentum=0.5",
    "lqnets-basis-momentum=0 trim-epsilon=1e-3",
};
constexpr size_t kVariants = sizeof(kQuantizeOptions) / sizeof(*kQuantizeOptions);

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  registry = new DialectRegistry();
  registry->insert<mlir::dq::DQDialect>();
  registerAllDialects(*registry);
  registerAllExtensions(*registry);
  mlir::dq::registerGradientExternalModels(*registry);
  mlir::dq::registerDQTransformsPasses();
  mlir::dq::registerDQTrainingPasses();
  if (std::getenv("DQ_FUZZ_STATS"))
    std::atexit(printStats);
  return 0;
}

static uint64_t hashOf(const uint8_t *data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < size; ++i)
    h = (h ^ data[i]) * 0x100000001b3ULL;
  return h;
}

/// Runs `pipeline` (text) on `module`. False when the pass failed (with a
/// diagnostic: fine); aborts when it succeeded but left IR that does not
/// verify.
static bool runPass(MLIRContext &context, ModuleOp module,
                    const std::string &pipeline) {
  PassManager pm(&context);
  // Verified here instead, to tell "the pass failed" from "the pass broke
  // the IR".
  pm.enableVerifier(false);
  std::string parseErrors;
  llvm::raw_string_ostream errors(parseErrors);
  if (failed(parsePassPipeline(pipeline, pm, errors)))
    ::dq::fuzz::fail("bad fuzzer pipeline '" + pipeline + "': " + parseErrors);
  if (failed(pm.run(module)))
    return false;
  if (failed(verify(module)))
    ::dq::fuzz::fail("'" + pipeline + "' succeeded but its output does not "
                   "verify");
  return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  context.allowUnregisteredDialects(false);
  // Swallow diagnostics: errors are expected on fuzzed IR. Set
  // DQ_FUZZ_VERBOSE=1 to see them.
  static const bool verbose = std::getenv("DQ_FUZZ_VERBOSE") != nullptr;
  ScopedDiagnosticHandler handler(&context, [](Diagnostic &diag) {
    if (verbose)
      llvm::errs() << diag.getLocation() << ": " << diag << "\n";
    return success();
  });

  ParserConfig config(&context, /*verifyAfterParse=*/true);
  // The lexer reads up to a terminating NUL, as files give it (the
  // fuzzer's buffer has none).
  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, config);
  ++inputs;
  if (!module)
    return 0;
  ++parsed;

  size_t variant = hashOf(data, size) % kVariants;
  std::string quantize = std::string("builtin.module(dq-quantize{") +
                         kQuantizeOptions[variant] + "})";
  std::string training = std::string("builtin.module(dq-build-training-graph{") +
                         kTrainingOptions[variant] + "})";
  if (!runPass(context, *module, quantize))
    return 0;
  ++quantized;
  if (!runPass(context, *module, training))
    return 0;
  ++trained;

  // The printed training module parses and verifies again (dq-compile reads
  // it from text).
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  os.flush();
  OwningOpRef<ModuleOp> again = parseSourceString<ModuleOp>(printed, config);
  if (!again)
    ::dq::fuzz::fail("the training module does not parse after printing");
  return 0;
}
