//===- Compile.cpp - compiling a dq module to a model library -------------===//
//
// The stages of compileModel (Compile.h): options and target checked, the
// module parsed and its contract read, the manifest and the initial state
// computed, the cache consulted, then lowering, LLVM code generation on
// partitions and the link of a shared library.
//
//===----------------------------------------------------------------------===//

#include "dq/Compile/Compile.h"
#include "dq/Compile/CompileCache.h"

#include "dq/Codegen/CPUCodegen.h"
#include "dq/Contract/Roles.h"
#include "dq/Contract/TrainingModule.h"
#include "dq/Conversion/Passes.h"
#include "dq/Pipelines/GPUPipeline.h"
#include "dq/Pipelines/Pipelines.h"
#include "dq/Registration.h"
#include "dq/Support/AtomicFileStream.h"
#include "dq/Support/Checks.h"
#include "dq/Support/X86ByteSums.h"

#include "dq/runtime/Export.h"
#include "dq/runtime/Files.h"
#include "dq/runtime/Manifest.h"
#include "dq/runtime/StateFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

#include <chrono>
#include <cstdlib>
#include <exception>

#include <unistd.h>

using namespace mlir;
using namespace ::dq::compile;
namespace rt = ::dq::runtime;

namespace dq::compile {
std::string builtOpenMPLibrary() { return DQ_OPENMP_LIBRARY; }
} // namespace dq::compile

//===----------------------------------------------------------------------===//
// StageTimer
//===----------------------------------------------------------------------===//

void StageTimer::next(llvm::StringRef name) {
  Clock::time_point now = Clock::now();
  if (!stages_.empty())
    stages_.back().seconds = seconds(stageStart_, now);
  stages_.push_back({name.str(), 0});
  stageStart_ = now;
  if (progress_)
    llvm::errs() << "\r\033[Kdq-compile: " << name << " ("
                 << llvm::format("%.0f", seconds(start_, now)) << " s so far)";
}

void StageTimer::showProgress() { progress_ = ::isatty(STDERR_FILENO) == 1; }

void StageTimer::clearProgressLine() {
  if (progress_)
    llvm::errs() << "\r\033[K";
}

void StageTimer::finish(bool report) {
  Clock::time_point now = Clock::now();
  if (!stages_.empty())
    stages_.back().seconds = seconds(stageStart_, now);
  clearProgressLine();
  progress_ = false;
  if (!report)
    return;
  llvm::errs() << "dq-compile: timing (wall clock)\n";
  for (const Stage &stage : stages_)
    llvm::errs() << llvm::format("  %9.3f s  ", stage.seconds) << stage.name
                 << "\n";
  llvm::errs() << llvm::format("  %9.3f s  ", seconds(start_, now))
               << "total\n";
  for (const std::string &line : notes_)
    llvm::errs() << "  " << line << "\n";
}

//===----------------------------------------------------------------------===//
// compileModel
//===----------------------------------------------------------------------===//

