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
#include "mlir/Dialect/GPU/Utils/GPUUtils.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
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
    std::optional<int64_t> lo = getConstantIntValue(lower);
    std::optional<int64_t> hi = getConstantIntValue(upper);
    std::optional<int64_t> st = getConstantIntValue(step);
    Value trips;
    // Constant trip counts stay constants in the kernel (divisions by them
    // become multiplications).
    if (lo && hi && st && *st > 0) {
      int64_t count = llvm::divideCeil(*hi - *lo, *st);
      trips = indexConstant(b, loc, count);
      if (staticTotal)
        staticTotal = *staticTotal * count;
    } else {
      Value span = arith::SubIOp::create(b, loc, upper, lower);
      trips = arith::CeilDivUIOp::create(b, loc, span, step);
      staticTotal = std::nullopt;
    }
    tripCounts.push_back(trips);
    total = arith::MulIOp::create(b, loc, total, trips);
  }
  if (staticTotal)
    total = indexConstant(b, loc, *staticTotal);
  if (staticTotal && *staticTotal == 0) {
    loop.erase();
    return success();
  }
  // Small spaces (a 0-d result, a few channels) need no idle threads.
  if (staticTotal)
    blockSize = std::min(blockSize, *staticTotal);
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

/// The parallel and reduction dims of a generic with static loop ranges.
struct LoopSpace {
  SmallVector<unsigned> parallelDims, reductionDims;
  SmallVector<int64_t> parallelSizes, reductionSizes;
  int64_t parallelTotal = 1, reductionTotal = 1;
  size_t numLoops = 0;

  explicit LoopSpace(linalg::GenericOp op) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    numLoops = ranges.size();
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
  }
};

/// The indices of `operand` (through its indexing map) at loop point `at`.
SmallVector<Value> operandIndices(OpBuilder &b, Location loc,
                                  linalg::GenericOp op, OpOperand &operand,
                                  ArrayRef<Value> at) {
  AffineMap map = op.getMatchingIndexingMap(&operand);
  SmallVector<Value> indices;
  for (AffineExpr expr : map.getResults())
    indices.push_back(affine::AffineApplyOp::create(
        b, loc, AffineMap::get(map.getNumDims(), 0, expr), at));
  return indices;
}

/// Evaluates the payload of `op` at loop point `at` and combines each
/// output's value into its accumulator; returns the new accumulators.
SmallVector<Value> combinePayload(OpBuilder &b, Location loc,
                                  linalg::GenericOp op,
                                  ArrayRef<Combiner> combiners,
                                  ArrayRef<Value> at,
                                  ValueRange accumulators) {
  Block &body = op.getRegion().front();
  unsigned numInputs = op.getNumDpsInputs();
  IRMapping mapping;
  for (OpOperand *input : op.getDpsInputOperands()) {
    Value value = input->get();
    if (isa<MemRefType>(value.getType()))
      value = memref::LoadOp::create(b, loc, value,
                                     operandIndices(b, loc, op, *input, at));
    mapping.map(body.getArgument(input->getOperandNumber()), value);
  }
  for (Operation &inner : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      mapping.map(index.getResult(), at[index.getDim()]);
      continue;
    }
    auto combiner = llvm::find_if(
        combiners, [&](const Combiner &c) { return c.op == &inner; });
    if (combiner != combiners.end()) {
      size_t j = combiner - combiners.begin();
      mapping.map(body.getArgument(numInputs + j), accumulators[j]);
    }
    b.clone(inner, mapping);
  }
  SmallVector<Value> next;
  for (const Combiner &combiner : combiners)
    next.push_back(mapping.lookup(combiner.op->getResult(0)));
  return next;
}

/// An scf.for over the linearized reduction space from `start` by `stride`
/// that evaluates the payload of `op` at each point (parallel dims at
/// `parallelIvs`) and combines each output's value into an accumulator kept
/// in registers, starting from `inits`. Returns the accumulators.
SmallVector<Value> buildReductionLoop(OpBuilder &b, Location loc,
                                      linalg::GenericOp op,
                                      const LoopSpace &space,
                                      ArrayRef<Combiner> combiners,
                                      ArrayRef<Value> parallelIvs, Value start,
                                      int64_t stride, ValueRange inits) {
  auto loop = scf::ForOp::create(
      b, loc, start, indexConstant(b, loc, space.reductionTotal),
      indexConstant(b, loc, stride), inits,
      [&](OpBuilder &nb, Location, Value r, ValueRange accumulators) {
        SmallVector<Value> at(parallelIvs);
        delinearize(nb, loc, r, space.reductionSizes, space.reductionDims, at);
        scf::YieldOp::create(
            nb, loc, combinePayload(nb, loc, op, combiners, at, accumulators));
      });
  return SmallVector<Value>(loop.getResults());
}

