//===- CPUCodegen.cpp - LLVM IR to native object files, in parallel -------===//
//
// Partitioning (compileSplit): function definitions are dealt to the
// partitions largest first, each to the partition with the fewest
// instructions so far (greedy balancing; the order is the module's, so the
// result is deterministic). A global variable is defined in the partition
// of its first user. A local symbol (internal or private: the outlined
// OpenMP bodies, the constants) referenced from another partition becomes
// a hidden global, renamed "__dq_part.<name>": hidden symbols resolve
// inside the library and are not exported. Each partition is cloned from
// the module, written as bitcode and read back by its worker into a fresh
// LLVMContext (an LLVMContext is not thread-safe, CloneModule clones into
// the source's), as LLVM's own parallel code generator does.
//
//===----------------------------------------------------------------------===//

#include "dq/Codegen/CPUCodegen.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instruction.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Linker/Linker.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Pass.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/StandardInstrumentations.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/thread.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/Transforms/Utils/ValueMapper.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <numeric>
#include <optional>

using namespace llvm;

namespace dq::codegen {

namespace {

Error makeError(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

/// Scalar selects whose condition compares floating-point values get
/// !unpredictable: they decide on tensor data (the branchless level searches
/// of the quantizers, argmin over levels), which no branch predictor follows.
/// Without it CodeGenPrepare and the X86 cmov converter turn the selects of
/// a search whose compares read a table into branches, and each element then
/// pays a misprediction per probe (8 per element for 256 levels).
void markValueSelectsUnpredictable(Module &module) {
  MDNode *unpredictable = MDBuilder(module.getContext()).createUnpredictable();
  for (Function &function : module)
    for (Instruction &instruction : instructions(function))
      if (auto *select = dyn_cast<SelectInst>(&instruction))
        if (!select->getType()->isVectorTy() &&
            isa<FCmpInst>(select->getCondition()))
          select->setMetadata(LLVMContext::MD_unpredictable, unpredictable);
}

/// The optimizer of mlir::makeOptimizingTransformer (the pipeline dq-compile
/// always ran): the default per-module pipeline at `optLevel`, with loop
/// unrolling, interleaving and both vectorizers on. With -time-passes the
/// passes are timed (on one thread).
Error optimize(Module &module, TargetMachine &machine, unsigned optLevel) {
  OptimizationLevel level;
  switch (optLevel) {
  case 0:
    level = OptimizationLevel::O0;
    break;
  case 1:
    level = OptimizationLevel::O1;
    break;
  case 2:
    level = OptimizationLevel::O2;
    break;
  case 3:
    level = OptimizationLevel::O3;
    break;
  default:
    return makeError("invalid LLVM optimization level " + Twine(optLevel) +
                     " (0-3)");
  }
  LoopAnalysisManager lam;
  FunctionAnalysisManager fam;
  CGSCCAnalysisManager cgam;
  ModuleAnalysisManager mam;
  PipelineTuningOptions tuning;
  tuning.LoopUnrolling = true;
  tuning.LoopInterleaving = true;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  PassInstrumentationCallbacks callbacks;
  std::optional<StandardInstrumentations> instrumentations;
  if (TimePassesIsEnabled) {
    instrumentations.emplace(module.getContext(), /*DebugLogging=*/false);
    instrumentations->registerCallbacks(callbacks, &mam);
  }
  PassBuilder builder(&machine, tuning, std::nullopt,
                      instrumentations ? &callbacks : nullptr);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  ModulePassManager passes = builder.buildPerModuleDefaultPipeline(level);
  passes.run(module, mam);
  markValueSelectsUnpredictable(module);
  return Error::success();
}

/// The outlined bodies of the OpenMP parallel regions (the microtasks that
/// __kmpc_fork_call runs on the threads) and every function they call.
SmallPtrSet<const Function *, 32> parallelCode(Module &module) {
  SmallPtrSet<const Function *, 32> reached;
  SmallVector<const Function *> worklist;
  if (Function *fork = module.getFunction("__kmpc_fork_call"))
    for (const User *user : fork->users())
      if (const auto *call = dyn_cast<CallBase>(user))
        if (call->getCalledFunction() == fork && call->arg_size() > 2)
          if (const auto *microtask = dyn_cast<Function>(
                  call->getArgOperand(2)->stripPointerCasts()))
            worklist.push_back(microtask);
  while (!worklist.empty()) {
    const Function *function = worklist.pop_back_val();
    if (!reached.insert(function).second)
      continue;
    for (const Instruction &instruction : instructions(*function))
      if (const auto *call = dyn_cast<CallBase>(&instruction))
        if (const Function *callee = call->getCalledFunction())
          if (!callee->isDeclaration())
            worklist.push_back(callee);
  }
  return reached;
}

/// Serial code of a parallel module gets optsize: the loops outside the
/// parallel regions are the ones below the parallel threshold (small), and
/// unrolling and vectorizing them made twice the machine code of the
/// parallel kernels. A module without parallel regions is left alone:
/// there the serial code is all of the work.
void sizeOptimizeSerialCode(Module &module) {
  SmallPtrSet<const Function *, 32> parallel = parallelCode(module);
  if (parallel.empty())
    return;
  for (Function &function : module)
    if (!function.isDeclaration() && !parallel.contains(&function) &&
        !function.hasFnAttribute(Attribute::OptimizeNone) &&
        !function.hasFnAttribute(Attribute::MinSize))
      function.addFnAttr(Attribute::OptimizeForSize);
}

/// A basic block of a few thousand memory operations (a register tile, the
/// spills of a call with thousands of arguments) makes the instruction
/// schedulers' dependence graph quadratic: SUnit::addPred was 44 % of the
/// code generation of such a function. LLVM bounds the tracked memory
/// operations at -dag-maps-huge-region (1000 by default); 100 cut the code
/// generation of a ResNet-20 training step by a third and left its step time
/// unchanged (bench/RESULTS-compile.md). Set once, unless the host program
/// set the option itself.
void boundSchedulerMemoryMaps() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto &registered = cl::getRegisteredOptions();
    auto it = registered.find("dag-maps-huge-region");
    if (it == registered.end() || it->second->getNumOccurrences() > 0)
      return;
    (void)it->second->addOccurrence(0, it->first, "100");
  });
}

