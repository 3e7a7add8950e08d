//===- MapToLaunches.cpp - dq-gpu-map-to-launches -------------------------===//
//
// One kernel per linalg op: its parallel loops are flattened into a linear
// index space (any number of dims, no per-dim block shape to choose), and
// each thread computes one output element, running the op's reduction loops
// sequentially. Ops without parallel loops run in a single thread.
//
//===----------------------------------------------------------------------===//

#include "dq/GPU/Passes.h"
#include "dq/Support/Checks.h"

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

/// Reads input `operand` of a generic at loop point `at`; null for the
/// default (a load through the operand's indexing map).
using InputReader = llvm::function_ref<Value(OpBuilder &, OpOperand &,
                                             ArrayRef<Value> at)>;

/// Evaluates the payload of `op` at loop point `at` and combines each
/// output's value into its accumulator; returns the new accumulators.
SmallVector<Value> combinePayload(OpBuilder &b, Location loc,
                                  linalg::GenericOp op,
                                  ArrayRef<Combiner> combiners,
                                  ArrayRef<Value> at, ValueRange accumulators,
                                  InputReader readInput = nullptr) {
  Block &body = op.getRegion().front();
  unsigned numInputs = op.getNumDpsInputs();
  IRMapping mapping;
  for (OpOperand *input : op.getDpsInputOperands()) {
    Value value = input->get();
    if (isa<MemRefType>(value.getType())) {
      Value read = readInput ? readInput(b, *input, at) : Value();
      value = read ? read
                   : memref::LoadOp::create(
                         b, loc, value, operandIndices(b, loc, op, *input, at));
    }
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
/// With `sizes` (one per reduction dim) and `offsets` (null: 0), the loops
/// run over that sub-box of the reduction space instead, in the same order.
SmallVector<Value> buildNestedReductionLoops(
    OpBuilder &b, Location loc, linalg::GenericOp op, const LoopSpace &space,
    ArrayRef<Combiner> combiners, SmallVector<Value> at, ValueRange inits,
    InputReader readInput = nullptr, ArrayRef<int64_t> sizes = {},
    ArrayRef<Value> offsets = {}, size_t level = 0) {
  if (level == space.reductionDims.size())
    return combinePayload(b, loc, op, combiners, at, inits, readInput);
  int64_t size = sizes.empty() ? space.reductionSizes[level] : sizes[level];
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, size),
      indexConstant(b, loc, 1), inits,
      [&](OpBuilder &nb, Location, Value iv, ValueRange accumulators) {
        SmallVector<Value> inner(at);
        Value offset = offsets.empty() ? Value() : offsets[level];
        inner[space.reductionDims[level]] =
            offset ? arith::AddIOp::create(nb, loc, offset, iv).getResult()
                   : iv;
        scf::YieldOp::create(
            nb, loc,
            buildNestedReductionLoops(nb, loc, op, space, combiners, inner,
                                      accumulators, readInput, sizes, offsets,
                                      level + 1));
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

/// The starting value of each output's accumulator at loop point `ivs`:
/// the constant of the fill that initialized it (fills[j], absorbed), else
/// the output's current element.
SmallVector<Value> initialAccumulators(OpBuilder &b, Location loc,
                                       linalg::GenericOp op,
                                       ArrayRef<Operation *> fills,
                                       ArrayRef<Value> ivs) {
  SmallVector<Value> inits;
  for (auto [j, init] : llvm::enumerate(op.getDpsInitsMutable()))
    inits.push_back(fills[j] ? filledValue(fills[j])
                             : memref::LoadOp::create(
                                   b, loc, init.get(),
                                   operandIndices(b, loc, op, init, ivs))
                                   .getResult());
  return inits;
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
  SmallVector<Value> inits = initialAccumulators(b, loc, op, fills, ivs);
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

/// An index expression that is a sum of loop dims times constants plus a
/// constant (convolution windows, strides, flipped filters).
struct LinearIndex {
  SmallVector<int64_t> coefficients; // one per loop
  int64_t constant = 0;
};

std::optional<LinearIndex> linearIndex(AffineExpr expr, unsigned numLoops) {
  LinearIndex index;
  index.coefficients.assign(numLoops, 0);
  std::function<bool(AffineExpr, int64_t)> add = [&](AffineExpr e,
                                                     int64_t scale) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      index.coefficients[dim.getPosition()] += scale;
      return true;
    }
    if (auto constant = dyn_cast<AffineConstantExpr>(e)) {
      index.constant += scale * constant.getValue();
      return true;
    }
    auto binary = dyn_cast<AffineBinaryOpExpr>(e);
    if (!binary)
      return false;
    if (e.getKind() == AffineExprKind::Add)
      return add(binary.getLHS(), scale) && add(binary.getRHS(), scale);
    if (e.getKind() != AffineExprKind::Mul)
      return false;
    if (auto constant = dyn_cast<AffineConstantExpr>(binary.getRHS()))
      return add(binary.getLHS(), scale * constant.getValue());
    if (auto constant = dyn_cast<AffineConstantExpr>(binary.getLHS()))
      return add(binary.getRHS(), scale * constant.getValue());
    return false;
  };
  if (!add(expr, 1))
    return std::nullopt;
  return index;
}

/// An input of a tiled reduction that a block copies into shared memory:
/// the box of elements its tile of outputs reads for one chunk of the
/// reduction.
struct StagedInput {
  OpOperand *operand;
  SmallVector<LinearIndex> indices; // one per operand dim
  SmallVector<int64_t> shape, extents;
  int64_t boxSize = 1;
  // Per operand dim: partial output tiles can reach past that edge.
  SmallVector<bool> boundsChecked;
};

/// How a reduction with many outputs is tiled: each block computes `tile`
/// (per loop; parallel dims only) outputs, one per thread, and walks the
/// reduction in chunks of `tile` (reduction dims), staging the inputs'
/// boxes for the chunk in shared memory.
struct TilePlan {
  SmallVector<int64_t> tile;       // per loop
  SmallVector<int64_t> tileCounts; // per loop: ceil(range / tile)
  SmallVector<StagedInput, 2> staged;
  int64_t threads = 1, blocks = 1, chunks = 1, sharedBytes = 0;
  // Blocks per tile, each running `chunksPerSplit` consecutive chunks and
  // combining its partial results into the outputs atomically (when there
  // are too few tiles to fill the GPU, e.g. a weight gradient).
  int64_t splits = 1, chunksPerSplit = 1;
};



/// The box extents of `input` for the loop tile sizes `tile`.
void sizeBox(StagedInput &input, ArrayRef<int64_t> tile) {
  input.extents.clear();
  input.boxSize = 1;
  for (const LinearIndex &index : input.indices) {
    int64_t extent = 1;
    for (auto [coefficient, size] : llvm::zip(index.coefficients, tile))
      extent += std::abs(coefficient) * (size - 1);
    input.extents.push_back(extent);
    input.boxSize *= extent;
  }
}

/// The largest divisor of `n` that is at most `limit`.
int64_t largestDivisorAtMost(int64_t n, int64_t limit) {
  for (int64_t d = std::min(n, limit); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

/// Plans shared-memory tiling for `op`, or nothing when no input is read by
/// several threads of a block (nothing to share) or the boxes do not fit.
std::optional<TilePlan> planTiles(linalg::GenericOp op, int64_t blockSize,
                                  int64_t sharedBudget) {
  LoopSpace space(op);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  TilePlan plan;
  plan.tile.assign(space.numLoops, 1);
  // Output tile: the innermost parallel dims first (neighbouring threads
  // write neighbouring elements), a divisor of the next one when it does
  // not fit whole and a good one exists.
  int64_t room = blockSize;
  for (size_t i = space.parallelDims.size(); i-- > 0 && room > 1;) {
    int64_t size = space.parallelSizes[i];
    int64_t tile = size;
    if (size > room) {
      tile = largestDivisorAtMost(size, room);
      if (2 * tile <= room)
        tile = room;
    }
    plan.tile[space.parallelDims[i]] = tile;
    room /= tile;
  }
  for (unsigned dim : space.parallelDims)
    plan.threads *= plan.tile[dim];
  if (plan.threads < 32)
    return std::nullopt;

  // Inputs worth staging: linear indices that move with the reduction and
  // are shared by threads (some tiled parallel dim does not index them).
  for (OpOperand *operand : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(operand->get().getType());
    if (!type || type.getRank() == 0 || !type.hasStaticShape() ||
        !type.getElementType().isIntOrFloat())
      continue;
    StagedInput input{operand, {}, SmallVector<int64_t>(type.getShape()), {}};
    bool linear = true, moves = false;
    SmallVector<bool> used(space.numLoops, false);
    for (AffineExpr expr : op.getMatchingIndexingMap(operand).getResults()) {
      std::optional<LinearIndex> index = linearIndex(expr, space.numLoops);
      if (!index) {
        linear = false;
        break;
      }
      for (auto [dim, coefficient] : llvm::enumerate(index->coefficients))
        used[dim] |= coefficient != 0;
      input.indices.push_back(*index);
    }
    if (!linear)
      continue;
    bool shared = false;
    for (unsigned dim : space.reductionDims)
      moves |= used[dim];
    for (unsigned dim : space.parallelDims)
      shared |= !used[dim] && plan.tile[dim] > 1;
    if (moves && shared)
      plan.staged.push_back(std::move(input));
  }
  if (plan.staged.empty())
    return std::nullopt;

  auto sharedBytes = [&]() {
    int64_t bytes = 0;
    for (StagedInput &input : plan.staged) {
      sizeBox(input, plan.tile);
      Type element = getElementTypeOrSelf(input.operand->get().getType());
      bytes += input.boxSize * llvm::divideCeil(
                                   element.getIntOrFloatBitWidth(), 8);
    }
    return bytes;
  };
  // Reduction chunk: whole innermost reduction dims while the boxes fit,
  // then the largest divisor of the next dim that fits. The chunks then
  // visit the reduction in the op's order: bit-identical sums.
  if (sharedBytes() > sharedBudget)
    return std::nullopt;
  for (size_t i = space.reductionDims.size(); i-- > 0;) {
    unsigned dim = space.reductionDims[i];
    int64_t size = ranges[dim];
    plan.tile[dim] = size;
    if (sharedBytes() <= sharedBudget)
      continue;
    int64_t fit = 1;
    for (int64_t candidate = size - 1; candidate > 1; --candidate) {
      if (size % candidate)
        continue;
      plan.tile[dim] = candidate;
      if (sharedBytes() <= sharedBudget) {
        fit = candidate;
        break;
      }
    }
    plan.tile[dim] = fit;
    break;
  }
  plan.sharedBytes = sharedBytes();
  // A chunk of one reduction step shares too little to pay for barriers.
  int64_t chunkSize = 1;
  for (unsigned dim : space.reductionDims)
    chunkSize *= plan.tile[dim];
  if (chunkSize < 4)
    return std::nullopt;

  plan.tileCounts.assign(space.numLoops, 1);
  for (unsigned dim = 0; dim < space.numLoops; ++dim)
    plan.tileCounts[dim] = llvm::divideCeil(ranges[dim], plan.tile[dim]);
  for (unsigned dim : space.parallelDims)
    plan.blocks *= plan.tileCounts[dim];
  for (unsigned dim : space.reductionDims)
    plan.chunks *= plan.tileCounts[dim];
  plan.chunksPerSplit = plan.chunks;

  // Bounds checks only where a box can reach past its operand's edges
  // (output tiles that do not divide the output).
  for (StagedInput &input : plan.staged) {
    input.boundsChecked.assign(input.shape.size(), false);
    for (auto [index, size, checked] :
         llvm::zip(input.indices, input.shape, input.boundsChecked)) {
      int64_t lowest = index.constant, highest = index.constant;
      for (auto [dim, coefficient] : llvm::enumerate(index.coefficients)) {
        int64_t last = (plan.tileCounts[dim] * plan.tile[dim] - 1);
        lowest += std::min<int64_t>(0, coefficient * last);
        highest += std::max<int64_t>(0, coefficient * last);
      }
      checked = lowest < 0 || highest >= size;
    }
  }
  return plan;
}

/// Splits the reduction of `plan` over several blocks per tile when the
/// tiles alone are fewer than half of `targetBlocks` and every output can
/// be combined atomically (f32 outputs): about `targetBlocks` blocks, at
/// least 4 chunks each.
void splitReduction(TilePlan &plan, ArrayRef<Combiner> combiners,
                    int64_t targetBlocks) {
  if (plan.blocks >= targetBlocks / 2 || plan.chunks < 8)
    return;
  for (const Combiner &combiner : combiners)
    if (!combiner.identity.getType().isF32())
      return;
  int64_t splits = std::min<int64_t>(llvm::divideCeil(targetBlocks, plan.blocks),
                            plan.chunks / 4);
  if (splits <= 1)
    return;
  plan.chunksPerSplit = llvm::divideCeil(plan.chunks, splits);
  plan.splits = llvm::divideCeil(plan.chunks, plan.chunksPerSplit);
}

/// A reduction with many outputs whose inputs are shared by neighbouring
/// outputs (a convolution, a matmul): a block computes a tile of outputs,
/// one per thread, accumulating in registers. The reduction runs in chunks;
/// for each chunk the block first copies the box of every shared input its
/// tile reads into shared memory, then every thread reads its operands from
/// there. The chunks visit the reduction in the op's order, so the result is
/// bit-identical to the sequential loop; fills of the outputs are absorbed
/// as in mapRegisterReduction. With `plan.splits` > 1, each of a tile's
/// blocks runs a range of chunks from the combiner's identity and combines
/// its results into the outputs atomically (the order then differs).
LogicalResult mapTiledReduction(linalg::GenericOp op,
                                ArrayRef<Combiner> combiners,
                                const TilePlan &plan) {
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  LoopSpace space(op);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  bool split = plan.splits > 1;
  SmallVector<Operation *> fills;
  for (OpOperand &init : op.getDpsInitsMutable())
    fills.push_back(split ? nullptr : fillingOutput(op, init));

  OpBuilder b(op);
  Value one = indexConstant(b, loc, 1);
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  SmallVector<Type> sharedTypes;
  for (const StagedInput &input : plan.staged)
    sharedTypes.push_back(MemRefType::get(
        {input.boxSize}, getElementTypeOrSelf(input.operand->get().getType()),
        MemRefLayoutAttrInterface(), workgroup));
  auto launch = gpu::LaunchOp::create(
      b, loc, indexConstant(b, loc, plan.blocks),
      indexConstant(b, loc, plan.splits), one,
      indexConstant(b, loc, plan.threads), one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, sharedTypes);
  b.setInsertionPointToStart(&launch.getBody().front());
  ArrayRef<BlockArgument> shared = launch.getWorkgroupAttributions();
  Value thread = launch.getThreadIds().x;
  Value zero = indexConstant(b, loc, 0);

  // This block's tile and this thread's output in it.
  SmallVector<int64_t> parallelTiles, parallelCounts;
  for (unsigned dim : space.parallelDims) {
    parallelTiles.push_back(plan.tile[dim]);
    parallelCounts.push_back(plan.tileCounts[dim]);
  }
  SmallVector<Value> starts(space.numLoops, zero), ivs(space.numLoops, zero);
  SmallVector<Value> tileIndex(space.numLoops, zero), local(space.numLoops,
                                                            zero);
  delinearize(b, loc, launch.getBlockIds().x, parallelCounts,
              space.parallelDims, tileIndex);
  delinearize(b, loc, thread, parallelTiles, space.parallelDims, local);
  Value inside;
  for (unsigned dim : space.parallelDims) {
    starts[dim] = arith::MulIOp::create(
        b, loc, tileIndex[dim], indexConstant(b, loc, plan.tile[dim]));
    ivs[dim] = arith::AddIOp::create(b, loc, starts[dim], local[dim]);
    if (ranges[dim] % plan.tile[dim] == 0)
      continue;
    // Threads past the edge compute a clamped element and store nothing.
    Value last = indexConstant(b, loc, ranges[dim] - 1);
    Value within = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                         ivs[dim], last);
    inside = inside ? arith::AndIOp::create(b, loc, inside, within).getResult()
                    : within;
    ivs[dim] = arith::MinUIOp::create(b, loc, ivs[dim], last);
  }

  SmallVector<Value> inits;
  if (split)
    for (const Combiner &combiner : combiners)
      inits.push_back(arith::ConstantOp::create(b, loc, combiner.identity));
  else
    inits = initialAccumulators(b, loc, op, fills, ivs);
  // This block's range of chunks.
  Value firstChunk = zero, endChunk = indexConstant(b, loc, plan.chunks);
  if (split) {
    firstChunk = arith::MulIOp::create(
        b, loc, launch.getBlockIds().y,
        indexConstant(b, loc, plan.chunksPerSplit));
    endChunk = arith::MinUIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, firstChunk,
                              indexConstant(b, loc, plan.chunksPerSplit)),
        endChunk);
  }

  SmallVector<int64_t> chunkTiles, chunkCounts;
  for (unsigned dim : space.reductionDims) {
    chunkTiles.push_back(plan.tile[dim]);
    chunkCounts.push_back(plan.tileCounts[dim]);
  }
  auto chunkLoop = scf::ForOp::create(
      b, loc, firstChunk, endChunk, one, inits,
      [&](OpBuilder &nb, Location, Value chunk, ValueRange accumulators) {
        SmallVector<Value> chunkStarts(starts), chunkIndex(space.numLoops);
        delinearize(nb, loc, chunk, chunkCounts, space.reductionDims,
                    chunkIndex);
        SmallVector<Value> offsets;
        for (unsigned dim : space.reductionDims) {
          chunkStarts[dim] = arith::MulIOp::create(
              nb, loc, chunkIndex[dim], indexConstant(nb, loc, plan.tile[dim]));
          offsets.push_back(chunkStarts[dim]);
        }
        // The box origin of each staged input: its lowest index per dim.
        SmallVector<SmallVector<Value>> origins;
        for (const StagedInput &input : plan.staged) {
          SmallVector<Value> origin;
          for (const LinearIndex &index : input.indices) {
            Value sum = indexConstant(nb, loc, index.constant);
            for (auto [dim, coefficient] :
                 llvm::enumerate(index.coefficients)) {
              if (coefficient == 0)
                continue;
              Value start = chunkStarts[dim];
              if (coefficient < 0)
                start = arith::AddIOp::create(
                    nb, loc, start, indexConstant(nb, loc, plan.tile[dim] - 1));
              sum = arith::AddIOp::create(
                  nb, loc, sum,
                  arith::MulIOp::create(nb, loc, start,
                                        indexConstant(nb, loc, coefficient)));
            }
            origin.push_back(sum);
          }
          origins.push_back(origin);
        }
        // Wait until every thread is done with the previous chunk's boxes.
        gpu::BarrierOp::create(nb, loc);
        for (auto [input, buffer, origin] :
             llvm::zip(plan.staged, shared, origins)) {
          Value source = input.operand->get();
          Type element = getElementTypeOrSelf(source.getType());
          scf::ForOp::create(
              nb, loc, thread, indexConstant(nb, loc, input.boxSize),
              indexConstant(nb, loc, plan.threads), ValueRange{},
              [&](OpBuilder &lb, Location, Value linear, ValueRange) {
                SmallVector<unsigned> dims =
                    llvm::to_vector(llvm::seq<unsigned>(0, input.extents.size()));
                SmallVector<Value> position(dims.size());
                delinearize(lb, loc, linear, input.extents, dims, position);
                Value valid;
                for (auto [d, p] : llvm::enumerate(position)) {
                  p = arith::AddIOp::create(lb, loc, origin[d], p);
                  if (!input.boundsChecked[d])
                    continue;
                  // Unsigned: a negative index is a huge one.
                  Value ok = arith::CmpIOp::create(
                      lb, loc, arith::CmpIPredicate::ult, p,
                      indexConstant(lb, loc, input.shape[d]));
                  valid = valid ? arith::AndIOp::create(lb, loc, valid, ok)
                                      .getResult()
                                : ok;
                }
                Value value;
                if (valid) {
                  auto read = scf::IfOp::create(
                      lb, loc, TypeRange{element}, valid,
                      /*withElseRegion=*/true);
                  OpBuilder tb = read.getThenBodyBuilder();
                  scf::YieldOp::create(
                      tb, loc,
                      memref::LoadOp::create(tb, loc, source, position)
                          .getResult());
                  OpBuilder eb = read.getElseBodyBuilder();
                  scf::YieldOp::create(
                      eb, loc,
                      arith::ConstantOp::create(eb, loc,
                                                eb.getZeroAttr(element))
                          .getResult());
                  value = read.getResult(0);
                } else {
                  value = memref::LoadOp::create(lb, loc, source, position);
                }
                memref::StoreOp::create(lb, loc, value, buffer,
                                        ValueRange{linear});
                scf::YieldOp::create(lb, loc);
              });
        }
        gpu::BarrierOp::create(nb, loc);
        auto readStaged = [&](OpBuilder &rb, OpOperand &operand,
                              ArrayRef<Value> at) -> Value {
          for (auto [input, buffer, origin] :
               llvm::zip(plan.staged, shared, origins)) {
            if (input.operand != &operand)
              continue;
            SmallVector<Value> indices =
                operandIndices(rb, loc, op, operand, at);
            Value linear = indexConstant(rb, loc, 0);
            for (auto [d, index] : llvm::enumerate(indices)) {
              Value offset = arith::SubIOp::create(rb, loc, index, origin[d]);
              linear = arith::AddIOp::create(
                  rb, loc,
                  arith::MulIOp::create(rb, loc, linear,
                                        indexConstant(rb, loc,
                                                      input.extents[d])),
                  offset);
            }
            return memref::LoadOp::create(rb, loc, buffer, ValueRange{linear});
          }
          return Value();
        };
        scf::YieldOp::create(
            nb, loc,
            buildNestedReductionLoops(nb, loc, op, space, combiners, ivs,
                                      accumulators, readStaged, chunkTiles,
                                      offsets));
      });

  auto store = [&](OpBuilder &sb) {
    for (auto [j, init] : llvm::enumerate(op.getDpsInitsMutable())) {
      SmallVector<Value> indices = operandIndices(sb, loc, op, init, ivs);
      if (split)
        memref::AtomicRMWOp::create(sb, loc, combiners[j].kind,
                                    chunkLoop.getResult(j), init.get(),
                                    indices);
      else
        memref::StoreOp::create(sb, loc, chunkLoop.getResult(j), init.get(),
                                indices);
    }
  };
  if (inside) {
    auto guard = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    OpBuilder gb = OpBuilder::atBlockBegin(guard.thenBlock());
    store(gb);
  } else {
    store(b);
  }
  gpu::TerminatorOp::create(b, loc);
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
    Location loc = func.getLoc();
    StringRef pass = "dq-gpu-map-to-launches";
    if (failed(mlir::dq::checkOption(loc, pass, "block-size", blockSize, 1,
                                     mlir::dq::kMaxGPUBlockSize)) ||
        failed(mlir::dq::checkOption(loc, pass, "split-blocks", splitBlocks, 1,
                                     mlir::dq::kMaxGPUSplitBlocks)) ||
        failed(mlir::dq::checkOption(loc, pass, "shared-memory-bytes",
                                     sharedMemoryBytes, 0,
                                     mlir::dq::kMaxGPUSharedMemoryBytes)))
      return signalPassFailure();
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
    enum class Strategy {
      Loops,
      BlockReduction,
      RegisterReduction,
      TiledReduction
    };
    DenseMap<Operation *, Strategy> strategies;
    DenseMap<Operation *, TilePlan> plans;
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
      // Few outputs, each reducing many elements: a block per output
      // (reassociates the sums: not with `deterministic`).
      bool wide = !deterministic &&
                  space.reductionTotal >= 2 * kReductionThreads &&
                  space.parallelTotal < 64 * space.reductionTotal;
      strategies[op] =
          wide ? Strategy::BlockReduction : Strategy::RegisterReduction;
      bool absorbsFills = !wide;
      // Outputs that share inputs (a convolution, its gradients, a matmul):
      // tiles in shared memory, whether there are many outputs or, with the
      // reduction split over blocks, a few thousand (a weight gradient).
      if (sharedMemoryTiles)
        if (std::optional<TilePlan> plan =
                planTiles(generic, blockSize, sharedMemoryBytes)) {
          if (!deterministic)
            splitReduction(*plan, combiners, splitBlocks);
          strategies[op] = Strategy::TiledReduction;
          absorbsFills = plan->splits == 1;
          plans[op] = std::move(*plan);
        }
      combinersOf[op] = std::move(combiners);
      if (absorbsFills)
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
        LogicalResult mapped = success();
        switch (strategy->second) {
        case Strategy::BlockReduction:
          mapped = mapBlockReduction(generic, combiners);
          break;
        case Strategy::TiledReduction:
          mapped = mapTiledReduction(generic, combiners, plans[op]);
          break;
        default:
          mapped = mapRegisterReduction(generic, combiners, blockSize);
        }
        if (failed(mapped))
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
