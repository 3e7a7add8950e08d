//===- CPUPipeline.cpp - dq-lower-to-llvm ---------------------------------===//

#include "dq/Conversion/Passes.h"
#include "dq/Pipelines/Pipelines.h"
#include "dq/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Tosa/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::dq::addModelToLinalgPasses(OpPassManager &pm,
                                      const BitSerialLowering &bitSerial) {
  ConvertDQToLinalgOptions dqOptions;
  dqOptions.bitserialRows = bitSerial.rows;
  dqOptions.bitserialVectorBits = bitSerial.vectorBits;
  dqOptions.bitserialVectorRegisters = bitSerial.vectorRegisters;
  dqOptions.bitserialByteCounts = bitSerial.byteCounts;
  pm.addPass(createConvertDQToLinalg(dqOptions));
  TosaToLinalgNamedOptions namedOptions;
  // CPU: a filter contiguous in the output channel suits the vectorized
  // loop order; GPU: neighbouring threads (neighbouring output channels)
  // read neighbouring weights.
  namedOptions.preferConv2DKernelLayoutHWCF = true;
  tosa::addTosaToLinalgPasses(pm, TosaToLinalgOptions(), namedOptions);
  pm.addNestedPass<func::FuncOp>(createTosaToArithPass());
  pm.addNestedPass<func::FuncOp>(createTosaToTensorPass());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createDQFuseElementwise());
  pm.addNestedPass<func::FuncOp>(createLinalgGeneralizeNamedOpsPass());
  // A one-process reference of a data-parallel run sums its batch in the
  // processes' blocks (only with dq.replica_batch).
  pm.addPass(createDQBlockBatchSums());
}

void mlir::dq::addOneShotBufferizePass(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // @calibrate's fit iterations: a loop whose tensor is a new one in every
  // iteration.
  bufferizeOptions.allowReturnAllocsFromLoops = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
}