/// The glue functions get optnone (and noinline, which optnone needs): the
/// code generator selects their instructions without the DAG combiner.
void markGlue(Module &module, ArrayRef<std::string> names) {
  for (const std::string &name : names) {
    Function *function = module.getFunction(name);
    if (!function || function->isDeclaration())
      continue;
    // optnone excludes the other optimization attributes.
    function->removeFnAttr(Attribute::AlwaysInline);
    function->removeFnAttr(Attribute::OptimizeForSize);
    function->removeFnAttr(Attribute::MinSize);
    function->addFnAttr(Attribute::NoInline);
    function->addFnAttr(Attribute::OptimizeNone);
  }
}

Error emitObject(Module &module, TargetMachine &machine, std::string &object) {
  SmallVector<char, 0> buffer;
  raw_svector_ostream os(buffer);
  legacy::PassManager passes;
  if (machine.addPassesToEmitFile(passes, os, nullptr,
                                  CodeGenFileType::ObjectFile))
    return makeError("the target cannot emit object files");
  passes.run(module);
  object.assign(buffer.begin(), buffer.end());
  return Error::success();
}

uint64_t instructionCount(const Function &function) {
  return function.getInstructionCount();
}

/// Why `module` cannot be partitioned this simple way; empty when it can.
std::string unsplittable(const Module &module) {
  if (!module.alias_empty() || !module.ifunc_empty())
    return "the module has aliases or ifuncs";
  if (!module.getComdatSymbolTable().empty())
    return "the module has comdats";
  if (!module.getModuleInlineAsm().empty())
    return "the module has module-level inline assembly";
  for (const GlobalVariable &variable : module.globals())
    if (variable.hasAppendingLinkage())
      return "the module has appending globals (" +
             variable.getName().str() + ")";
  return "";
}

