//===- Compile.h - compiling a dq module to a model library -----*- C++ -*-===//
//
// What dq-compile does, as a library: from a training module (the output of
// --dq-build-training-graph) or an inference module (dq.kind = "inference",
// --dq-build-inference-graph) write
//   <prefix>.so             native code, dq_<entry>(void **args) wrappers
//   <prefix>.manifest.json  state tensors, entry points, module hash
//   <prefix>.state          the initial state (training modules)
// which run without LLVM or MLIR (docs/Runtime.md). The library comes from
// the compile cache (CompileCache.h) when an earlier compile of the same
// module with the same options by the same dq stored it; the manifest and
// the initial state are computed from the module either way. The LLVM side
// is lib/Codegen (CPUCodegen.h).
//
// dq-compile is a driver over compileModel: its flags fill CompileOptions
// (their defaults and help live there), and it prints the result.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_COMPILE_COMPILE_H
#define DQ_COMPILE_COMPILE_H

#include "dq/runtime/Manifest.h"

#include "llvm/ADT/StringRef.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dq::compile {

/// An error for the user, naming what is wrong (dq-compile prints it as
/// "dq-compile: <message>"). The runtime's readers and writers throw their
/// own std::exception types, which reach the caller too.
struct CompileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The OpenMP runtime (libomp) dq was built with; empty when none was
/// found, and models are then serial by default.
std::string builtOpenMPLibrary();

/// Everything a compile depends on besides the module. Messages name the
/// dq-compile flag of each field.
struct CompileOptions {
  /// The module (.mlir) and the output prefix (a path ending in a name).
  std::string input, outputPrefix;
  /// What the module is, overriding its dq.kind attribute: "training",
  /// "inference" or "kernels" (every public function an entry point, for
  /// test harnesses; CPU only). Unset: dq.kind, else "training".
  std::optional<std::string> kind;
  /// "cpu" or "cuda" (GPU kernels plus host code).
  std::string target = "cpu";
  /// Target CPU: "host", "generic" or an LLVM CPU name.
  std::string cpu = "host";
  unsigned optLevel = 2;
  /// 0: one per hardware thread (the objects are the same bytes for any).
  unsigned codegenThreads = 0;
  unsigned codegenPartitions = 16;
  /// Functions above this many MLIR ops are outlined in pieces (0: never).
  int64_t opsPerFunction = 1500;
  /// Empty: libDQModelSupport.a in ../lib next to the running executable.
  std::string supportLibrary;
  /// f32 convolutions and their gradients in oneDNN (dq-mark-library-convs;
  /// CPU target): links `convLibrary` (empty: libDQConvLibrary.a in ../lib
  /// next to the running executable), libdnnl and the OpenMP runtime.
  bool useConvLibrary = false;
  std::string convLibrary;
  /// Replaces dq-lower-to-llvm when set (experiments).
  std::string loweringPipeline;
  /// OpenMP loops, linking `openmpLibrary` (the model then needs it at run
  /// time; results are bit-identical to serial code).
  bool parallel = !builtOpenMPLibrary().empty();
  std::string openmpLibrary = builtOpenMPLibrary();
  /// --target cuda; unset: dq-lower-to-nvvm's defaults (the one place they
  /// are declared, dq/Pipelines/GPUPipeline.h).
  std::optional<std::string> gpuChip, gpuFeatures, gpuFormat;
  std::optional<bool> gpuSharedTiles, gpuDeterministic;
  std::optional<int64_t> gpuSplitBlocks;
  /// Empty: libdq_cuda_runtime.so in ../lib next to the running executable.
  std::string cudaRuntime;
  /// Also write <prefix>.ll (compiles even on a cache hit).
  bool keepLLVMIR = false;
  /// CPU target: the linalg-level IR is written to this file and the
  /// library gets line tables into it, for profilers (never cached).
  std::string profileLocations;
  /// The cache: off with `noCache`; the default directory when `cacheDir`
  /// is not set (a directory that is set and unusable is reported).
  bool noCache = false;
  std::optional<std::string> cacheDir;
  unsigned cacheMaxMiB = 2048;
  /// The input normalization to record: at most one of a preset, mean and
  /// std (pixels/255 units, one value or one per channel), or another
  /// model's manifest / state; none: the default for the channel count.
  std::string inputPreset, inputMean, inputStd, preprocessFrom;
};

/// The wall time of each stage, in order, and, while a long compile runs
/// with stderr on a terminal, the stage it is in.
class StageTimer {
public:
  using Clock = std::chrono::steady_clock;

  /// Ends the current stage, if any, and starts `name`.
  void next(llvm::StringRef name);
  /// A progress line per stage from now on (stderr on a terminal).
  void showProgress();
  /// Erases the progress line (before a diagnostic or an error).
  void clearProgressLine();
  /// What the report prints after the stages ("cache: hit ...").
  void note(const std::string &line) { notes_.push_back(line); }
  /// Ends the last stage; prints the report to stderr when `report`.
  void finish(bool report);

private:
  struct Stage {
    std::string name;
    double seconds;
  };
  static double seconds(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
  }
  Clock::time_point start_ = Clock::now(), stageStart_ = start_;
  std::vector<Stage> stages_;
  std::vector<std::string> notes_;
  bool progress_ = false;
};

/// What a compile wrote.
struct CompileResult {
  ::dq::runtime::Manifest manifest;
  std::string libraryPath;
  /// An inference module or a kernels library: no state file.
  bool inference = false, kernels = false;
};

/// Compiles `options.input`; throws CompileError (or a runtime error) with
/// a message for the user. Diagnostics of the module go to stderr with
/// their locations. Every output is written atomically under the runtime's
/// output-file policy, so a failed compile replaces nothing.
CompileResult compileModel(const CompileOptions &options, StageTimer &timer);

} // namespace dq::compile

#endif // DQ_COMPILE_COMPILE_H