/// The whole reduction space of one output element as nested scf.for loops
/// in the op's order (constant bounds, no index arithmetic per step: the
/// innermost loop can be unrolled), accumulating from `inits`.
SmallVector<Value> buildNestedReductionLoops(OpBuilder &b, Location loc,
                                             linalg::GenericOp op,
                                             const LoopSpace &space,
                                             ArrayRef<Combiner> combiners,
                                             SmallVector<Value> at,
                                             ValueRange inits,
                                             size_t level = 0) {
  if (level == space.reductionDims.size())
    return combinePayload(b, loc, op, combiners, at, inits);
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0),
      indexConstant(b, loc, space.reductionSizes[level]),
      indexConstant(b, loc, 1), inits,
      [&](OpBuilder &nb, Location, Value iv, ValueRange accumulators) {
        SmallVector<Value> inner(at);
        inner[space.reductionDims[level]] = iv;
        scf::YieldOp::create(
            nb, loc,
            buildNestedReductionLoops(nb, loc, op, space, combiners, inner,
                                      accumulators, level + 1));
      });
  return SmallVector<Value>(loop.getResults());
}

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
  LoopSpace space(op);
  // Enough blocks to fill a large GPU, at least 16 elements per thread.
  int64_t chunks = std::max<int64_t>(
      1, std::min<int64_t>(llvm::divideCeil(2048, space.parallelTotal),
                           space.reductionTotal / (kReductionThreads * 16)));

  OpBuilder b(op);
  Value one = indexConstant(b, loc, 1);
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  SmallVector<Type> sharedTypes;
  for (OpOperand &init : op.getDpsInitsMutable())
    sharedTypes.push_back(MemRefType::get(
        {kReductionThreads}, getElementTypeOrSelf(init.get().getType()),
        MemRefLayoutAttrInterface(), workgroup));
  auto launch = gpu::LaunchOp::create(
      b, loc, indexConstant(b, loc, space.parallelTotal),
      indexConstant(b, loc, chunks), one,
      indexConstant(b, loc, kReductionThreads), one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, sharedTypes);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value thread = launch.getThreadIds().x;
  Value zero = indexConstant(b, loc, 0);
  SmallVector<Value> ivs(space.numLoops, zero);
  delinearize(b, loc, launch.getBlockIds().x, space.parallelSizes,
              space.parallelDims, ivs);
  Value start = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, launch.getBlockIds().y,
                            indexConstant(b, loc, kReductionThreads)),
      thread);
  SmallVector<Value> identities;
  for (const Combiner &combiner : combiners)
    identities.push_back(
        arith::ConstantOp::create(b, loc, combiner.identity).getResult());
  SmallVector<Value> partials =
      buildReductionLoop(b, loc, op, space, combiners, ivs, start,
                         kReductionThreads * chunks, identities);

  // Tree reduction of the block's partial results in shared memory.
  ArrayRef<BlockArgument> shared = launch.getWorkgroupAttributions();
  for (auto [j, partial] : llvm::enumerate(partials))
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
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, thread, zero);
  auto finish = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
  {
    OpBuilder nb = OpBuilder::atBlockBegin(finish.thenBlock());
    for (auto [j, combiner] : llvm::enumerate(combiners)) {
      Value total = memref::LoadOp::create(nb, loc, shared[j], zero);
      OpOperand &init = op.getDpsInitsMutable()[j];
      memref::AtomicRMWOp::create(nb, loc, combiner.kind, total, init.get(),
                                  operandIndices(nb, loc, op, init, ivs));
    }
  }
  gpu::TerminatorOp::create(b, loc);
  op.erase();
  return success();
}

/// The value a fill writes to every element of its output: a linalg.fill,
/// or its generalized form (a generic copying a scalar input everywhere).
Value filledValue(Operation *op) {
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return fill.getInputs()[0];
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || generic.getNumReductionLoops() != 0)
    return nullptr;
  Value input = generic.getDpsInputOperand(0)->get();
  if (isa<ShapedType>(input.getType()))
    return nullptr;
  Block &body = generic.getRegion().front();
  if (body.getTerminator()->getOperand(0) != body.getArgument(0))
    return nullptr;
  return input;
}

/// The allocation (or argument) a buffer is a view of.
Value rootBuffer(Value buffer) {
  while (auto view = buffer.getDefiningOp<ViewLikeOpInterface>())
    buffer = view.getViewSource();
  return buffer;
}

/// The fill that initializes output `init` of `op` right before it (nothing
/// in between touches that memory, through any view), or null.
Operation *fillingOutput(linalg::GenericOp op, OpOperand &init) {
  Value buffer = init.get();
  Value root = rootBuffer(buffer);
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(prev))
      if (filledValue(prev) && linalgOp.getDpsInits()[0] == buffer)
        return prev;
    // Views themselves only compute addresses.
    if (isa<ViewLikeOpInterface>(prev))
      continue;
    bool touches = false;
    prev->walk([&](Operation *inner) {
      for (Value operand : inner->getOperands())
        if (isa<MemRefType>(operand.getType()) && rootBuffer(operand) == root)
          touches = true;
    });
    if (touches)
      return nullptr;
  }
  return nullptr;
}

