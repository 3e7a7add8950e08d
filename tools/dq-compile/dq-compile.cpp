//===- dq-compile.cpp - ahead-of-time compiler for dq models --------------===//
//
// dq-compile training.mlir -o out/model
//
// A driver over dq::compile::compileModel (dq/Compile/Compile.h): the flags
// below fill CompileOptions, and the result is printed. From a training
// module it writes out/model.so, out/model.manifest.json and
// out/model.state; from an inference module the library and the manifest.
//
//===----------------------------------------------------------------------===//

#include "dq/Compile/Compile.h"
#include "dq/GPU/Options.h"

#include "dq/runtime/Manifest.h"
#include "dq/runtime/Preprocess.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <exception>
#include <string>

namespace cl = llvm::cl;
namespace rt = ::dq::runtime;

static cl::OptionCategory compileCategory("dq-compile options");
/// The library's defaults are the flags' defaults.
static const dq::compile::CompileOptions defaults;

static cl::opt<std::string>
    inputFile(cl::Positional, cl::desc("<training or inference module .mlir>"),
              cl::Required, cl::cat(compileCategory));
static cl::opt<std::string> outputPrefix(
    "o",
    cl::desc("Output prefix: writes <prefix>.so, <prefix>.manifest.json "
             "and, for a training module, <prefix>.state"),
    cl::value_desc("prefix"), cl::Required, cl::cat(compileCategory));
static cl::opt<std::string>
    kind("kind",
         cl::desc("What the module is, overriding its dq.kind: 'training', "
                  "'inference' or 'kernels' (every public function an entry "
                  "point, called through the runtime's C API: test "
                  "harnesses; CPU only)"),
         cl::value_desc("kind"), cl::cat(compileCategory));
static cl::opt<std::string>
    cpu("cpu",
        cl::desc("Target CPU: 'host' (this machine's, the default), 'generic' "
                 "(any x86-64), or an LLVM CPU name"),
        cl::init(defaults.cpu), cl::cat(compileCategory));
static cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level 0-3"),
                                  cl::init(defaults.optLevel), cl::Prefix,
                                  cl::cat(compileCategory));
static cl::opt<unsigned> codegenThreads(
    "codegen-threads",
    cl::desc("Threads optimizing and compiling the LLVM IR's partitions "
             "(default 0: one per hardware thread); the objects are the "
             "same bytes for any count"),
    cl::init(defaults.codegenThreads), cl::cat(compileCategory));
static cl::opt<unsigned> codegenPartitions(
    "codegen-partitions",
    cl::desc("Partitions of the LLVM IR, each optimized and compiled on its "
             "own, so that threads can share the work (default 16; 1: the "
             "whole module at once, one thread)"),
    cl::init(defaults.codegenPartitions), cl::cat(compileCategory));
static cl::opt<int64_t> opsPerFunction(
    "ops-per-function",
    cl::desc("Functions larger than this many MLIR operations are cut into "
             "outlined pieces of about this size before LLVM, which "
             "compiles each function on one thread in superlinear time "
             "(default 1500; 0: never; CPU target; same results)"),
    cl::init(defaults.opsPerFunction), cl::cat(compileCategory));
static cl::opt<bool> convLibrary(
    "conv-library",
    cl::desc("Run f32 convolutions and their gradients in oneDNN instead of "
             "dq's generated loops (CPU target; the model then needs "
             "libdnnl; results independent of the thread count, last bits "
             "differ from dq's loops)"),
    cl::init(false), cl::cat(compileCategory));
static cl::opt<std::string> convLibraryPath(
    "conv-library-path",
    cl::desc("libDQConvLibrary.a for --conv-library (default: ../lib next "
             "to dq-compile)"),
    cl::init(""), cl::cat(compileCategory));
static cl::opt<std::string> supportLibrary(
    "support-library",
    cl::desc("The model support archive linked into every model (default: "
             "libDQModelSupport.a in ../lib next to dq-compile)"),
    cl::init(defaults.supportLibrary), cl::cat(compileCategory));
static cl::opt<std::string> loweringPipeline(
    "lowering-pipeline",
    cl::desc("Pass pipeline on the module, without the builtin.module(...) "
             "anchor, that replaces dq-lower-to-llvm{emit-c-interface} (for "
             "experiments; it must produce the LLVM dialect with C "
             "interfaces)"),
    cl::init(defaults.loweringPipeline), cl::cat(compileCategory));
static cl::opt<bool> parallel(
    "parallel",
    cl::desc("Distribute large loops over all cores with OpenMP (default: "
             "on when dq was built with an OpenMP runtime; the model then "
             "needs libomp at run time, threads from OMP_NUM_THREADS; "
             "results are bit-identical to --parallel=false)"),
    cl::init(defaults.parallel), cl::cat(compileCategory));