/// The functions and global variables whose code or initializer refer to
/// `value`, directly or through constants.
void collectUsers(const Value *value, SmallVectorImpl<const Function *> &functions,
                  SmallVectorImpl<const GlobalVariable *> &variables) {
  SmallVector<const User *, 16> worklist(value->users());
  SmallPtrSet<const User *, 16> seen;
  while (!worklist.empty()) {
    const User *user = worklist.pop_back_val();
    if (!seen.insert(user).second)
      continue;
    if (const auto *instruction = dyn_cast<Instruction>(user)) {
      functions.push_back(instruction->getFunction());
    } else if (const auto *variable = dyn_cast<GlobalVariable>(user)) {
      variables.push_back(variable);
    } else if (const auto *function = dyn_cast<Function>(user)) {
      // A personality or prefix constant.
      functions.push_back(function);
    } else if (isa<Constant>(user)) {
      worklist.append(user->user_begin(), user->user_end());
    }
  }
}

/// One partition on its way through a worker.
struct Partition {
  std::string bitcode, optimizedBitcode;
  std::string error;
};

Expected<CodegenResult> compileWhole(std::unique_ptr<Module> module,
                                     const TargetSpec &spec,
                                     const CodegenOptions &options,
                                     CodegenResult result) {
  Expected<std::unique_ptr<TargetMachine>> machine = createTargetMachine(spec);
  if (!machine)
    return machine.takeError();
  PartitionStats stats;
  for (const Function &function : *module)
    if (!function.isDeclaration()) {
      ++stats.functions;
      uint64_t count = instructionCount(function);
      stats.instructions += count;
      if (stats.largestFunction.empty() ||
          count > instructionCount(*module->getFunction(stats.largestFunction)))
        stats.largestFunction = function.getName().str();
    }
  if (options.onStage)
    options.onStage("LLVM optimization");
  auto start = std::chrono::steady_clock::now();
  if (Error error = optimize(*module, **machine, options.optLevel))
    return std::move(error);
  stats.optimizeSeconds = secondsSince(start);
  if (options.optimizedIR)
    module->print(*options.optimizedIR, nullptr);
  markGlue(*module, options.glueFunctions);
  if (options.onStage)
    options.onStage("code generation");
  start = std::chrono::steady_clock::now();
  result.objects.emplace_back();
  if (Error error = emitObject(*module, **machine, result.objects.back()))
    return std::move(error);
  stats.codegenSeconds = secondsSince(start);
  result.partitions.push_back(stats);
  result.threads = 1;
  return result;
}