/// A reduction with many outputs (a convolution, a matmul): one thread per
/// output element, accumulating in registers from the output's initial
/// value (or the constant of the linalg.fill that initialized it, which is
/// then dropped), one store at the end. Bit-identical to the sequential
/// loop.
LogicalResult mapRegisterReduction(linalg::GenericOp op,
                                   ArrayRef<Combiner> combiners,
                                   int64_t blockSize) {
  Location loc = op.getLoc();
  LoopSpace space(op);
  // The op writes every element of its outputs, so a fill right before it
  // only provides the accumulators' initial value.
  SmallVector<Operation *> fills;
  for (OpOperand &init : op.getDpsInitsMutable())
    fills.push_back(fillingOutput(op, init));

  OpBuilder b(op);
  Value one = indexConstant(b, loc, 1);
  blockSize = std::min(blockSize, space.parallelTotal);
  Value threads = indexConstant(b, loc, blockSize);
  Value total = indexConstant(b, loc, space.parallelTotal);
  auto launch = gpu::LaunchOp::create(
      b, loc,
      indexConstant(b, loc, llvm::divideCeil(space.parallelTotal, blockSize)),
      one, one, threads, one, one);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value linear = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, threads),
      launch.getThreadIds().x);
  Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                       linear, total);
  auto guard = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
  gpu::TerminatorOp::create(b, loc);

  b.setInsertionPointToStart(guard.thenBlock());
  Value zero = indexConstant(b, loc, 0);
  SmallVector<Value> ivs(space.numLoops, zero);
  delinearize(b, loc, linear, space.parallelSizes, space.parallelDims, ivs);
  SmallVector<Value> inits;
  for (auto [j, init] : llvm::enumerate(op.getDpsInitsMutable())) {
    if (fills[j])
      inits.push_back(filledValue(fills[j]));
    else
      inits.push_back(memref::LoadOp::create(
          b, loc, init.get(), operandIndices(b, loc, op, init, ivs)));
  }
  SmallVector<Value> results =
      buildNestedReductionLoops(b, loc, op, space, combiners, ivs, inits);
  for (auto [j, init] : llvm::enumerate(op.getDpsInitsMutable()))
    memref::StoreOp::create(b, loc, results[j], init.get(),
                            operandIndices(b, loc, op, init, ivs));
  for (Operation *fill : fills)
    if (fill)
      fill->erase();
  op.erase();
  return success();
}

/// The combiners of a generic reduction with static loop ranges whose
/// every output is `out = combiner(out, v)`, else empty.
SmallVector<Combiner> reductionCombiners(linalg::LinalgOp linalgOp) {
  auto op = dyn_cast<linalg::GenericOp>(linalgOp.getOperation());
  if (!op || op.getNumReductionLoops() == 0 || !op.hasPureBufferSemantics())
    return {};
  if (llvm::any_of(op.getStaticLoopRanges(), ShapedType::isDynamic))
    return {};
  // Outputs that are also read as inputs would be read after being updated.
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
    // Decide first how each reduction runs: a register reduction absorbs
    // the fills of its outputs, which then need no kernel of their own.
    enum class Strategy { Loops, BlockReduction, RegisterReduction };
    DenseMap<Operation *, Strategy> strategies;
    DenseMap<Operation *, SmallVector<Combiner>> combinersOf;
    DenseSet<Operation *> absorbedFills;
    for (linalg::LinalgOp op : ops) {
      if (!op.hasPureBufferSemantics()) {
        op.emitError("dq-gpu-map-to-launches: expected a linalg op on buffers "
                     "(run after bufferization)");
        return signalPassFailure();
      }
      SmallVector<Combiner> combiners = reductionCombiners(op);
      if (combiners.empty())
        continue;
      auto generic = cast<linalg::GenericOp>(op.getOperation());
      LoopSpace space(generic);
      // Few outputs, each reducing many elements: a block per output.
      bool wide = space.reductionTotal >= 2 * kReductionThreads &&
                  space.parallelTotal < 64 * space.reductionTotal;
      strategies[op] =
          wide ? Strategy::BlockReduction : Strategy::RegisterReduction;
      combinersOf[op] = std::move(combiners);
      if (!wide)
        for (OpOperand &init : generic.getDpsInitsMutable())
          if (Operation *fill = fillingOutput(generic, init))
            absorbedFills.insert(fill);
    }
    for (linalg::LinalgOp op : ops) {
      if (absorbedFills.contains(op))
        continue; // erased with the reduction that absorbed it
      auto strategy = strategies.find(op);
      if (strategy != strategies.end()) {
        auto generic = cast<linalg::GenericOp>(op.getOperation());
        ArrayRef<Combiner> combiners = combinersOf[op];
        if (failed(strategy->second == Strategy::BlockReduction
                       ? mapBlockReduction(generic, combiners)
                       : mapRegisterReduction(generic, combiners, blockSize)))
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

    // Constants are cloned into the kernels rather than passed as kernel
    // arguments: loop bounds and divisors stay compile-time constants there
    // (divisions by constants become multiplications).
    SmallVector<gpu::LaunchOp> launches;
    func.walk([&](gpu::LaunchOp launch) { launches.push_back(launch); });
    for (gpu::LaunchOp launch : launches)
      if (failed(sinkOperationsIntoLaunchOp(launch, [](Operation *op) {
            return op->hasTrait<OpTrait::ConstantLike>();
          })))
        return signalPassFailure();

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