static cl::opt<std::string> openmpLibrary(
    "openmp-library",
    cl::desc("The OpenMP runtime (libomp) parallel models link against"),
    cl::init(defaults.openmpLibrary), cl::cat(compileCategory));
static cl::opt<std::string> target(
    "target",
    cl::desc("Where the model runs: 'cpu' (default) or 'cuda' (GPU kernels "
             "plus host code; the model links libdq_cuda_runtime.so, copied "
             "next to it)"),
    cl::init(defaults.target), cl::cat(compileCategory));
// The --gpu-* flags left out take dq-lower-to-nvvm's defaults, whose owner
// (dq/GPU/Options.h) their help quotes.
static const std::string gpuChipHelp =
    std::string("--target cuda: GPU architecture (default ") +
    mlir::dq::kDefaultGPUChip + ")";
static cl::opt<std::string> gpuChip("gpu-chip", cl::desc(gpuChipHelp),
                                    cl::cat(compileCategory));
static const std::string gpuFeaturesHelp =
    std::string("--target cuda: PTX features (default ") +
    mlir::dq::kDefaultGPUFeatures + ")";
static cl::opt<std::string> gpuFeatures("gpu-features",
                                        cl::desc(gpuFeaturesHelp),
                                        cl::cat(compileCategory));
static const std::string gpuFormatHelp =
    std::string("--target cuda: embed 'isa' (PTX, compiled by the driver at "
                "load; no CUDA toolkit needed), 'bin' (cubin; needs ptxas) or "
                "'fatbin' (default ") +
    mlir::dq::kDefaultGPUFormat + ")";
static cl::opt<std::string> gpuFormat("gpu-format", cl::desc(gpuFormatHelp),
                                      cl::cat(compileCategory));
static cl::opt<bool> gpuSharedTiles(
    "gpu-shared-tiles",
    cl::desc("--target cuda: tile convolutions and matmuls in shared memory "
             "(default; =false: one thread per output, global loads)"),
    cl::cat(compileCategory));
static cl::opt<bool> gpuDeterministic(
    "gpu-deterministic",
    cl::desc("--target cuda: sum every reduction in the sequential order "
             "(no atomics): bit-reproducible runs, slower steps"),
    cl::cat(compileCategory));
static const std::string gpuSplitBlocksHelp =
    "--target cuda: blocks to aim for when a tiled reduction with few "
    "outputs (a weight gradient) is split over blocks (default " +
    std::to_string(mlir::dq::kDefaultGPUSplitBlocks) + ")";
static cl::opt<int64_t> gpuSplitBlocks("gpu-split-blocks",
                                       cl::desc(gpuSplitBlocksHelp),
                                       cl::cat(compileCategory));
static cl::opt<std::string> cudaRuntime(
    "cuda-runtime",
    cl::desc("--target cuda: the libdq_cuda_runtime.so to link (default: "
             "lib/ next to this tool's bin/)"),
    cl::init(defaults.cudaRuntime), cl::cat(compileCategory));
static cl::opt<bool>
    keepLLVMIR("keep-llvm-ir",
               cl::desc("Also write <prefix>.ll (the optimized LLVM IR); "
                        "compiles even when the cache holds the library"),
               cl::init(defaults.keepLLVMIR), cl::cat(compileCategory));
static cl::opt<std::string> profileLocations(
    "profile-locations",
    cl::desc("CPU: write the linalg-level IR to this file and give the "
             "library line tables into it, so that `perf report --sort "
             "srcline` names the ops (bench/attribute_profile.py; not "
             "cached)"),
    cl::value_desc("file"), cl::init(defaults.profileLocations),
    cl::cat(compileCategory));
static cl::opt<std::string> cacheDir(
    "cache-dir",
    cl::desc("The compile cache: a library compiled before from the same "
             "module with the same options and the same dq is copied "
             "instead of compiled (default: $XDG_CACHE_HOME/dq, else "
             "$HOME/.cache/dq; docs/Runtime.md)"),
    cl::value_desc("dir"), cl::init(""), cl::cat(compileCategory));
static cl::opt<bool>
    noCache("no-cache",
            cl::desc("Neither look up nor store the library in the cache"),
            cl::init(defaults.noCache), cl::cat(compileCategory));
static cl::opt<unsigned> cacheMaxMiB(
    "cache-max-mib",
    cl::desc("After storing an entry, remove the least recently used ones "
             "until the cache holds at most this many MiB (default 2048)"),
    cl::init(defaults.cacheMaxMiB), cl::cat(compileCategory));
static cl::opt<std::string> inputPreset(
    "input-preset",
    cl::desc("The input normalization recorded in the manifest, which "
             "dq-train and dq-run apply to pixels/255: fashion-mnist (mean "
             "0.2860, std 0.3530), cifar10 (per-channel CIFAR-10 "
             "statistics) or none (mean 0, std 1). Default: fashion-mnist "
             "for 1-channel images, cifar10 for 3, none otherwise"),
    cl::value_desc("name"), cl::init(defaults.inputPreset),
    cl::cat(compileCategory));