namespace {
/// A pipeline option set from `value` when the user gave one (else the
/// pipeline's default stays).
template <typename Option, typename T>
void setIfGiven(Option &option, const std::optional<T> &value) {
  if (value)
    option = *value;
}

[[noreturn]] void fail(const llvm::Twine &message) {
  throw CompileError(message.str());
}

/// A uniquely named temporary file next to `prefix` ("<dir>/.<base>.XXXXXX
/// <suffix>"), removed when the object dies: intermediate files never
/// clobber anything, and a failed run leaves none behind.
class TemporaryFile {
public:
  TemporaryFile(const std::string &prefix, llvm::StringRef suffix) {
    llvm::SmallString<256> model(llvm::sys::path::parent_path(prefix));
    llvm::sys::path::append(model, "." + llvm::sys::path::filename(prefix) +
                                       ".%%%%%%" + suffix);
    int fd;
    llvm::SmallString<256> path;
    if (std::error_code ec = llvm::sys::fs::createUniqueFile(model, fd, path))
      fail("cannot create a temporary file next to '" + prefix +
           "': " + ec.message());
    path_ = std::string(path);
    stream_ = std::make_unique<llvm::raw_fd_ostream>(fd, /*shouldClose=*/true);
  }
  ~TemporaryFile() {
    stream_.reset();
    llvm::sys::fs::remove(path_);
  }
  llvm::raw_fd_ostream &os() { return *stream_; }
  /// Closes the stream; throws on a write error.
  void close() {
    stream_->close();
    if (stream_->has_error())
      fail("cannot write '" + path_ + "': " + stream_->error().message());
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
  std::unique_ptr<llvm::raw_fd_ostream> stream_;
};

/// The runtime's dtype of an MLIR element type; nothing for another type.
std::optional<rt::DType> runtimeDType(Type element) {
  if (element.isF32())
    return rt::DType::F32;
  if (element.isInteger(8))
    return rt::DType::I8;
  if (element.isInteger(32))
    return rt::DType::I32;
  if (element.isInteger(64))
    return rt::DType::I64;
  return std::nullopt;
}

rt::DType dtypeOf(Type element) {
  if (std::optional<rt::DType> dtype = runtimeDType(element))
    return *dtype;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << element;
  fail("unsupported state element type " + text);
}

/// The manifest's state tensors, from the training module's view.
std::vector<rt::TensorSpec>
stateSpecs(const mlir::dq::TrainingModule &training) {
  std::vector<rt::TensorSpec> specs;
  for (const mlir::dq::StateTensor &state : training.state) {
    rt::TensorSpec spec;
    spec.name = state.name;
    spec.role = std::string(::dq::contract::roleName(state.role));
    spec.dtype = dtypeOf(state.type.getElementType());
    spec.shape.assign(state.type.getShape().begin(),
                      state.type.getShape().end());
    specs.push_back(spec);
  }
  return specs;
}

/// Runs @init_state at compile time: after canonicalization every result
/// is a constant (decoding constant codes folds). Only @init_state and the
/// symbols it refers to are copied and canonicalized: the training step
/// and predict would be most of the work and fold nothing it needs.
std::vector<rt::HostTensor>
evaluateInitialState(ModuleOp module,
                     const std::vector<rt::TensorSpec> &specs) {
  OwningOpRef<ModuleOp> copy = ModuleOp::create(module.getLoc());
  (*copy)->setAttrs(module->getAttrDictionary());
  {
    SymbolTable symbols(module);
    llvm::SmallPtrSet<Operation *, 8> copied;
    SmallVector<Operation *> worklist{symbols.lookup("init_state")};
    OpBuilder builder = OpBuilder::atBlockEnd(copy->getBody());
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (!op || !copied.insert(op).second)
        continue;
      builder.clone(*op);
      if (std::optional<SymbolTable::UseRange> uses =
              SymbolTable::getSymbolUses(op))
        for (const SymbolTable::SymbolUse &use : *uses)
          worklist.push_back(
              symbols.lookup(use.getSymbolRef().getRootReference()));
    }
  }
  PassManager pm(copy->getContext());
  pm.addPass(createCanonicalizerPass());
  if (failed(pm.run(*copy)))
    fail("cannot evaluate @init_state");
  auto init = copy->lookupSymbol<func::FuncOp>("init_state");
  auto ret = cast<func::ReturnOp>(init.getBody().front().getTerminator());
  std::vector<rt::HostTensor> tensors;
  for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
    DenseElementsAttr attr;
    if (!matchPattern(value, m_Constant(&attr)))
      fail("@init_state result " + llvm::Twine(i) + " ('" + specs[i].name +
           "') does not fold to a constant");
    rt::HostTensor tensor(specs[i]);
    size_t elementBytes = rt::dtypeSize(specs[i].dtype);
    ArrayRef<char> raw = attr.getRawData();
    uint8_t *out = tensor.data.data();
    if (attr.isSplat()) {
      for (size_t k = 0, n = tensor.spec.numElements(); k < n; ++k)
        std::memcpy(out + k * elementBytes, raw.data(), elementBytes);
    } else {
      std::memcpy(out, raw.data(), tensor.spec.bytes());
    }
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

/// Entry-point signatures for the manifest; `takesState` / `givesState`:
/// its first arguments / results are the `numState` state tensors.
rt::EntryPoint entryPoint(func::FuncOp func, size_t numState, bool takesState,
                          bool givesState) {
  rt::EntryPoint entry;
  entry.symbol = ("dq_" + func.getName()).str();
  auto render = [&](Type type, StringRef name) {
    rt::EntryValue value;
    value.spec.name = name.str();
    if (auto tensor = dyn_cast<RankedTensorType>(type)) {
      value.spec.dtype = dtypeOf(tensor.getElementType());
      value.spec.shape.assign(tensor.getShape().begin(),
                              tensor.getShape().end());
    } else {
      value.scalar = true;
      value.spec.dtype = dtypeOf(type);
    }
    return rt::formatEntryValue(value);
  };
  ArrayRef<Type> inputs = func.getArgumentTypes();
  ArrayRef<Type> outputs = func.getResultTypes();
  if (takesState)
    entry.inputs.push_back("state...");
  for (size_t i = takesState ? numState : 0; i < inputs.size(); ++i)
    entry.inputs.push_back(render(inputs[i], "arg" + std::to_string(i)));
  if (givesState)
    entry.outputs.push_back("state...");
  for (size_t i = givesState ? numState : 0; i < outputs.size(); ++i)
    entry.outputs.push_back(render(outputs[i], "result" + std::to_string(i)));
  return entry;
}

/// The target for --cpu, checked before any long work.
::dq::codegen::TargetSpec targetSpec(const CompileOptions &options) {
  llvm::Expected<::dq::codegen::TargetSpec> spec =
      ::dq::codegen::resolveTarget(options.cpu);
  if (!spec)
    fail("--cpu: " + llvm::toString(spec.takeError()));
  return *spec;
}

std::unique_ptr<llvm::TargetMachine>
targetMachine(const ::dq::codegen::TargetSpec &spec) {
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      ::dq::codegen::createTargetMachine(spec);
  if (!machine)
    fail(llvm::toString(machine.takeError()));
  return std::move(*machine);
}

/// <this tool's directory>/../lib/<name>.
std::string besideTool(llvm::StringRef name) {
  std::string self = llvm::sys::fs::getMainExecutable(
      nullptr, reinterpret_cast<void *>(&fail));
  // Rebuilt while running: /proc/self/exe names "<path> (deleted)".
  llvm::StringRef deleted = " (deleted)";
  if (llvm::StringRef(self).ends_with(deleted))
    self.resize(self.size() - deleted.size());
  llvm::SmallString<256> path(llvm::sys::path::parent_path(self));
  llvm::sys::path::append(path, "..", "lib", name);
  return std::string(path);
}

bool isModuleKind(llvm::StringRef kind) {
  return kind == rt::kTrainingKind || kind == rt::kInferenceKind ||
         kind == rt::kKernelsKind;
}

/// --kind, else the module's dq.kind: "training" (also when absent),
/// "inference" or "kernels".
std::string moduleKind(const CompileOptions &options, ModuleOp module) {
  std::string expected = std::string("\"") + rt::kTrainingKind + "\", \"" +
                         rt::kInferenceKind + "\" or \"" + rt::kKernelsKind +
                         "\"";
  if (options.kind) {
    if (!isModuleKind(*options.kind))
      fail("--kind must be " + expected + ", got '" + *options.kind + "'");
    return *options.kind;
  }
  Attribute attr = module->getAttr(::dq::contract::kModuleKindAttr);
  if (!attr)
    return rt::kTrainingKind;
  auto text = dyn_cast<StringAttr>(attr);
  if (!text || !isModuleKind(text.getValue())) {
    std::string printed;
    llvm::raw_string_ostream os(printed);
    os << attr;
    fail("'" + options.input + "': dq.kind must be " + expected + ", got " +
         printed);
  }
  return text.str();
}

/// A kernels library's entry points: every public function with a body,
/// taking and returning static tensors and scalars of the runtime's dtypes.
std::map<std::string, rt::EntryPoint>
kernelEntryPoints(const CompileOptions &options, ModuleOp module) {
  std::map<std::string, rt::EntryPoint> entries;
  for (func::FuncOp func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isExternal())
      continue;
    std::string where = "'" + options.input + "': @" + func.getName().str();
    auto value = [&](Type type, const std::string &name,
                     const std::string &what) {
      rt::EntryValue entry;
      entry.spec.name = name;
      Type element = type;
      auto tensor = dyn_cast<RankedTensorType>(type);
      if (tensor) {
        if (!tensor.hasStaticShape())
          fail(where + ": " + what + " has a dynamic shape; a kernels "
                                     "library takes static shapes");
        element = tensor.getElementType();
        entry.spec.shape.assign(tensor.getShape().begin(),
                                tensor.getShape().end());
      } else {
        entry.scalar = true;
      }
      // index is i64 on the 64-bit hosts dq targets.
      std::optional<rt::DType> dtype =
          element.isIndex() ? rt::DType::I64 : runtimeDType(element);
      if (!dtype) {
        std::string printed;
        llvm::raw_string_ostream os(printed);
        os << type;
        fail(where + ": " + what + " is " + printed +
             "; a kernels library takes tensors and scalars of f32, i8, "
             "i32, i64 or index");
      }
      entry.spec.dtype = *dtype;
      return entry;
    };
    rt::EntryPoint entry;
    entry.symbol = ("dq_" + func.getName()).str();
    for (auto [i, type] : llvm::enumerate(func.getArgumentTypes())) {
      entry.inputValues.push_back(value(type, "arg" + std::to_string(i),
                                        "argument " + std::to_string(i)));
      entry.inputs.push_back(rt::formatEntryValue(entry.inputValues.back()));
    }
    for (auto [i, type] : llvm::enumerate(func.getResultTypes())) {
      entry.outputValues.push_back(value(type, "result" + std::to_string(i),
                                         "result " + std::to_string(i)));
      entry.outputs.push_back(rt::formatEntryValue(entry.outputValues.back()));
    }
    entries[func.getName().str()] = std::move(entry);
  }
  if (entries.empty())
    fail("'" + options.input +
         "' has no public function with a body to compile (--kind kernels)");
  return entries;
}

/// An inference module has exactly one entry point, @predict(images
/// tensor<NxHxWxCxf32>) -> tensor<NxKxf32>, with no state.
void checkInferenceModule(const CompileOptions &options, func::FuncOp init,
                          func::FuncOp train, func::FuncOp predict) {
  std::string what = "'" + options.input +
                     "' is an inference module (dq.kind = "
                     "\"inference\")";
  if (init || train)
    fail(what + " but has @" + (train ? "train_step" : "init_state") +
         ": an inference module has only @predict (dq-opt "
         "--dq-build-inference-graph); compile a training module without "
         "dq.kind = \"inference\"");
  if (!predict)
    fail(what + " but lacks @predict: run dq-opt --dq-build-inference-graph "
                "first");
  if (predict.isExternal())
    fail(what + " but declares @predict without a body");
  auto isF32 = [](Type type, int64_t minRank) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    return tensor && tensor.hasStaticShape() && tensor.getRank() >= minRank &&
           tensor.getElementType().isF32() &&
           llvm::all_of(tensor.getShape(), [](int64_t d) { return d > 0; });
  };
  FunctionType type = predict.getFunctionType();
  bool ok = type.getNumInputs() == 1 && type.getNumResults() == 1 &&
            isF32(type.getInput(0), 2) && isF32(type.getResult(0), 2) &&
            cast<RankedTensorType>(type.getResult(0)).getRank() == 2 &&
            cast<RankedTensorType>(type.getResult(0)).getDimSize(0) ==
                cast<RankedTensorType>(type.getInput(0)).getDimSize(0);
  if (!ok) {
    std::string printed;
    llvm::raw_string_ostream os(printed);
    os << type;
    fail(what +
         ": @predict must take the images (tensor<NxHxWxCxf32>) "
         "and return the logits (tensor<NxKxf32>), static and "
         "non-empty, and nothing else; it is " +
         printed);
  }
  if (predict.getArgAttr(0, ::dq::contract::kStateAttr))
    fail(what + ": @predict's argument is a dq.state tensor; an inference "
                "model has no state (its trained tensors are constants)");
}

