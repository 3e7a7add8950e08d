//===- MapToLaunches.cpp - dq-gpu-map-to-launches -------------------------===//
//
// One kernel per linalg op: its parallel loops are flattened into a linear
// index space (any number of dims, no per-dim block shape to choose), and
// each thread computes one output element, running the op's reduction loops
// sequentially. Ops without parallel loops run in a single thread.
//
//===----------------------------------------------------------------------===//

#include "dq/GPU/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>

namespace mlir::dq {
#define GEN_PASS_DEF_DQGPUMAPTOLAUNCHES
#include "dq/GPU/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// Replaces `loop` (an scf.parallel without reductions at host level) by a
/// gpu.launch over its flattened iteration space.
LogicalResult mapParallelLoop(scf::ParallelOp loop, int64_t blockSize) {
  if (!loop.getInitVals().empty())
    return loop.emitError("dq-gpu-map-to-launches: scf.parallel with "
                          "reductions is not supported");
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Value one = indexConstant(b, loc, 1);
  // Trip count of every dim and of the whole space, on the host.
  SmallVector<Value> tripCounts;
  std::optional<int64_t> staticTotal = 1;
  Value total = one;
  for (auto [lower, upper, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value span = arith::SubIOp::create(b, loc, upper, lower);
    Value trips = arith::CeilDivUIOp::create(b, loc, span, step);
    tripCounts.push_back(trips);
    total = arith::MulIOp::create(b, loc, total, trips);
    std::optional<int64_t> lo = getConstantIntValue(lower);
    std::optional<int64_t> hi = getConstantIntValue(upper);
    std::optional<int64_t> st = getConstantIntValue(step);
    if (staticTotal && lo && hi && st && *st > 0)
      staticTotal = *staticTotal * llvm::divideCeil(*hi - *lo, *st);
    else
      staticTotal = std::nullopt;
  }
  if (staticTotal && *staticTotal == 0) {
    loop.erase();
    return success();
  }
  Value threads = indexConstant(b, loc, blockSize);
  Value blocks = arith::CeilDivUIOp::create(b, loc, total, threads);
  auto launch =
      gpu::LaunchOp::create(b, loc, blocks, one, one, threads, one, one);

  b.setInsertionPointToStart(&launch.getBody().front());
  Value linear = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, launch.getBlockIds().x, threads),
      launch.getThreadIds().x);
  Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                       linear, total);
  auto guard = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
  gpu::TerminatorOp::create(b, loc);

  b.setInsertionPointToStart(guard.thenBlock());
  // 64-bit division is emulated on NVIDIA GPUs; delinearize in 32 bits when
  // the whole space fits.
  bool narrow = staticTotal && *staticTotal < (int64_t(1) << 31);
  Type i32 = b.getI32Type();
  auto toNarrow = [&](Value v) -> Value {
    return narrow ? arith::IndexCastUIOp::create(b, loc, i32, v).getResult()
                  : v;
  };
  auto toIndex = [&](Value v) -> Value {
    return narrow ? arith::IndexCastUIOp::create(b, loc, b.getIndexType(), v)
                        .getResult()
                  : v;
  };
  Value remaining = toNarrow(linear);
  SmallVector<Value> ivs(tripCounts.size());
  for (size_t d = tripCounts.size(); d-- > 0;) {
    Value trips = toNarrow(tripCounts[d]);
    Value position = toIndex(arith::RemUIOp::create(b, loc, remaining, trips));
    if (d > 0)
      remaining = arith::DivUIOp::create(b, loc, remaining, trips);
    ivs[d] = arith::AddIOp::create(
        b, loc, loop.getLowerBound()[d],
        arith::MulIOp::create(b, loc, position, loop.getStep()[d]));
  }
  IRMapping mapping;
  mapping.map(loop.getInductionVars(), ivs);
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, mapping);
  loop.erase();
  return success();
}

