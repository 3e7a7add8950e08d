//===- CPUCodegen.h - LLVM IR to native object files, in parallel ---------===//
//
// The LLVM side of dq-compile: the target machine for a CPU name, and the
// LLVM optimizer and code generator from a translated module to object
// files (docs/Runtime.md, "Compile time").
//
// A module is compiled as a fixed number of partitions, each optimized and
// code-generated on its own in a fresh LLVMContext with its own target
// machine, on as many threads as asked for. The partitions depend on the
// module and the partition count only, never on the thread count, and each
// is compiled alone: the object files, and so the linked library, are the
// same bytes for any thread count.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_CODEGEN_CPUCODEGEN_H
#define DQ_CODEGEN_CPUCODEGEN_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class Module;
class TargetMachine;
class raw_ostream;
} // namespace llvm

namespace dq::codegen {

/// What a target machine is made from; a value that threads can share.
struct TargetSpec {
  std::string triple;
  /// The LLVM CPU name (the host's resolved, never "host").
  std::string cpu;
  /// Comma-separated "+feature"/"-feature" list (the host's for "host").
  std::string features;
};

/// The target for `cpu`: "host" (this machine's CPU and features),
/// "generic" (any x86-64) or an LLVM CPU name for the default triple. An
/// error for a name LLVM does not know. Needs the native target
/// initialized (llvm::InitializeNativeTarget).
llvm::Expected<TargetSpec> resolveTarget(llvm::StringRef cpu);

/// A position-independent target machine for `spec` (code generation at
/// LLVM's default level, whatever the IR optimization level).
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetSpec &spec);

struct CodegenOptions {
  /// LLVM optimization level, 0-3.
  unsigned optLevel = 2;
  /// The number of partitions; 1 compiles the module as one (whole-module
  /// optimization, one object). At most one partition per function
  /// definition is made.
  unsigned partitions = 16;
  /// Threads compiling partitions; 0 means one per hardware thread.
  unsigned threads = 0;
  /// Functions left unoptimized by the code generator (after the IR
  /// optimizer, they get optnone): entry-point wrappers whose one call
  /// passes thousands of arguments, which SelectionDAG's store merging
  /// takes seconds over, to no benefit.
  std::vector<std::string> glueFunctions;
  /// Serial code of a module with parallel regions gets optsize (see
  /// sizeOptimizeSerialCode in CPUCodegen.cpp): for training steps, whose
  /// serial loops are small per-step work. Inference libraries keep it
  /// off: at batch 1 every loop is below the parallel threshold, so the
  /// serial code is the whole model.
  bool sizeOptimizeSerialCode = true;
  /// When set, the optimized LLVM IR is printed here (all partitions
  /// linked into one module).
  llvm::raw_ostream *optimizedIR = nullptr;
  /// Called as each stage starts ("LLVM optimization", "code generation"
  /// for one partition; "partitioning", "LLVM optimization and code
  /// generation" for more).
  std::function<void(llvm::StringRef stage)> onStage;
};

/// What one partition was and what compiling it took.
struct PartitionStats {
  unsigned functions = 0;
  /// Instructions before optimization (the balance is by this count).
  uint64_t instructions = 0;
  double optimizeSeconds = 0, codegenSeconds = 0;
  /// The largest function in the partition.
  std::string largestFunction;
};

struct CodegenResult {
  /// Object file bytes, in link order.
  std::vector<std::string> objects;
  std::vector<PartitionStats> partitions;
  unsigned threads = 1;
  /// Why the module was compiled as one partition although more were asked
  /// for; empty otherwise.
  std::string unsplitReason;
};

/// Optimizes and compiles `module` (its triple and data layout set for
/// `spec`) to object files. The module is consumed; its LLVMContext is
/// only used on the calling thread.
llvm::Expected<CodegenResult> compileToObjects(std::unique_ptr<llvm::Module> module,
                                               const TargetSpec &spec,
                                               const CodegenOptions &options);

/// One line per partition and a summary, for --timing.
std::vector<std::string> describe(const CodegenResult &result);

} // namespace dq::codegen

#endif // DQ_CODEGEN_CPUCODEGEN_H
