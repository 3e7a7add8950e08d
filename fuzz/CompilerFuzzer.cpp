//===- CompilerFuzzer.cpp - fuzz parse -> verify -> quantize -> training --===//
//
// Input: MLIR text (a model as dq-opt reads it). It is parsed and verified;
// IR that verifies goes through --dq-quantize, --dq-build-training-graph
// and --dq-build-inference-graph with one of a few option sets (chosen by a
// hash of the input); half of
// the mutations change the parsed IR rather than its text. A pass may
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
#include "dq/Training/GradientModels.h"
#include "dq/Training/Passes.h"
#include "dq/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
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
#include <cstring>
#include <memory>
#include <random>

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

using namespace mlir;

// libLLVM/libMLIR are not instrumented, but dq's copies of their inline
// allocator code are: BumpPtrAllocator then poisons slab space that the
// library's own (uninstrumented) allocations later use, and ASan reports
// use-after-poison on correct code. Manual poisoning is therefore off.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0";
}

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

//===-- IR-level mutations --------------------------------------------------===//
//
// Text mutations mostly break the syntax (a run's corpus is mostly inputs
// that stop in the parser). Half of the mutations therefore parse the input
// and change the IR itself, keeping it well formed: a float constant
// becomes a splat of a special value (0, -0, NaN, inf, huge, tiny) or is
// scaled, an integer attribute element takes another small value, an
// operand is replaced by an earlier value of the same type. The module is
// printed back (generic form where it no longer verifies).

namespace {

APFloat specialFloat(std::minstd_rand &rng, const llvm::fltSemantics &sem) {
  switch (rng() % 9) {
  case 0:
    return APFloat::getZero(sem);
  case 1:
    return APFloat::getZero(sem, /*Negative=*/true);
  case 2:
    return APFloat::getNaN(sem);
  case 3:
    return APFloat::getInf(sem, rng() % 2);
  case 4:
    return APFloat::getLargest(sem, rng() % 2);
  case 5:
    return APFloat::getSmallest(sem);
  default: {
    static const double values[] = {1.0, -1.0, 1e-30, 1e30, 0.5, 3.0, -7.5};
    APFloat value(values[rng() % 7]);
    bool lost;
    value.convert(sem, APFloat::rmNearestTiesToEven, &lost);
    return value;
  }
  }
}

int64_t specialInt(std::minstd_rand &rng) {
  static const int64_t values[] = {-1, 0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 64, 1 << 20};
  return values[rng() % (sizeof(values) / sizeof(*values))];
}

/// One attribute of `op` changed, if it has one this knows how to change.
bool mutateAttribute(Operation *op, std::minstd_rand &rng) {
  SmallVector<NamedAttribute> attrs(op->getAttrs());
  if (attrs.empty())
    return false;
  NamedAttribute named = attrs[rng() % attrs.size()];
  Attribute attr = named.getValue();
  Attribute replacement;
  // Element-wise edits copy every value, which a huge splat (the seeds hold
  // a 65536x3x3x65536 weight) does not fit in memory for: such constants
  // only get splat replacements.
  constexpr int64_t kMaxEditedElements = 1 << 16;
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr)) {
    auto type = cast<ShapedType>(dense.getType());
    const llvm::fltSemantics &sem =
        cast<FloatType>(type.getElementType()).getFloatSemantics();
    if (rng() % 2 || dense.getNumElements() > kMaxEditedElements) {
      replacement = DenseElementsAttr::get(type, specialFloat(rng, sem));
    } else {
      // One element (or all, scaled) changed.
      SmallVector<APFloat> values(dense.getValues<APFloat>());
      if (values.empty())
        return false;
      if (rng() % 2) {
        values[rng() % values.size()] = specialFloat(rng, sem);
      } else {
        APFloat scale = specialFloat(rng, sem);
        for (APFloat &v : values)
          v.multiply(scale, APFloat::rmNearestTiesToEven);
      }
      replacement = DenseElementsAttr::get(type, values);
    }
  } else if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    auto type = cast<ShapedType>(dense.getType());
    auto element = dyn_cast<IntegerType>(type.getElementType());
    if (!element) // index
      return false;
    unsigned width = element.getWidth();
    if (dense.getNumElements() > kMaxEditedElements)
      return false;
    SmallVector<APInt> values(dense.getValues<APInt>());
    if (values.empty())
      return false;
    values[rng() % values.size()] =
        APInt(width, static_cast<uint64_t>(specialInt(rng)), /*isSigned=*/true,
              /*implicitTrunc=*/true);
    replacement = DenseElementsAttr::get(type, values);
  } else if (auto array = dyn_cast<DenseI64ArrayAttr>(attr)) {
    SmallVector<int64_t> values(array.asArrayRef());
    if (values.empty())
      return false;
    values[rng() % values.size()] = specialInt(rng);
    replacement = DenseI64ArrayAttr::get(op->getContext(), values);
  } else if (auto integer = dyn_cast<IntegerAttr>(attr)) {
    if (!isa<IntegerType>(integer.getType()))
      return false;
    replacement = IntegerAttr::get(integer.getType(), specialInt(rng));
  } else if (auto real = dyn_cast<FloatAttr>(attr)) {
    replacement = FloatAttr::get(
        real.getType(),
        specialFloat(rng, cast<FloatType>(real.getType()).getFloatSemantics()));
  } else {
    return false;
  }
  op->setAttr(named.getName(), replacement);
  return true;
}