Expected<CodegenResult> compileSplit(std::unique_ptr<Module> module,
                                     unsigned count, const TargetSpec &spec,
                                     const CodegenOptions &options,
                                     CodegenResult result) {
  if (options.onStage)
    options.onStage("partitioning");
  // Function definitions to partitions, largest first.
  std::vector<Function *> definitions;
  for (Function &function : *module)
    if (!function.isDeclaration())
      definitions.push_back(&function);
  std::vector<uint64_t> cost(definitions.size());
  for (size_t i = 0; i < definitions.size(); ++i)
    cost[i] = instructionCount(*definitions[i]);
  std::vector<size_t> order(definitions.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return cost[a] > cost[b]; });
  result.partitions.assign(count, PartitionStats());
  DenseMap<const GlobalValue *, unsigned> partitionOf;
  for (size_t i : order) {
    unsigned lightest = 0;
    for (unsigned k = 1; k < count; ++k)
      // +functions: empty partitions fill before a tie is broken by index.
      if (result.partitions[k].instructions + result.partitions[k].functions <
          result.partitions[lightest].instructions +
              result.partitions[lightest].functions)
        lightest = k;
    PartitionStats &stats = result.partitions[lightest];
    if (stats.functions == 0)
      stats.largestFunction = definitions[i]->getName().str();
    ++stats.functions;
    stats.instructions += cost[i];
    partitionOf[definitions[i]] = lightest;
  }
  // Global variables to the partition of their first user (by partition
  // index), else the first partition.
  for (GlobalVariable &variable : module->globals()) {
    if (variable.isDeclaration())
      continue;
    SmallVector<const Function *> functions;
    SmallVector<const GlobalVariable *> variables;
    collectUsers(&variable, functions, variables);
    unsigned home = count;
    for (const Function *function : functions)
      home = std::min(home, partitionOf.lookup(function));
    partitionOf[&variable] = home == count ? 0 : home;
  }
  // Local symbols that other partitions refer to become hidden globals.
  unsigned anonymous = 0;
  for (GlobalValue &value : module->global_values()) {
    if (!value.hasLocalLinkage() || value.isDeclaration())
      continue;
    SmallVector<const Function *> functions;
    SmallVector<const GlobalVariable *> variables;
    collectUsers(&value, functions, variables);
    unsigned home = partitionOf.lookup(&value);
    bool shared = llvm::any_of(functions, [&](const Function *f) {
                    return partitionOf.lookup(f) != home;
                  }) ||
                  llvm::any_of(variables, [&](const GlobalVariable *v) {
                    return partitionOf.lookup(v) != home;
                  });
    if (!shared)
      continue;
    value.setLinkage(GlobalValue::ExternalLinkage);
    value.setVisibility(GlobalValue::HiddenVisibility);
    value.setDSOLocal(true);
    if (value.hasName())
      value.setName("__dq_part." + value.getName());
    else
      value.setName("__dq_part.anonymous." + Twine(anonymous++));
  }
  std::vector<Partition> partitions(count);
  for (unsigned k = 0; k < count; ++k) {
    ValueToValueMapTy map;
    std::unique_ptr<Module> part =
        CloneModule(*module, map, [&](const GlobalValue *value) {
          auto it = partitionOf.find(value);
          return it != partitionOf.end() && it->second == k;
        });
    raw_string_ostream os(partitions[k].bitcode);
    WriteBitcodeToFile(*part, os);
  }
  module.reset();

  // Largest partitions first; each worker takes the next one.
  std::vector<unsigned> schedule(count);
  std::iota(schedule.begin(), schedule.end(), 0);
  std::stable_sort(schedule.begin(), schedule.end(), [&](unsigned a, unsigned b) {
    return result.partitions[a].instructions > result.partitions[b].instructions;
  });
  unsigned threads = options.threads;
  if (threads == 0)
    threads = llvm::hardware_concurrency().compute_thread_count();
  // The pass timers are not thread-safe.
  if (TimePassesIsEnabled || !llvm_is_multithreaded())
    threads = 1;
  threads = std::max(1u, std::min(threads, count));
  result.threads = threads;
  result.objects.assign(count, std::string());

  auto compileOne = [&](unsigned k) {
    Partition &partition = partitions[k];
    PartitionStats &stats = result.partitions[k];
    LLVMContext context;
    Expected<std::unique_ptr<Module>> part = parseBitcodeFile(
        MemoryBufferRef(partition.bitcode, "partition"), context);
    if (!part) {
      partition.error = toString(part.takeError());
      return;
    }
    std::string().swap(partition.bitcode);
    Expected<std::unique_ptr<TargetMachine>> machine =
        createTargetMachine(spec);
    if (!machine) {
      partition.error = toString(machine.takeError());
      return;
    }
    auto start = std::chrono::steady_clock::now();
    if (Error error = optimize(**part, **machine, options.optLevel)) {
      partition.error = toString(std::move(error));
      return;
    }
    stats.optimizeSeconds = secondsSince(start);
    if (options.optimizedIR) {
      raw_string_ostream os(partition.optimizedBitcode);
      WriteBitcodeToFile(**part, os);
    }
    markGlue(**part, options.glueFunctions);
    start = std::chrono::steady_clock::now();
    if (Error error = emitObject(**part, **machine, result.objects[k])) {
      partition.error = toString(std::move(error));
      return;
    }
    stats.codegenSeconds = secondsSince(start);
  };
  if (options.onStage)
    options.onStage("LLVM optimization and code generation");
  std::atomic<unsigned> next{0};
  auto work = [&] {
    for (unsigned i = next++; i < count; i = next++)
      compileOne(schedule[i]);
  };
  {
    std::vector<llvm::thread> workers;
    for (unsigned t = 1; t < threads; ++t)
      workers.emplace_back(work);
    work();
    for (llvm::thread &worker : workers)
      worker.join();
  }
  for (unsigned k = 0; k < count; ++k)
    if (!partitions[k].error.empty())
      return makeError("partition " + Twine(k) + ": " + partitions[k].error);

  if (options.optimizedIR) {
    LLVMContext context;
    std::unique_ptr<Module> whole;
    for (unsigned k = 0; k < count; ++k) {
      Expected<std::unique_ptr<Module>> part = parseBitcodeFile(
          MemoryBufferRef(partitions[k].optimizedBitcode, "partition"),
          context);
      if (!part)
        return part.takeError();
      std::string().swap(partitions[k].optimizedBitcode);
      if (!whole)
        whole = std::move(*part);
      else if (Linker::linkModules(*whole, std::move(*part)))
        return makeError("cannot link the optimized partitions into one "
                         "module");
    }
    whole->print(*options.optimizedIR, nullptr);
  }
  return result;
}

} // namespace