/// What the link step reads, found and checked before any long work (and
/// before the cache is consulted, so a hit and a miss fail alike).
struct LinkInputs {
  std::string cc;
  std::string support;
  /// --conv-library: dq's oneDNN convolutions (libDQConvLibrary.a).
  std::string convLibrary;
  bool linkOpenMP = false;
  /// --target cuda: the runtime linked, and its copy next to the model.
  std::string cudaRuntime, modelRuntime;
};

LinkInputs findLinkInputs(const CompileOptions &options, bool cuda,
                          const std::string &soPath) {
  LinkInputs inputs;
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    fail("no C compiler driver 'cc' on PATH to link the shared library");
  inputs.cc = *cc;
  // `given`, or `name` in ../lib next to the running tool; it must exist.
  auto builtFile = [](const std::string &given, const char *name,
                      const std::string &what, const std::string &remedy) {
    std::string path = given.empty() ? besideTool(name) : given;
    if (!llvm::sys::fs::exists(path))
      fail(what + " '" + path + "' not found" + remedy);
    return path;
  };
  if (options.useConvLibrary)
    inputs.convLibrary = builtFile(
        options.convLibrary, "libDQConvLibrary.a", "convolution library",
        ": dq was built without oneDNN (install libdnnl-dev and rebuild) or "
        "pass --conv-library-path");
  // GPU models do their work in kernels; no OpenMP on the host. The
  // convolution library runs its chunks on OpenMP threads.
  inputs.linkOpenMP =
      (options.parallel || !inputs.convLibrary.empty()) && !cuda;
  if (inputs.linkOpenMP && !llvm::sys::fs::exists(options.openmpLibrary))
    fail("OpenMP runtime '" + options.openmpLibrary +
         "' not found (install libomp, pass --openmp-library, or compile "
         "serial code with --parallel=false)");
  inputs.support = builtFile(options.supportLibrary, "libDQModelSupport.a",
                             "model support library",
                             " (build the DQModelSupport target or pass "
                             "--support-library)");
  if (cuda) {
    inputs.cudaRuntime = builtFile(
        options.cudaRuntime, "libdq_cuda_runtime.so", "CUDA runtime",
        " (build the dq_cuda_runtime target, which needs the CUDA toolkit, "
        "or pass --cuda-runtime)");
    llvm::SmallString<256> copy(llvm::sys::path::parent_path(soPath));
    llvm::sys::path::append(copy, "libdq_cuda_runtime.so");
    inputs.modelRuntime = std::string(copy);
  }
  return inputs;
}