/// Lowers `op` to loops inside a single-thread launch.
LogicalResult mapToSingleThread(RewriterBase &rewriter, linalg::LinalgOp op) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Value one = indexConstant(rewriter, loc, 1);
  auto launch =
      gpu::LaunchOp::create(rewriter, loc, one, one, one, one, one, one);
  rewriter.setInsertionPointToStart(&launch.getBody().front());
  auto terminator = gpu::TerminatorOp::create(rewriter, loc);
  op->moveBefore(terminator);
  rewriter.setInsertionPoint(op);
  if (failed(linalg::linalgOpToLoops(rewriter, op)))
    return op.emitError("dq-gpu-map-to-launches: cannot lower to loops");
  rewriter.eraseOp(op);
  return success();
}

/// What combines a reduction's partial results: `out = combiner(out, v)` in
/// the payload, with `out` used nowhere else.
struct Combiner {
  Operation *op;
  unsigned accumulatorOperand; // which operand of `op` is the output
  arith::AtomicRMWKind kind;
  TypedAttr identity;
};

std::optional<Combiner> matchCombiner(linalg::GenericOp op, unsigned output) {
  Block &body = op.getRegion().front();
  BlockArgument accumulator = body.getArgument(op.getNumDpsInputs() + output);
  Value yielded = body.getTerminator()->getOperand(output);
  Operation *combiner = yielded.getDefiningOp();
  if (!combiner || combiner->getBlock() != &body ||
      combiner->getNumOperands() != 2 || !accumulator.hasOneUse() ||
      accumulator.getUses().begin()->getOwner() != combiner ||
      !yielded.hasOneUse() || combiner->getOperand(0) == combiner->getOperand(1))
    return std::nullopt;
  Type type = accumulator.getType();
  Builder b(op.getContext());
  auto floatIdentity = [&](double value) -> TypedAttr {
    return b.getFloatAttr(type, value);
  };
  auto intIdentity = [&](const APInt &value) -> TypedAttr {
    return b.getIntegerAttr(type, value);
  };
  unsigned width = type.getIntOrFloatBitWidth();
  double inf = std::numeric_limits<double>::infinity();
  std::optional<std::pair<arith::AtomicRMWKind, TypedAttr>> kind =
      llvm::TypeSwitch<Operation *,
                       std::optional<std::pair<arith::AtomicRMWKind, TypedAttr>>>(
          combiner)
          .Case([&](arith::AddFOp) {
            return std::make_pair(arith::AtomicRMWKind::addf,
                                  floatIdentity(0.0));
          })
          .Case([&](arith::MaximumFOp) {
            return std::make_pair(arith::AtomicRMWKind::maximumf,
                                  floatIdentity(-inf));
          })
          .Case([&](arith::MinimumFOp) {
            return std::make_pair(arith::AtomicRMWKind::minimumf,
                                  floatIdentity(inf));
          })
          .Case([&](arith::MaxNumFOp) {
            return std::make_pair(arith::AtomicRMWKind::maxnumf,
                                  floatIdentity(-inf));
          })
          .Case([&](arith::MinNumFOp) {
            return std::make_pair(arith::AtomicRMWKind::minnumf,
                                  floatIdentity(inf));
          })
          .Case([&](arith::AddIOp) {
            return std::make_pair(arith::AtomicRMWKind::addi,
                                  intIdentity(APInt::getZero(width)));
          })
          .Case([&](arith::MaxSIOp) {
            return std::make_pair(arith::AtomicRMWKind::maxs,
                                  intIdentity(APInt::getSignedMinValue(width)));
          })
          .Case([&](arith::MinSIOp) {
            return std::make_pair(arith::AtomicRMWKind::mins,
                                  intIdentity(APInt::getSignedMaxValue(width)));
          })
          .Default([](Operation *)
                       -> std::optional<
                           std::pair<arith::AtomicRMWKind, TypedAttr>> {
            return std::nullopt;
          });
  if (!kind)
    return std::nullopt;
  unsigned accumulatorOperand = combiner->getOperand(0) == accumulator ? 0 : 1;
  return Combiner{combiner, accumulatorOperand, kind->first, kind->second};
}