void mlir::dq::buildLowerToLLVMPipeline(OpPassManager &pm,
                                        const LowerToLLVMOptions &options) {
  BitSerialLowering bitSerial;
  bitSerial.vectorBits = options.vectorBits;
  bitSerial.vectorRegisters = options.vectorRegisters;
  bitSerial.byteCounts = options.bitserialByteCounts;
  addModelToLinalgPasses(pm, bitSerial);
  // Convolutions a library runs; dq's loop passes leave them alone.
  if (options.convLibrary)
    pm.addNestedPass<func::FuncOp>(createDQMarkLibraryConvs());
  // Ops write into fills of new tensors, not into copies of constants.
  pm.addNestedPass<func::FuncOp>(createDQFillSplatDestinations());
  // Quantizer bodies read their level tables once per op, not per element.
  pm.addNestedPass<func::FuncOp>(createDQHoistBodyExtracts());
  // Profiles read by op: every later op keeps a location in this dump.
  if (!options.profileLocations.empty()) {
    LocationSnapshotOptions snapshot;
    snapshot.fileName = options.profileLocations;
    pm.addPass(createLocationSnapshot(snapshot));
  }
  // A loop order that keeps the output in cache (bit-identical results).
  pm.addNestedPass<func::FuncOp>(createDQInterchangeGenerics());
  // Sums over every loop but the innermost (batch-norm statistics, level
  // histograms) get a parallel loop over a fixed number of chunks.
  DQSplitReductionsOptions reductionOptions;
  reductionOptions.chunks = options.reductionChunks;
  reductionOptions.minIterations = options.minParallelIterations;
  pm.addNestedPass<func::FuncOp>(createDQSplitReductions(reductionOptions));
  // One parallel loop of each large generic becomes an scf.forall, later an
  // OpenMP work-sharing loop (bit-identical for any thread count).
  if (options.parallel) {
    DQParallelizeGenericsOptions parallelOptions;
    parallelOptions.minIterations = options.minParallelIterations;
    parallelOptions.vectorBits = options.vectorBits;
    parallelOptions.vectorRegisters = options.vectorRegisters;
    pm.addNestedPass<func::FuncOp>(
        createDQParallelizeGenerics(parallelOptions));
  }
  // Vector lanes along the innermost parallel loop; the accumulator of each
  // reduction then stays in registers (bit-identical results).
  DQVectorizeGenericsOptions vectorizeOptions;
  vectorizeOptions.vectorBits = options.vectorBits;
  vectorizeOptions.vectorRegisters = options.vectorRegisters;
  pm.addPass(createDQVectorizeGenerics(vectorizeOptions));
  pm.addPass(createCanonicalizerPass());
  // Row indices of register tiles leave the reduction loops first, so that
  // each row's accumulator can then be hoisted out of them.
  pm.addPass(createLoopInvariantCodeMotionPass());
  pm.addNestedPass<func::FuncOp>(createLoopInvariantSubsetHoistingPass());
  pm.addPass(createCanonicalizerPass());

  // Producers write into the padded buffers their convolutions read.
  pm.addNestedPass<func::FuncOp>(createDQPadsAsDestinations());
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  // Tensors to buffers.
  addOneShotBufferizePass(pm);
  // An insert_slice bufferized in place is still a memref.copy between two
  // identical subviews of one buffer; CSE makes them one value and the
  // canonicalizer drops the self-copy (else a strided runtime copy).
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  if (options.convLibrary)
    pm.addPass(createDQCallLibraryConvs());
  // Distributed loops (of dq-parallelize-generics and of lowerings that
  // tile their own work, such as dq.bitserial_conv2d) run on threads, or
  // in order in serial code.
  if (options.parallel)
    pm.addPass(createForallToParallelLoopPass());
  else
    pm.addPass(createForallToForLoopPass());
  bufferization::BufferDeallocationPipelineOptions deallocOptions;
  bufferization::buildBufferDeallocationPipeline(pm, deallocOptions);
  // The bit-serial kernel's byte counts summed per lane by PSADBW.
  if (options.bitserialByteCounts) {
    DQX86ByteSumsOptions byteSumOptions;
    byteSumOptions.vectorBits = options.vectorBits;
    pm.addNestedPass<func::FuncOp>(createDQX86ByteSums(byteSumOptions));
  }
  // Returned constants and arguments are cloned by the deallocation
  // pipeline; lower those clones too.
  pm.addPass(createConvertBufferizationToMemRefPass());

  // No malloc, free or fresh pages per call for the step's temporaries.
  if (options.staticBuffers)
    pm.addPass(createDQStaticBuffers());
  if (options.emitCInterface)
    pm.addNestedPass<func::FuncOp>(LLVM::createLLVMRequestCWrappersPass());
  // Bounded functions for LLVM, which compiles each one on one thread in
  // superlinear time (after the C wrappers: the pieces get none).
  if (options.opsPerFunction > 0) {
    DQSplitFunctionsOptions splitOptions;
    splitOptions.opsPerFunction = options.opsPerFunction;
    pm.addPass(createDQSplitFunctions(splitOptions));
  }

  // Loops to LLVM. Passes that change one function at a time run nested,
  // on all cores across the functions (the pieces of dq-split-functions);
  // those that declare or convert module-level symbols run on the module.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass());
  pm.addNestedPass<func::FuncOp>(createLowerAffinePass());
  if (options.parallel) {
    pm.addPass(createConvertSCFToOpenMPPass());
    // Inlines the alloca scopes wrapped around each loop body (they hold no
    // allocas here), which scf-to-cf could not split into blocks.
    pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  }
  {
    OpPassManager &functions = pm.nest<func::FuncOp>();
    functions.addPass(createSCFToControlFlowPass());
    functions.addPass(memref::createExpandStridedMetadataPass());
    functions.addPass(createLowerAffinePass());
    functions.addPass(createConvertVectorToLLVMPass());
  }
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  {
    OpPassManager &functions = pm.nest<func::FuncOp>();
    functions.addPass(createConvertMathToLLVMPass());
    functions.addPass(createArithToLLVMConversionPass());
    functions.addPass(createConvertIndexToLLVMPass());
    functions.addPass(createUBToLLVMConversionPass());
  }
  ConvertFuncToLLVMPassOptions funcOptions;
  pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  pm.addPass(createConvertControlFlowToLLVMPass());
  if (options.parallel)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addNestedPass<LLVM::LLVMFuncOp>(createCanonicalizerPass());
  // The pieces' calls pass only what each piece reads (after the
  // canonicalizer has folded the descriptors it never reads).
  if (options.opsPerFunction > 0)
    pm.addPass(createDQDropUnusedArguments());
}

void mlir::dq::registerPipelines() {
  PassPipelineRegistration<LowerToLLVMOptions>(
      "dq-lower-to-llvm",
      "Lowers quantized models (dq + TOSA/linalg on tensors) to the LLVM "
      "dialect for CPU execution",
      buildLowerToLLVMPipeline);
}