/// The CUDA toolkit of gpu-module-to-binary (libdevice, ptxas): $CUDA_ROOT,
/// $CUDA_HOME, $CUDA_PATH, else /usr/local/cuda, as dq-lower-to-nvvm finds
/// it; dq-compile passes it explicitly so that the key names what is used.
std::string cudaToolkit() {
  for (const char *name : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (const char *value = std::getenv(name))
      if (*value)
        return value;
  return "/usr/local/cuda";
}

/// The cache key: everything the library's bytes depend on, one fact per
/// line (docs/Runtime.md, "Compile cache"). Entries store it whole and a
/// lookup compares it whole.
std::string cacheKey(const CompileOptions &options,
                     const std::string &moduleText,
                     const llvm::TargetMachine &machine, const LinkInputs &link,
                     const mlir::dq::LowerToNVVMOptions &gpu, bool cuda,
                     const std::string &kind) {
  std::string key = "dq-compile cache key 2\n";
  // A kernels library exports every public function, a model only its
  // entry points.
  key += "kind " + kind + "\n";
  key += processIdentity();
  key += "llvm " LLVM_VERSION_STRING "\n";
  key += "triple " + machine.getTargetTriple().str() + "\n";
  key += "cpu " + options.cpu + " -> " + machine.getTargetCPU().str() + "\n";
  // Sorted: the host's features come from a hash map.
  llvm::SmallVector<llvm::StringRef> features;
  machine.getTargetFeatureString().split(features, ',', -1,
                                         /*KeepEmpty=*/false);
  llvm::sort(features);
  key += "features " + llvm::join(features, ",") + "\n";
  key += "opt-level " + std::to_string(unsigned(options.optLevel)) + "\n";
  // Not the thread count: the library is the same for any.
  key += "codegen-partitions " +
         std::to_string(unsigned(options.codegenPartitions)) + "\n";
  key += "target " + options.target + "\n";
  if (cuda) {
    key +=
        "gpu chip=" + gpu.chip + " features=" + gpu.features +
        " format=" + gpu.format +
        " opt-level=" + std::to_string(int(gpu.optLevel)) +
        " block-size=" + std::to_string(int64_t(gpu.blockSize)) +
        " shared-memory-tiles=" + (gpu.sharedMemoryTiles ? "true" : "false") +
        " shared-memory-bytes=" +
        std::to_string(int64_t(gpu.sharedMemoryBytes)) +
        " split-blocks=" + std::to_string(int64_t(gpu.splitBlocks)) +
        " deterministic=" + (gpu.deterministic ? "true" : "false") + "\n";
    std::string toolkit = gpu.cudaPath;
    key += "cuda-toolkit " + toolkit + "\n";
    key += "libdevice " +
           fileContentIdentity(toolkit + "/nvvm/libdevice/libdevice.10.bc") +
           "\n";
    for (const char *tool : {"ptxas", "fatbinary"}) {
      key +=
          std::string(tool) + " " + fileStatIdentity(toolkit + "/bin/" + tool);
      auto onPath = llvm::sys::findProgramByName(tool);
      key += " path " + (onPath ? fileStatIdentity(*onPath) : "missing") + "\n";
    }
    key += "cuda-runtime " + link.cudaRuntime + " " +
           fileContentIdentity(link.cudaRuntime) + "\n";
  } else {
    key +=
        "parallel " + std::string(options.parallel ? "true" : "false") + "\n";
    key += "ops-per-function " +
           std::to_string(int64_t(options.opsPerFunction)) + "\n";
    key += "lowering-pipeline " +
           (options.loweringPipeline.empty()
                ? std::string("default")
                : "'" + options.loweringPipeline + "'") +
           "\n";
  }
  if (link.linkOpenMP)
    key += "openmp-library " + options.openmpLibrary + " " +
           fileContentIdentity(options.openmpLibrary) + "\n";
  if (!link.convLibrary.empty())
    key += "conv-library " + link.convLibrary + " " +
           fileContentIdentity(link.convLibrary) + "\n";
  key += "support-library " + link.support + " " +
         fileContentIdentity(link.support) + "\n";
  key += "cc " + fileStatIdentity(link.cc) + "\n";
  auto ld = llvm::sys::findProgramByName("ld");
  key += "ld " + (ld ? fileStatIdentity(*ld) : "missing") + "\n";
  for (const char *name : {"LIBRARY_PATH", "COMPILER_PATH", "GCC_EXEC_PREFIX"})
    if (const char *value = std::getenv(name))
      key += "environment " + std::string(name) + "=" + value + "\n";
  key += "module bytes " + std::to_string(moduleText.size()) +
         " blake3:" + blake3Hex(moduleText) + "\n";
  return key;
}

/// The cache to use, or nothing (--no-cache, no usable directory).
std::optional<CompileCache> openCache(const CompileOptions &options,
                                      StageTimer &timer) {
  if (options.noCache) {
    timer.note("cache: off (--no-cache)");
    return std::nullopt;
  }
  bool given = options.cacheDir.has_value();
  std::string dir = given ? *options.cacheDir : defaultCacheDirectory();
  if (dir.empty()) {
    timer.note("cache: none (neither $XDG_CACHE_HOME nor $HOME is an "
               "absolute path)");
    return std::nullopt;
  }
  std::string why;
  std::optional<CompileCache> cache = CompileCache::open(dir, why);
  if (!cache) {
    // The default location is best effort; a directory asked for is not.
    if (given)
      llvm::errs() << "dq-compile: cache directory " << dir
                   << " is not usable (" << why
                   << "); compiling without the cache\n";
    timer.note("cache: none (" + dir + ": " + why + ")");
  }
  return cache;
}

/// Every value of `values` repeated to `channels` when it is one value.
std::vector<double> perChannel(std::vector<double> values, int64_t channels) {
  if (values.size() == 1 && channels > 1)
    values.assign(channels, values[0]);
  return values;
}

/// The input normalization to record for images of `imageShape`, from the
/// options (checked before any long work); nothing for images that are not
/// [H, W, C].
std::optional<rt::Preprocess>
preprocessToRecord(const CompileOptions &options,
                   const std::vector<int64_t> &imageShape) {
  bool custom = !options.inputMean.empty() || !options.inputStd.empty();
  int given = (custom ? 1 : 0) + (!options.inputPreset.empty() ? 1 : 0) +
              (!options.preprocessFrom.empty() ? 1 : 0);
  if (given > 1)
    fail("give one of --input-preset, --input-mean/--input-std and "
         "--preprocess-from");
  if (custom && (options.inputMean.empty() || options.inputStd.empty()))
    fail("--input-mean and --input-std go together (pixels/255 units, one "
         "value or one per channel)");
  if (imageShape.size() != 3) {
    if (given)
      fail("the model's images are " + rt::shapeString(imageShape) +
           ", not [H, W, C]: dq records and applies input normalization "
           "only to NHWC images");
    return std::nullopt;
  }
  int64_t channels = imageShape.back();
  rt::Preprocess p;
  if (custom) {
    p.mean = perChannel(rt::parseNumberList("--input-mean", options.inputMean),
                        channels);
    p.stddev = perChannel(rt::parseNumberList("--input-std", options.inputStd),
                          channels);
  } else if (!options.inputPreset.empty()) {
    p = rt::preprocessPreset(options.inputPreset, channels);
  } else if (!options.preprocessFrom.empty()) {
    const std::string &from = options.preprocessFrom;
    auto bytes = llvm::MemoryBuffer::getFile(from, /*IsText=*/false,
                                             /*RequiresNullTerminator=*/false);
    if (!bytes)
      fail("--preprocess-from " + from + ": " + bytes.getError().message());
    llvm::StringRef head = (*bytes)->getBuffer().take_front(8);
    if (head == llvm::StringRef(rt::kStateFileMagic, 8)) {
      rt::StateFileContents contents = rt::readStateFile(from);
      rt::Manifest images;
      images.imageShape = imageShape;
      std::optional<rt::Preprocess> recorded =
          rt::recordedPreprocess(from, contents.metadataJson, images);
      if (!recorded)
        fail("--preprocess-from " + from +
             ": the file records no input normalization (a state dq-train "
             "wrote records it; an initial state does not)");
      p = *recorded;
    } else {
      rt::Manifest other = rt::loadManifest(from);
      if (other.imageShape != imageShape)
        fail("--preprocess-from " + from + ": that model's images are " +
             rt::shapeString(other.imageShape) + ", this one's " +
             rt::shapeString(imageShape));
      p = rt::effectivePreprocess(other);
    }
  } else {
    std::string preset;
    p = rt::defaultPreprocess(imageShape, &preset);
    if (preset == "none")
      llvm::errs() << "dq-compile: note: no input normalization preset for "
                   << channels << "-channel images; recording mean 0, std 1 "
                   << "(the model takes pixels/255); give --input-mean and "
                      "--input-std to record your data's\n";
  }
  std::string problem = rt::checkPreprocess(p, channels);
  if (!problem.empty())
    fail("input normalization: " + problem);
  return p;
}

} // namespace

