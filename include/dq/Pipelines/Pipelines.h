//===- Pipelines.h - dq pass pipelines --------------------------*- C++ -*-===//

#ifndef DQ_PIPELINES_PIPELINES_H
#define DQ_PIPELINES_PIPELINES_H

#include "dq/Conversion/DQToLinalg/DQToLinalg.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::dq {

struct LowerToLLVMOptions : public PassPipelineOptions<LowerToLLVMOptions> {
  PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Also emit _mlir_ciface_<name> wrappers taking memref "
                     "descriptors by pointer (what the runtime and the "
                     "Python loader call)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Distribute the outermost parallel loop of large "
                     "generics over an OpenMP team (the code then needs "
                     "libomp; results are bit-identical to serial code)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> minParallelIterations{
      *this, "min-parallel-iterations",
      llvm::cl::desc("Smallest iteration space distributed over threads"),
      llvm::cl::init(32768)};
  PassOptions::Option<int64_t> reductionChunks{
      *this, "reduction-chunks",
      llvm::cl::desc("Reductions with no parallel loop (per-channel sums, "
                     "level-fit histograms) are split into at most this "
                     "many partial sums added in a fixed order "
                     "(dq-split-reductions; results depend on it, never on "
                     "the thread count; 0: the loops' order)"),
      llvm::cl::init(16)};
  PassOptions::Option<int64_t> vectorBits{
      *this, "vector-bits",
      llvm::cl::desc("Width of the target's vector registers in bits "
                     "(dq-vectorize-generics' register tiles; dq-compile "
                     "sets it from the target CPU)"),
      llvm::cl::init(256)};
  PassOptions::Option<int64_t> vectorRegisters{
      *this, "vector-registers",
      llvm::cl::desc("Number of the target's vector registers "
                     "(dq-vectorize-generics' register tiles; dq-compile "
                     "sets it from the target CPU)"),
      llvm::cl::init(16)};
  PassOptions::Option<bool> bitserialByteCounts{
      *this, "bitserial-byte-counts",
      llvm::cl::desc("x86 without a vector popcount: dq.bitserial_conv2d's "
                     "kernel counts bits per byte (nibble-table VPSHUFB) and "
                     "sums a lane's bytes once per output (PSADBW, by "
                     "dq-x86-byte-sums); "
                     "dq-compile sets it from the target CPU"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> convLibrary{
      *this, "conv-library",
      llvm::cl::desc("Run f32 convolutions and their gradients in oneDNN "
                     "(dq-mark-library-convs, dq-call-library-convs; the "
                     "code then needs dq's DQConvLibrary and libdnnl)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> staticBuffers{
      *this, "static-buffers",
      llvm::cl::desc("Buffers freed before their function returns get fixed "
                     "offsets in one arena kept across calls "
                     "(dq-static-buffers)"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> opsPerFunction{
      *this, "ops-per-function",
      llvm::cl::desc("Functions larger than this many operations are cut "
                     "into outlined pieces of about this size "
                     "(dq-split-functions; 0: never)"),
      llvm::cl::init(1500)};
  PassOptions::Option<std::string> profileLocations{
      *this, "profile-locations",
      llvm::cl::desc("Write the linalg-on-tensors IR to this file and point "
                     "every op's location into it (snapshot-op-locations), "
                     "so that line tables attribute machine code to those "
                     "ops (bench/attribute_profile.py)"),
      llvm::cl::init("")};
};

/// The front shared by the CPU and GPU pipelines: dq and TOSA to linalg on
/// tensors (conv filters HWCF, contiguous in the output channel),
/// elementwise producers fused into their consumers, every named op in
/// generic form. `bitSerial`: how convert-dq-to-linalg lowers
/// dq.bitserial_conv2d.
void addModelToLinalgPasses(OpPassManager &pm,
                            const BitSerialLowering &bitSerial);

/// Tensors to buffers across function boundaries, identity layouts at the
/// boundaries (what the C interface and the runtime expect).
void addOneShotBufferizePass(OpPassManager &pm);

/// dq-lower-to-llvm: dq + TOSA + linalg on tensors to the LLVM dialect
/// (bufferized, loops; optionally with C interface wrappers), ready for
/// mlir-translate or an execution engine.
void buildLowerToLLVMPipeline(OpPassManager &pm,
                              const LowerToLLVMOptions &options);

void registerPipelines();

} // namespace mlir::dq

#endif // DQ_PIPELINES_PIPELINES_H