/// Delinearizes `linear` over `sizes` (row-major) into ivs[dims[i]].
void delinearize(OpBuilder &b, Location loc, Value linear,
                 ArrayRef<int64_t> sizes, ArrayRef<unsigned> dims,
                 SmallVectorImpl<Value> &ivs) {
  Value remaining = linear;
  for (size_t i = dims.size(); i-- > 0;) {
    Value size = indexConstant(b, loc, sizes[i]);
    ivs[dims[i]] = arith::RemUIOp::create(b, loc, remaining, size);
    if (i > 0)
      remaining = arith::DivUIOp::create(b, loc, remaining, size);
  }
}

constexpr int64_t kReductionThreads = 256;

/// A reduction over many elements (batch-norm statistics, weight gradients,
/// quantizer fits) runs one block per output element (and, when there are
/// few outputs, several blocks per element): each thread accumulates a
/// strided slice of the reduction, the block combines the partial results
/// in shared memory, and one thread per block combines its result into the
/// output atomically (the output holds the initial value). The order of the
/// additions differs from the sequential loop.
LogicalResult mapBlockReduction(linalg::GenericOp op,
                                ArrayRef<Combiner> combiners) {
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<unsigned> parallelDims, reductionDims;
  SmallVector<int64_t> parallelSizes, reductionSizes;
  int64_t parallelTotal = 1, reductionTotal = 1;
  for (auto [dim, kind] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (linalg::isParallelIterator(kind)) {
      parallelDims.push_back(dim);
      parallelSizes.push_back(ranges[dim]);
      parallelTotal *= ranges[dim];
    } else {
      reductionDims.push_back(dim);
      reductionSizes.push_back(ranges[dim]);
      reductionTotal *= ranges[dim];
    }
  }
  // Enough blocks to fill a large GPU, at least 16 elements per thread.
  int64_t chunks = std::max<int64_t>(
      1, std::min<int64_t>(llvm::divideCeil(2048, parallelTotal),
                  reductionTotal / (kReductionThreads * 16)));
  int64_t stride = kReductionThreads * chunks;

  OpBuilder b(op);
  Value one = indexConstant(b, loc, 1);
  auto workgroup = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  SmallVector<Type> sharedTypes;
  for (OpOperand &init : op.getDpsInitsMutable())
    sharedTypes.push_back(MemRefType::get(
        {kReductionThreads}, getElementTypeOrSelf(init.get().getType()),
        MemRefLayoutAttrInterface(), workgroup));
  auto launch = gpu::LaunchOp::create(
      b, loc, indexConstant(b, loc, parallelTotal),
      indexConstant(b, loc, chunks), one,
      indexConstant(b, loc, kReductionThreads), one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, sharedTypes);
  Block &kernel = launch.getBody().front();
  b.setInsertionPointToStart(&kernel);
  Value thread = launch.getThreadIds().x;
  Value zero = indexConstant(b, loc, 0);
  SmallVector<Value> ivs(ranges.size(), zero);
  delinearize(b, loc, launch.getBlockIds().x, parallelSizes, parallelDims, ivs);
  Value start = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, launch.getBlockIds().y,
                            indexConstant(b, loc, kReductionThreads)),
      thread);

  SmallVector<Value> identities;
  for (const Combiner &combiner : combiners)
    identities.push_back(
        arith::ConstantOp::create(b, loc, combiner.identity).getResult());
  Block &body = op.getRegion().front();
  unsigned numInputs = op.getNumDpsInputs();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto loadOperand = [&](OpBuilder &nb, OpOperand &operand,
                         ArrayRef<Value> at) -> Value {
    Value value = operand.get();
    if (!isa<MemRefType>(value.getType()))
      return value;
    AffineMap map = maps[operand.getOperandNumber()];
    SmallVector<Value> indices;
    for (AffineExpr expr : map.getResults())
      indices.push_back(affine::AffineApplyOp::create(
          nb, loc, AffineMap::get(map.getNumDims(), 0, expr), at));
    return memref::LoadOp::create(nb, loc, value, indices);
  };

  auto loop = scf::ForOp::create(
      b, loc, start, indexConstant(b, loc, reductionTotal),
      indexConstant(b, loc, stride), identities,
      [&](OpBuilder &nb, Location, Value r, ValueRange accumulators) {
        SmallVector<Value> at(ivs);
        delinearize(nb, loc, r, reductionSizes, reductionDims, at);
        IRMapping mapping;
        for (OpOperand *input : op.getDpsInputOperands())
          mapping.map(body.getArgument(input->getOperandNumber()),
                      loadOperand(nb, *input, at));
        SmallVector<Value> next;
        for (Operation &inner : body.without_terminator()) {
          if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
            mapping.map(index.getResult(), at[index.getDim()]);
            continue;
          }
          auto combiner = llvm::find_if(combiners, [&](const Combiner &c) {
            return c.op == &inner;
          });
          if (combiner != combiners.end()) {
            size_t j = combiner - combiners.begin();
            mapping.map(body.getArgument(numInputs + j), accumulators[j]);
          }
          nb.clone(inner, mapping);
        }
        for (const Combiner &combiner : combiners)
          next.push_back(mapping.lookup(combiner.op->getResult(0)));
        scf::YieldOp::create(nb, loc, next);
      });

  // Tree reduction of the block's partial results in shared memory.
  ArrayRef<BlockArgument> shared = launch.getWorkgroupAttributions();
  for (auto [j, partial] : llvm::enumerate(loop.getResults()))
    memref::StoreOp::create(b, loc, partial, shared[j], ValueRange{thread});
  gpu::BarrierOp::create(b, loc);
  for (int64_t half = kReductionThreads / 2; half >= 1; half /= 2) {
    Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                         thread, indexConstant(b, loc, half));
    auto step = scf::IfOp::create(b, loc, active, /*withElseRegion=*/false);
    OpBuilder nb = OpBuilder::atBlockBegin(step.thenBlock());
    Value other =
        arith::AddIOp::create(nb, loc, thread, indexConstant(nb, loc, half));
    for (auto [j, combiner] : llvm::enumerate(combiners)) {
      Value mine = memref::LoadOp::create(nb, loc, shared[j], thread);
      Value theirs = memref::LoadOp::create(nb, loc, shared[j], other);
      IRMapping mapping;
      mapping.map(combiner.op->getOperand(combiner.accumulatorOperand), mine);
      mapping.map(combiner.op->getOperand(1 - combiner.accumulatorOperand),
                  theirs);
      Value combined = nb.clone(*combiner.op, mapping)->getResult(0);
      memref::StoreOp::create(nb, loc, combined, shared[j], thread);
    }
    gpu::BarrierOp::create(b, loc);
  }
  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, thread,
                                      zero);
  auto finish = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
  {
    OpBuilder nb = OpBuilder::atBlockBegin(finish.thenBlock());
    for (auto [j, combiner] : llvm::enumerate(combiners)) {
      Value total = memref::LoadOp::create(nb, loc, shared[j], zero);
      OpOperand &init = op.getDpsInitsMutable()[j];
      AffineMap map = maps[init.getOperandNumber()];
      SmallVector<Value> indices;
      for (AffineExpr expr : map.getResults())
        indices.push_back(affine::AffineApplyOp::create(
            nb, loc, AffineMap::get(map.getNumDims(), 0, expr), ivs));
      memref::AtomicRMWOp::create(nb, loc, combiner.kind, total, init.get(),
                                  indices);
    }
  }
  gpu::TerminatorOp::create(b, loc);
  op.erase();
  return success();
}