namespace dq::compile {
CompileResult compileModel(const CompileOptions &options, StageTimer &timer) {
  timer.next("setup (options, target, dialects)");
  // Every output under the one policy, checked before the long work.
  llvm::StringRef base = llvm::sys::path::filename(options.outputPrefix);
  if (options.outputPrefix.empty() || options.outputPrefix.back() == '/' ||
      base == "." || base == "..")
    fail("-o '" + options.outputPrefix +
         "': expected a path prefix ending in a file name, such as out/model");
  // <prefix>.state once the module says it is a training module.
  for (const char *suffix : {".so", ".manifest.json"})
    rt::checkOutputFile(options.outputPrefix + suffix);
  if (options.keepLLVMIR)
    rt::checkOutputFile(options.outputPrefix + ".ll");
  bool cuda = options.target == "cuda";
  if (!cuda && options.target != "cpu")
    fail("--target must be 'cpu' or 'cuda', got '" + options.target + "'");
  if (options.useConvLibrary && options.target != "cpu")
    fail("--conv-library is for the CPU target (oneDNN on the host); GPU "
         "models run their convolutions in their own kernels");
  if (!options.profileLocations.empty()) {
    if (options.target != "cpu" || !options.loweringPipeline.empty())
      fail("--profile-locations is for the CPU target's own pipeline (not "
           "with --target cuda or --lowering-pipeline)");
    rt::checkOutputFile(options.profileLocations);
  }
  mlir::dq::LowerToNVVMOptions gpuOptions;
  if (cuda) {
    if (!options.loweringPipeline.empty())
      fail("--lowering-pipeline and --target cuda cannot be combined");
    setIfGiven(gpuOptions.chip, options.gpuChip);
    setIfGiven(gpuOptions.features, options.gpuFeatures);
    setIfGiven(gpuOptions.format, options.gpuFormat);
    setIfGiven(gpuOptions.sharedMemoryTiles, options.gpuSharedTiles);
    setIfGiven(gpuOptions.deterministic, options.gpuDeterministic);
    setIfGiven(gpuOptions.splitBlocks, options.gpuSplitBlocks);
    gpuOptions.emitCInterface = true;
    gpuOptions.cudaPath = cudaToolkit();
    if (std::optional<std::string> why =
            mlir::dq::checkLowerToNVVMOptions(gpuOptions))
      fail(*why);
  }
  if (options.codegenPartitions == 0)
    fail("--codegen-partitions must be at least 1");
  if (options.opsPerFunction < 0)
    fail("--ops-per-function must be 0 (never split) or positive, not " +
         std::to_string(int64_t(options.opsPerFunction)));
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  ::dq::codegen::TargetSpec spec = targetSpec(options);
  std::unique_ptr<llvm::TargetMachine> machine = targetMachine(spec);

  DialectRegistry registry;
  mlir::dq::registerAllDialects(registry);
  mlir::dq::registerAllPasses();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  // 1. Parse; diagnostics go to stderr with their location.
  timer.next("parse");
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  // Called before the handler above (the last registered goes first).
  context.getDiagEngine().registerHandler([&timer](Diagnostic &) {
    timer.clearProgressLine();
    return failure();
  });
  std::string errorMessage;
  auto file = openInputFile(options.input, &errorMessage);
  if (!file)
    fail(errorMessage);
  if (failed(mlir::dq::checkTextIRInput(*file, llvm::errs())))
    fail("cannot parse '" + options.input + "'");
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    fail("cannot parse '" + options.input + "'");

  timer.next("manifest and initial state");
  auto init = module->lookupSymbol<func::FuncOp>("init_state");
  auto train = module->lookupSymbol<func::FuncOp>("train_step");
  auto predict = module->lookupSymbol<func::FuncOp>("predict");
  std::string kind = moduleKind(options, *module);
  bool inference = kind == rt::kInferenceKind;
  bool kernels = kind == rt::kKernelsKind;
  if (kernels && cuda)
    fail("--kind kernels is compiled for --target cpu only");
  if (inference)
    checkInferenceModule(options, init, train, predict);
  else if (!kernels)
    rt::checkOutputFile(options.outputPrefix + ".state");
  if (!inference && !kernels && (!init || !train || !predict))
    fail("'" + options.input +
         "' lacks @init_state, @train_step or @predict: run dq-opt "
         "--dq-build-training-graph (training) or --dq-build-inference-graph "
         "(inference) first" +
         (predict && !init && !train
              ? " (an inference module says so with dq.kind = \"inference\" "
                "on the module)"
              : ""));

  // The contract the manifest and the runtime rely on, checked first
  // (dq-verify-training-module); its view gives the manifest's state.
  std::optional<mlir::dq::TrainingModule> training;
  if (!inference && !kernels) {
    FailureOr<mlir::dq::TrainingModule> view =
        mlir::dq::readTrainingModule(*module);
    if (failed(view))
      fail("'" + options.input + "' is not a valid training module");
    training = std::move(*view);
    // oneDNN's convolutions sum in an order of their own: a one-process
    // reference of a data-parallel run would not be one bit for bit.
    if (options.useConvLibrary && !cuda &&
        (*module)->hasAttr(mlir::dq::kReplicaBatchAttrName))
      llvm::errs() << "dq-compile: warning: --conv-library: the library's "
                      "convolutions sum in their own order, so this "
                      "replica-batch build does not reproduce a data-parallel "
                      "run bit for bit (docs/Runtime.md, \"How exact\")\n";
    // The GPU pipeline maps no host loops yet, and @calibrate's fit
    // iterations are one.
    if (cuda && training->calibrate) {
      llvm::errs() << "dq-compile: note: @calibrate is not compiled for "
                      "--target cuda (its fit loop is not mapped to the GPU "
                      "yet); dq-train --calibrate needs a CPU build\n";
      llvm::erase_if(training->entryPoints, [&](const mlir::dq::EntryPoint &e) {
        return e.func == training->calibrate;
      });
      training->calibrate.erase();
      training->calibrate = nullptr;
    }
  }

  llvm::StringRef directory =
      llvm::sys::path::parent_path(options.outputPrefix);
  if (!directory.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(directory))
      fail("cannot create '" + directory + "': " + ec.message());

  // 2. Manifest facts and the initial state, from the tensor-level module.
  rt::Manifest manifest;
  manifest.kind = kind;
  if (cuda)
    manifest.device = "cuda";
  std::string text;
  {
    llvm::raw_string_ostream os(text);
    module->print(os);
  }
  manifest.moduleHash = rt::fnv1a64(text.data(), text.size());
  if (!inference && !kernels) {
    manifest.state = stateSpecs(*training);
    manifest.dataParallel = training->dataParallel;
  }
  if (!kernels) {
    auto images = cast<RankedTensorType>(
        predict.getArgumentTypes()[manifest.state.size()]);
    auto logits = cast<RankedTensorType>(predict.getResultTypes()[0]);
    manifest.batch = images.getDimSize(0);
    manifest.imageShape.assign(images.getShape().begin() + 1,
                               images.getShape().end());
    manifest.classes = logits.getDimSize(1);
    manifest.preprocess = preprocessToRecord(options, manifest.imageShape);
  }
  if (kernels)
    manifest.entryPoints = kernelEntryPoints(options, *module);
  else if (inference)
    manifest.entryPoints[predict.getName().str()] =
        entryPoint(predict, 0, /*takesState=*/false, /*givesState=*/false);
  else
    for (mlir::dq::EntryPoint entry : training->entryPoints)
      manifest.entryPoints[entry.func.getName().str()] =
          entryPoint(entry.func, manifest.state.size(), entry.takesState,
                     entry.givesState);
  std::vector<rt::HostTensor> initial;
  if (!inference && !kernels)
    initial = evaluateInitialState(*module, manifest.state);
  // The contract this library is compiled for, embedded so the runtime can
  // check a manifest against the library itself (docs/Runtime.md).
  std::string signature = rt::modelSignature(manifest);

  std::string soPath = options.outputPrefix + ".so";
  LinkInputs link = findLinkInputs(options, cuda, soPath);

  // 3. The cache: the library of an earlier compile of this module with
  //    these options by this dq, when there is a sound one.
  timer.next("cache lookup");
  std::optional<CompileCache> cache = openCache(options, timer);
  // A library with line tables into a dump is not the one others ask for.
  if (cache && !options.profileLocations.empty()) {
    timer.note("cache: not looked up (--profile-locations writes the IR)");
    cache.reset();
  }
  std::string key, entry;
  std::optional<std::string> cached;
  if (cache) {
    key = cacheKey(options, text, *machine, link, gpuOptions, cuda, kind);
    entry = cache->entryPath(key);
    if (options.keepLLVMIR)
      timer.note("cache: not looked up (--keep-llvm-ir needs the LLVM IR)");
    else
      cached = cache->lookup(key, signature, llvm::errs());
  }
  // GPU models call the mgpu* functions of libdq_cuda_runtime.so, which is
  // copied next to the model and found there ($ORIGIN).
  if (cuda && !llvm::sys::fs::equivalent(link.cudaRuntime, link.modelRuntime)) {
    auto runtimeBytes = llvm::MemoryBuffer::getFile(link.cudaRuntime);
    if (!runtimeBytes)
      fail("cannot read '" + link.cudaRuntime +
           "': " + runtimeBytes.getError().message());
    rt::writeFileAtomic(link.modelRuntime, (*runtimeBytes)->getBuffer().str());
  }

  if (cached) {
    llvm::errs() << "dq-compile: cache hit (" << entry << ")\n";
    timer.note("cache: hit " + entry);
    timer.next("write library");
    rt::writeFileAtomic(soPath, *cached, 0777);
    manifest.library.bytes = cached->size();
    manifest.library.hash = rt::fnv1a64(cached->data(), cached->size());
  } else {
    if (cache && !options.keepLLVMIR)
      timer.note("cache: miss " + entry);
    timer.showProgress();

    // 4. Lower to the LLVM dialect with C interfaces and packed wrappers.
    //    The dq.state tags live on in the manifest; LLVM has no use for
    //    them.
    timer.next("MLIR lowering");
    module->walk([](func::FuncOp func) {
      func.removeArgAttrsAttr();
      func.removeResAttrsAttr();
    });
    PassManager pm(&context);
    if (!cuda) {
      // Only the entry points and what they call are compiled: a training
      // module keeps its forward function (@model), which nothing calls
      // and which would be a seventh of the code.
      for (func::FuncOp func : module->getOps<func::FuncOp>())
        if (func.isPublic() &&
            !manifest.entryPoints.count(func.getName().str()))
          func.setPrivate();
      pm.addPass(createSymbolDCEPass());
    }
    if (cuda) {
      mlir::dq::buildLowerToNVVMPipeline(pm, gpuOptions);
    } else if (options.loweringPipeline.empty()) {
      mlir::dq::LowerToLLVMOptions lowerOptions;
      lowerOptions.emitCInterface = true;
      lowerOptions.parallel = options.parallel;
      lowerOptions.opsPerFunction = options.opsPerFunction;
      lowerOptions.convLibrary = !link.convLibrary.empty();
      lowerOptions.profileLocations = options.profileLocations;
      // Register tiles sized for the target's vector registers.
      const llvm::MCSubtargetInfo *subtarget = machine->getMCSubtargetInfo();
      if (subtarget->checkFeatures("+avx512f")) {
        lowerOptions.vectorBits = 512;
        lowerOptions.vectorRegisters = 32;
      } else if (subtarget->checkFeatures("+avx")) {
        lowerOptions.vectorBits = 256;
        lowerOptions.vectorRegisters = 16;
      } else {
        lowerOptions.vectorBits = 128;
        lowerOptions.vectorRegisters = 16;
      }
      // Without VPOPCNTQ a vector ctpop of i64 lanes ends in a PSADBW per
      // word; the byte-count kernel pays it once per output.
      if (machine->getTargetTriple().isX86() &&
          !subtarget->checkFeatures("+avx512vpopcntdq")) {
        std::optional<mlir::dq::X86ByteSumForm> form =
            mlir::dq::x86ByteSumForm(lowerOptions.vectorBits);
        lowerOptions.bitserialByteCounts =
            form && subtarget->checkFeatures(form->feature);
      }
      mlir::dq::buildLowerToLLVMPipeline(pm, lowerOptions);
    } else if (failed(parsePassPipeline(options.loweringPipeline, pm))) {
      fail("cannot parse --lowering-pipeline");
    }
    pm.addPass(mlir::dq::createDQPackEntryPoints());
    // After the wrappers exist: each function gets its own subprogram.
    if (!options.profileLocations.empty())
      pm.addPass(LLVM::createDIScopeForLLVMFuncOpPass());
    if (failed(pm.run(*module)))
      fail("lowering '" + options.input + "' to LLVM failed");

    // What is left of a function cut into pieces only calls them.
    std::vector<std::string> splitFunctions;
    module->walk([&](LLVM::LLVMFuncOp func) {
      if (func->hasAttr(mlir::dq::kSplitPiecesAttr))
        splitFunctions.push_back(func.getName().str());
    });

    // 5. LLVM IR, optimized for the target, to object files (partitions
    //    compiled in parallel, dq/Codegen/CPUCodegen.h).
    timer.next("translation to LLVM IR");
    llvm::LLVMContext llvmContext;
    std::unique_ptr<llvm::Module> llvmModule =
        translateModuleToLLVMIR(*module, llvmContext, "dq_model");
    if (!llvmModule)
      fail("translating to LLVM IR failed");
    new llvm::GlobalVariable(
        *llvmModule,
        llvm::ArrayType::get(llvm::Type::getInt8Ty(llvmContext),
                             signature.size() + 1),
        /*isConstant=*/true, llvm::GlobalValue::ExternalLinkage,
        llvm::ConstantDataArray::getString(llvmContext, signature,
                                           /*AddNull=*/true),
        rt::kModelSignatureSymbol);
    llvmModule->setTargetTriple(machine->getTargetTriple());
    llvmModule->setDataLayout(machine->createDataLayout());
    // The MLIR module is not needed any more.
    module = nullptr;
    ::dq::codegen::CodegenOptions codegen;
    codegen.optLevel = options.optLevel;
    codegen.partitions = options.codegenPartitions;
    codegen.threads = options.codegenThreads;
    // Inference runs at batch 1 too, where no loop is parallel: its serial
    // code is the model (the step functions of the activation codes ran
    // 1.5x slower for size).
    codegen.sizeOptimizeSerialCode = !inference;
    // The C-interface and packed wrappers of the entry points: one call
    // with a few thousand arguments each (every state tensor's memref
    // descriptor).
    for (const auto &[name, entryPoint] : manifest.entryPoints) {
      codegen.glueFunctions.push_back("_mlir_ciface_" + name);
      codegen.glueFunctions.push_back(entryPoint.symbol);
    }
    codegen.glueFunctions.insert(codegen.glueFunctions.end(),
                                 splitFunctions.begin(), splitFunctions.end());
    codegen.onStage = [&timer](llvm::StringRef stage) { timer.next(stage); };
    std::optional<rt::AtomicFileWriter> irFile;
    std::optional<mlir::dq::AtomicFileStream> irStream;
    if (options.keepLLVMIR) {
      irFile.emplace(options.outputPrefix + ".ll");
      irStream.emplace(*irFile);
      codegen.optimizedIR = &*irStream;
    }
    llvm::Expected<::dq::codegen::CodegenResult> compiled =
        ::dq::codegen::compileToObjects(std::move(llvmModule), spec, codegen);
    if (!compiled)
      fail("LLVM code generation failed: " +
           llvm::toString(compiled.takeError()));
    if (irStream) {
      irStream->flush();
      if (!irStream->error().empty())
        fail(irStream->error());
      irStream.reset();
      irFile->commit();
    }
    for (const std::string &line : ::dq::codegen::describe(*compiled))
      timer.note(line);
    std::vector<std::unique_ptr<TemporaryFile>> objects;
    for (const std::string &bytes : compiled->objects) {
      objects.push_back(
          std::make_unique<TemporaryFile>(options.outputPrefix, ".o"));
      objects.back()->os() << bytes;
      objects.back()->close();
    }
    compiled->objects.clear();

    // 6. Link a shared library (libc and libm only) under a temporary name.
    timer.next("link");
    TemporaryFile linked(options.outputPrefix, ".so");
    linked.close();
    std::vector<llvm::StringRef> args = {link.cc, "-shared", "-o",
                                         linked.path()};
    for (const std::unique_ptr<TemporaryFile> &object : objects)
      args.push_back(object->path());
    // Before the libraries it needs (oneDNN, libstdc++).
    if (!link.convLibrary.empty())
      args.push_back(link.convLibrary);
    for (llvm::StringRef arg :
         {llvm::StringRef(link.support), llvm::StringRef("-lm"),
          llvm::StringRef("-Wl,--no-undefined")})
      args.push_back(arg);
    // The OpenMP runtime is found next to where it was at compile time.
    std::string rpath;
    if (link.linkOpenMP) {
      rpath = "-Wl,-rpath," +
              std::string(llvm::sys::path::parent_path(options.openmpLibrary));
      args.push_back(options.openmpLibrary);
      args.push_back(rpath);
    }
    // After the OpenMP runtime: oneDNN's OpenMP calls then bind to libomp,
    // the runtime dq's own loops use, unless a process loaded libgomp first.
    if (!link.convLibrary.empty())
      for (llvm::StringRef arg : {"-ldnnl", "-lstdc++"})
        args.push_back(arg);
    if (cuda) {
      args.push_back(link.modelRuntime);
      args.push_back("-Wl,-rpath,$ORIGIN");
    }
    std::string linkError;
    int status = llvm::sys::ExecuteAndWait(link.cc, args, std::nullopt, {}, 0,
                                           0, &linkError);
    if (status != 0)
      fail("linking '" + soPath + "' failed" +
           (linkError.empty() ? "" : ": " + linkError));
    manifest.library = rt::libraryFactsOf(linked.path());
    if (cache) {
      timer.next("cache store");
      auto bytes =
          llvm::MemoryBuffer::getFile(linked.path(), /*IsText=*/false,
                                      /*RequiresNullTerminator=*/false);
      if (bytes && (*bytes)->getBufferSize() == manifest.library.bytes) {
        if (cache->store(key, (*bytes)->getBuffer(), signature, llvm::errs()))
          timer.note("cache: stored " + entry);
        cache->prune(uint64_t(options.cacheMaxMiB) << 20);
      }
    }
    rt::checkOutputFile(soPath);
    if (std::error_code ec = llvm::sys::fs::rename(linked.path(), soPath))
      fail("cannot write '" + soPath + "': " + ec.message());
  }

  // 7. The manifest and the initial state (both written atomically); an
  //    inference model has no state.
  timer.next("write manifest and state");
  rt::writeManifest(options.outputPrefix + ".manifest.json", manifest);
  if (!inference && !kernels)
    rt::writeStateFile(options.outputPrefix + ".state", manifest.moduleHash,
                       initial, "{}");
  CompileResult result;
  result.manifest = std::move(manifest);
  result.libraryPath = soPath;
  result.inference = inference;
  result.kernels = kernels;
  return result;
}
} // namespace dq::compile