Expected<TargetSpec> resolveTarget(StringRef cpu) {
  TargetSpec spec;
  spec.triple = sys::getDefaultTargetTriple();
  Triple triple(spec.triple);
  std::string error;
  const Target *target = TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return makeError("no LLVM target for " + spec.triple + ": " + error);
  spec.cpu = cpu.str();
  if (cpu == "host") {
    spec.cpu = sys::getHostCPUName().str();
    SubtargetFeatures features;
    for (auto &[feature, enabled] : sys::getHostCPUFeatures())
      features.AddFeature(feature, enabled);
    spec.features = features.getString();
  } else if (cpu == "generic") {
    spec.cpu = "x86-64";
  }
  // An unknown CPU name would end in an LLVM fatal error during codegen.
  std::unique_ptr<MCSubtargetInfo> subtarget(
      target->createMCSubtargetInfo(triple, spec.cpu, ""));
  if (!subtarget || !subtarget->isCPUStringValid(spec.cpu))
    return makeError("'" + cpu + "' is not a CPU LLVM knows for " +
                     spec.triple +
                     " (use 'host', 'generic' or an LLVM CPU name such as "
                     "x86-64-v3 or skylake-avx512)");
  return spec;
}

Expected<std::unique_ptr<TargetMachine>>
createTargetMachine(const TargetSpec &spec) {
  Triple triple(spec.triple);
  std::string error;
  const Target *target = TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return makeError("no LLVM target for " + spec.triple + ": " + error);
  TargetOptions options;
  std::unique_ptr<TargetMachine> machine(target->createTargetMachine(
      triple, spec.cpu, spec.features, options, Reloc::PIC_));
  if (!machine)
    return makeError("cannot create a target machine for CPU '" + spec.cpu +
                     "'");
  return std::move(machine);
}

Expected<CodegenResult> compileToObjects(std::unique_ptr<Module> module,
                                         const TargetSpec &spec,
                                         const CodegenOptions &options) {
  CodegenResult result;
  boundSchedulerMemoryMaps();
  if (options.sizeOptimizeSerialCode)
    sizeOptimizeSerialCode(*module);
  unsigned definitions = 0;
  for (const Function &function : *module)
    definitions += function.isDeclaration() ? 0 : 1;
  unsigned count = std::max(1u, std::min(options.partitions, definitions));
  if (count > 1) {
    result.unsplitReason = unsplittable(*module);
    if (!result.unsplitReason.empty())
      count = 1;
  }
  if (count == 1)
    return compileWhole(std::move(module), spec, options, std::move(result));
  return compileSplit(std::move(module), count, spec, options,
                      std::move(result));
}

std::vector<std::string> describe(const CodegenResult &result) {
  std::vector<std::string> lines;
  double optimize = 0, codegen = 0;
  for (const PartitionStats &stats : result.partitions) {
    optimize += stats.optimizeSeconds;
    codegen += stats.codegenSeconds;
  }
  std::string summary;
  raw_string_ostream os(summary);
  os << "codegen: " << result.partitions.size()
     << (result.partitions.size() == 1 ? " partition" : " partitions")
     << " on " << result.threads << (result.threads == 1 ? " thread" : " threads")
     << format(", %.2f s optimization + %.2f s code generation in all",
               optimize, codegen);
  if (!result.unsplitReason.empty())
    os << " (not partitioned: " << result.unsplitReason << ")";
  lines.push_back(summary);
  if (result.partitions.size() > 1)
    for (size_t k = 0; k < result.partitions.size(); ++k) {
      const PartitionStats &stats = result.partitions[k];
      std::string line;
      raw_string_ostream ls(line);
      ls << format("  partition %zu: %5.2f s + %5.2f s, ", k,
                   stats.optimizeSeconds, stats.codegenSeconds)
         << stats.functions << (stats.functions == 1 ? " function, " : " functions, ")
         << stats.instructions << " instructions (largest @"
         << stats.largestFunction << ")";
      lines.push_back(line);
    }
  return lines;
}

} // namespace dq::codegen