/// One operand of `op` replaced by another value of its type defined
/// earlier in the same block (or an argument of the block).
bool mutateOperand(Operation *op, std::minstd_rand &rng) {
  if (op->getNumOperands() == 0 || !op->getBlock())
    return false;
  unsigned index = rng() % op->getNumOperands();
  Type type = op->getOperand(index).getType();
  SmallVector<Value> candidates;
  Block *block = op->getBlock();
  for (BlockArgument arg : block->getArguments())
    if (arg.getType() == type)
      candidates.push_back(arg);
  for (Operation &earlier : *block) {
    if (&earlier == op)
      break;
    for (Value result : earlier.getResults())
      if (result.getType() == type)
        candidates.push_back(result);
  }
  if (candidates.size() < 2)
    return false;
  op->setOperand(index, candidates[rng() % candidates.size()]);
  return true;
}

size_t mutateIR(uint8_t *data, size_t size, size_t maxSize, unsigned seed) {
  std::minstd_rand rng(seed);
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  ScopedDiagnosticHandler handler(&context,
                                  [](Diagnostic &) { return success(); });
  std::string text(reinterpret_cast<const char *>(data), size);
  ParserConfig config(&context, /*verifyAfterParse=*/true);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, config);
  if (!module)
    return 0;
  SmallVector<Operation *> ops;
  module->walk([&](Operation *op) {
    if (op != module->getOperation())
      ops.push_back(op);
  });
  if (ops.empty())
    return 0;
  bool changed = false;
  for (int attempt = 0; attempt < 8 && !changed; ++attempt) {
    Operation *op = ops[rng() % ops.size()];
    changed = rng() % 3 ? mutateAttribute(op, rng) : mutateOperand(op, rng);
  }
  if (!changed)
    return 0;
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  os.flush();
  if (printed.size() > maxSize)
    return 0;
  std::memcpy(data, printed.data(), printed.size());
  return printed.size();
}

} // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size,
                                          size_t maxSize, unsigned seed) {
  // DQ_FUZZ_TEXT_MUTATIONS=1: libFuzzer's mutations only (for comparison).
  static const bool textOnly = std::getenv("DQ_FUZZ_TEXT_MUTATIONS") != nullptr;
  if (!textOnly && seed % 2 == 0)
    if (size_t mutated = mutateIR(data, size, maxSize, seed >> 1))
      return mutated;
  return LLVMFuzzerMutate(data, size, maxSize);
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
  // Without the "builtin.module(...)" anchor: that would nest the passes
  // under the module pass manager and run them on modules inside it.
  std::string quantize =
      std::string("dq-quantize{") + kQuantizeOptions[variant] + "}";
  // The training graph is built for the module's first function with a
  // body (test inputs name them freely), @model when there is none.
  std::string funcName = "model";
  for (auto func : module->getOps<func::FuncOp>())
    if (!func.isExternal()) {
      funcName = func.getSymName().str();
      break;
    }
  std::string training = std::string("dq-build-training-graph{") +
                         kTrainingOptions[variant] + " func=" + funcName + "}";
  if (!runPass(context, *module, quantize))
    return 0;
  ++quantized;
  if (!runPass(context, *module, training))
    return 0;
  ++trained;
  for (const char *name : {"init_state", "train_step", "predict"})
    if (!module->lookupSymbol<func::FuncOp>(name))
      ::dq::fuzz::fail(std::string("dq-build-training-graph succeeded without "
                                   "building @") +
                       name);

  // The printed training module parses and verifies again (dq-compile reads
  // it from text).
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  os.flush();
  OwningOpRef<ModuleOp> again = parseSourceString<ModuleOp>(printed, config);
  if (!again)
    ::dq::fuzz::fail("the training module does not parse after printing");

  // The inference graph of the initial state (bit-serial, batch kept or
  // rewritten to 1 or 3), which must leave one @predict that verifies.
  static const char *const kInferenceOptions[] = {"", "batch=1",
                                                  "batch=3 window-packing"};
  std::string inference = std::string("dq-build-inference-graph{") +
                          kInferenceOptions[variant % 3] + "}";
  if (!runPass(context, *module, inference))
    return 0;
  if (!module->lookupSymbol<func::FuncOp>("predict"))
    ::dq::fuzz::fail("dq-build-inference-graph succeeded without @predict");
  return 0;
}