static cl::opt<std::string> inputMean(
    "input-mean",
    cl::desc("Per-channel mean of pixels/255 to record (one value, or one "
             "per channel, comma-separated); needs --input-std"),
    cl::value_desc("v[,v...]"), cl::init(defaults.inputMean),
    cl::cat(compileCategory));
static cl::opt<std::string> inputStd(
    "input-std",
    cl::desc("Per-channel standard deviation of pixels/255 to record (> 0); "
             "needs --input-mean"),
    cl::value_desc("v[,v...]"), cl::init(defaults.inputStd),
    cl::cat(compileCategory));
static cl::opt<std::string> preprocessFrom(
    "preprocess-from",
    cl::desc("Record the input normalization of another model: its "
             "manifest, or a state file or export dq-train wrote (e.g. for "
             "the inference model built from a trained state)"),
    cl::value_desc("file"), cl::init(defaults.preprocessFrom),
    cl::cat(compileCategory));
static cl::opt<bool>
    timing("timing",
           cl::desc("Print the wall time of every stage to stderr (parse, "
                    "manifest and initial state, cache, MLIR lowering, LLVM "
                    "optimization, code generation, link, outputs)"),
           cl::init(false), cl::cat(compileCategory));

/// Only a flag given on the command line sets an optional field: left out,
/// the library's own default (or the pipeline's) applies.
template <typename T>
void forwardIfGiven(std::optional<T> &field, const cl::opt<T> &flag) {
  if (flag.getNumOccurrences() > 0)
    field = flag.getValue();
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(compileCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "dq-compile: compile a dq training module to a shared library, a "
      "manifest and an initial state file\n");
  dq::compile::CompileOptions options;
  options.input = inputFile;
  options.outputPrefix = outputPrefix;
  forwardIfGiven(options.kind, kind);
  options.target = target;
  options.cpu = cpu;
  options.optLevel = optLevel;
  options.codegenThreads = codegenThreads;
  options.codegenPartitions = codegenPartitions;
  options.opsPerFunction = opsPerFunction;
  options.supportLibrary = supportLibrary;
  options.useConvLibrary = convLibrary;
  options.convLibrary = convLibraryPath;
  options.loweringPipeline = loweringPipeline;
  options.parallel = parallel;
  options.openmpLibrary = openmpLibrary;
  forwardIfGiven(options.gpuChip, gpuChip);
  forwardIfGiven(options.gpuFeatures, gpuFeatures);
  forwardIfGiven(options.gpuFormat, gpuFormat);
  forwardIfGiven(options.gpuSharedTiles, gpuSharedTiles);
  forwardIfGiven(options.gpuDeterministic, gpuDeterministic);
  forwardIfGiven(options.gpuSplitBlocks, gpuSplitBlocks);
  options.cudaRuntime = cudaRuntime;
  options.keepLLVMIR = keepLLVMIR;
  options.profileLocations = profileLocations;
  options.noCache = noCache;
  forwardIfGiven(options.cacheDir, cacheDir);
  options.cacheMaxMiB = cacheMaxMiB;
  options.inputPreset = inputPreset;
  options.inputMean = inputMean;
  options.inputStd = inputStd;
  options.preprocessFrom = preprocessFrom;

  dq::compile::StageTimer timer;
  dq::compile::CompileResult result;
  try {
    result = dq::compile::compileModel(options, timer);
  } catch (const std::exception &error) {
    timer.clearProgressLine();
    llvm::errs() << "dq-compile: " << error.what() << "\n";
    return 1;
  }
  timer.finish(timing);
  const rt::Manifest &manifest = result.manifest;
  if (result.kernels)
    llvm::outs() << "dq-compile: wrote " << result.libraryPath << " and "
                 << outputPrefix << ".manifest.json (kernels: "
                 << manifest.entryPoints.size() << " functions)\n";
  else if (result.inference)
    llvm::outs() << "dq-compile: wrote " << result.libraryPath << " and "
                 << outputPrefix << ".manifest.json (inference, batch "
                 << manifest.batch << ", " << manifest.library.bytes
                 << " bytes)\n";
  else
    llvm::outs() << "dq-compile: wrote " << result.libraryPath << ", "
                 << outputPrefix << ".manifest.json and " << outputPrefix
                 << ".state (" << manifest.state.size()
                 << " state tensors, batch " << manifest.batch << ")\n";
  if (manifest.preprocess)
    llvm::outs() << "dq-compile: inputs: NHWC "
                 << rt::shapeString(manifest.imageShape)
                 << " images, (pixel/255 - mean) / std with "
                 << rt::describePreprocess(*manifest.preprocess)
                 << " (recorded in the manifest)\n";
  return 0;
}