/// The combiners of `op` when it is worth a block reduction, else empty.
SmallVector<Combiner> blockReductionCombiners(linalg::LinalgOp linalgOp) {
  auto op = dyn_cast<linalg::GenericOp>(linalgOp.getOperation());
  if (!op || op.getNumReductionLoops() == 0)
    return {};
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return {};
  int64_t reductionTotal = 1;
  for (auto [dim, kind] : llvm::enumerate(op.getIteratorTypesArray()))
    if (!linalg::isParallelIterator(kind))
      reductionTotal *= ranges[dim];
  if (reductionTotal < 2 * kReductionThreads)
    return {};
  // Outputs read as inputs would race with the atomic updates.
  for (OpOperand &init : op.getDpsInitsMutable())
    for (OpOperand *input : op.getDpsInputOperands())
      if (input->get() == init.get())
        return {};
  SmallVector<Combiner> combiners;
  for (unsigned j = 0; j < op.getNumDpsInits(); ++j) {
    std::optional<Combiner> combiner = matchCombiner(op, j);
    if (!combiner)
      return {};
    combiners.push_back(*combiner);
  }
  return combiners;
}

struct MapToLaunchesPass
    : public mlir::dq::impl::DQGPUMapToLaunchesBase<MapToLaunchesPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (blockSize <= 0 || blockSize > 1024) {
      func.emitError("dq-gpu-map-to-launches: block-size must be in [1, 1024]");
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    // Copies between buffers become kernels like any other op.
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) {
      if (!copy->getParentOfType<gpu::LaunchOp>())
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    }

    SmallVector<linalg::LinalgOp> ops;
    for (Block &block : func.getBody())
      for (Operation &op : block)
        if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
          ops.push_back(linalgOp);
    for (linalg::LinalgOp op : ops) {
      if (!op.hasPureBufferSemantics()) {
        op.emitError("dq-gpu-map-to-launches: expected a linalg op on buffers "
                     "(run after bufferization)");
        return signalPassFailure();
      }
      SmallVector<Combiner> combiners = blockReductionCombiners(op);
      if (!combiners.empty()) {
        if (failed(mapBlockReduction(cast<linalg::GenericOp>(op), combiners)))
          return signalPassFailure();
        continue;
      }
      if (op.getNumParallelLoops() == 0) {
        if (failed(mapToSingleThread(rewriter, op)))
          return signalPassFailure();
        continue;
      }
      Operation *before = op->getPrevNode();
      Block *block = op->getBlock();
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToParallelLoops(rewriter, op))) {
        op.emitError("dq-gpu-map-to-launches: cannot lower to parallel loops");
        return signalPassFailure();
      }
      Operation *after = op->getNextNode();
      rewriter.eraseOp(op);
      SmallVector<scf::ParallelOp> loops;
      for (auto it = before ? std::next(before->getIterator()) : block->begin();
           &*it != after; ++it)
        if (auto loop = dyn_cast<scf::ParallelOp>(*it))
          loops.push_back(loop);
      for (scf::ParallelOp loop : loops)
        if (failed(mapParallelLoop(loop, blockSize)))
          return signalPassFailure();
    }

    // Scalar stores left on the host (a tensor.from_elements, a 0-d
    // result) run in a single thread too: the host never writes device
    // memory and need not wait for the queued kernels.
    SmallVector<memref::StoreOp> stores;
    for (Block &block : func.getBody())
      for (Operation &op : block)
        if (auto store = dyn_cast<memref::StoreOp>(op))
          stores.push_back(store);
    for (memref::StoreOp store : stores) {
      rewriter.setInsertionPoint(store);
      Location loc = store.getLoc();
      Value one = indexConstant(rewriter, loc, 1);
      auto launch =
          gpu::LaunchOp::create(rewriter, loc, one, one, one, one, one, one);
      rewriter.setInsertionPointToStart(&launch.getBody().front());
      auto terminator = gpu::TerminatorOp::create(rewriter, loc);
      store->moveBefore(terminator);
    }
  }
};
} // namespace
