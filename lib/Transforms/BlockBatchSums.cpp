//===- BlockBatchSums.cpp - dq-block-batch-sums ---------------------------===//
//
// N processes of a data-parallel run each sum over their share of the
// batch, and the all-reduce adds the shares' sums. One process with the
// whole batch sums in other orders, so the two runs agree only to rounding,
// and rounding differences grow into different training runs (a value that
// moves across a ReLU or a quantizer's midpoint changes a gradient term).
// With the module attribute dq.replica_batch = S this pass makes every sum
// over the batch of @train_step and @calibrate a sum of blocks of S images,
// each block computed by a copy of the op with the shapes of one process
// of batch S, the blocks added in the order the collective adds the
// processes' sums (Collectives.h). The step is then the step of N / S such
// processes bit for bit.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"

#include "dq/Contract/TrainingModule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/bit.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQBLOCKBATCHSUMS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

/// Where each tensor of a function has its batch dimension, followed from
/// the image (and label) arguments through the ops that keep it.
class BatchDims {
public:
  explicit BatchDims(int64_t batch) : batch(batch) {}

  void set(Value v, int64_t dim) { dims[v] = dim; }
  std::optional<int64_t> of(Value v) const {
    auto it = dims.find(v);
    if (it == dims.end())
      return std::nullopt;
    return it->second;
  }

  /// Follows the batch through `op`; the batch reductions it finds go to
  /// `sums` (each with its batch loop). Fails with an error on an op that
  /// reads the batch in a way this pass cannot follow.
  LogicalResult visit(Operation *op,
                      SmallVectorImpl<std::pair<linalg::GenericOp, unsigned>>
                          &sums);

private:
  LogicalResult visitGeneric(
      linalg::GenericOp op,
      SmallVectorImpl<std::pair<linalg::GenericOp, unsigned>> &sums);
  /// The batch position of a reshape's result, from the source's: the
  /// dimension of size `batch` with the same number of elements before it.
  std::optional<int64_t> reshaped(RankedTensorType from, int64_t dim,
                                  RankedTensorType to) const;

  int64_t batch;
  DenseMap<Value, int64_t> dims;
};

LogicalResult BatchDims::visitGeneric(
    linalg::GenericOp op,
    SmallVectorImpl<std::pair<linalg::GenericOp, unsigned>> &sums) {
  std::optional<unsigned> loop;
  for (OpOperand &operand : op->getOpOperands()) {
    std::optional<int64_t> dim = of(operand.get());
    if (!dim)
      continue;
    AffineExpr e = op.getMatchingIndexingMap(&operand).getResult(*dim);
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || (loop && *loop != d.getPosition()))
      return op.emitError("dq-block-batch-sums: this op reads the batch "
                          "dimension other than through one loop");
    loop = d.getPosition();
  }
  if (!loop)
    return success();
  if (op.getStaticLoopRanges()[*loop] != batch)
    return op.emitError("dq-block-batch-sums: the batch loop of this op does "
                        "not span the batch");
  AffineExpr batchLoop = getAffineDimExpr(*loop, op.getContext());
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    for (auto [q, e] : llvm::enumerate(map.getResults()))
      if (e == batchLoop)
        set(op.getResult(init.getOperandNumber() - op.getNumDpsInputs()), q);
  }
  if (op.getIteratorTypesArray()[*loop] == utils::IteratorType::reduction)
    sums.emplace_back(op, *loop);
  return success();
}

std::optional<int64_t> BatchDims::reshaped(RankedTensorType from, int64_t dim,
                                           RankedTensorType to) const {
  int64_t before = 1;
  for (int64_t d = 0; d < dim; ++d)
    before *= from.getDimSize(d);
  int64_t prefix = 1;
  for (int64_t d = 0; d < to.getRank(); ++d) {
    if (prefix == before && to.getDimSize(d) == batch)
      return d;
    prefix *= to.getDimSize(d);
  }
  return std::nullopt;
}

LogicalResult BatchDims::visit(
    Operation *op,
    SmallVectorImpl<std::pair<linalg::GenericOp, unsigned>> &sums) {
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return visitGeneric(generic, sums);
  std::optional<int64_t> dim;
  Value source;
  for (Value operand : op->getOperands())
    if ((dim = of(operand))) {
      source = operand;
      break;
    }
  if (!dim)
    return success();
  auto fail = [&]() {
    return op->emitError("dq-block-batch-sums: cannot follow the batch "
                         "dimension (")
           << *dim << " of operand " << source << ") through this op";
  };
  if (auto pad = dyn_cast<tensor::PadOp>(op)) {
    if (pad.getStaticLow()[*dim] != 0 || pad.getStaticHigh()[*dim] != 0)
      return fail();
    set(pad.getResult(), *dim);
    return success();
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    if (slice.getStaticOffsets()[*dim] != 0 ||
        slice.getStaticSizes()[*dim] != batch ||
        slice.getStaticStrides()[*dim] != 1)
      return fail();
    // Rank-reducing slices drop unit dimensions before the batch.
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    int64_t at = *dim;
    for (int64_t d = 0; d < *dim; ++d)
      if (dropped.test(d))
        --at;
    set(slice.getResult(), at);
    return success();
  }
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
    // Whole along the batch: into a batch tensor along another dimension,
    // or a batch tensor into one of the same rank (zeros, a padding).
    std::optional<int64_t> destDim = of(insert.getDest());
    std::optional<int64_t> srcDim = of(insert.getSource());
    if (srcDim &&
        insert.getSourceType().getRank() != insert.getDestType().getRank())
      return fail();
    if (srcDim && destDim && *srcDim != *destDim)
      return fail();
    int64_t at = destDim ? *destDim : *srcDim;
    if (insert.getStaticOffsets()[at] != 0 ||
        insert.getStaticSizes()[at] != batch ||
        insert.getStaticStrides()[at] != 1 ||
        insert.getDestType().getDimSize(at) != batch)
      return fail();
    set(insert.getResult(), at);
    return success();
  }
  if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::ReshapeOp,
          tensor::CastOp>(op) &&
      source == op->getOperand(0)) {
    auto from = cast<RankedTensorType>(source.getType());
    auto to = cast<RankedTensorType>(op->getResult(0).getType());
    std::optional<int64_t> at = reshaped(from, *dim, to);
    if (!at)
      return fail();
    set(op->getResult(0), *at);
    return success();
  }
  if (auto concat = dyn_cast<tensor::ConcatOp>(op)) {
    if (concat.getDim() == uint64_t(*dim) ||
        llvm::any_of(concat.getInputs(),
                     [&](Value v) { return of(v) != dim; }))
      return fail();
    set(concat.getResult(), *dim);
    return success();
  }
  // Reading one element (a label, a logit) takes no part of a sum.
  if (isa<tensor::ExtractOp, tensor::DimOp, func::ReturnOp>(op))
    return success();
  return fail();
}

/// Whether `v` is a tensor of zeros: the start of a sum.
bool isZeros(Value v) {
  Attribute value;
  if (matchPattern(v, m_Constant(&value)))
    if (auto dense = dyn_cast<DenseElementsAttr>(value))
      if (dense.isSplat()) {
        Attribute splat = dense.getSplatValue<Attribute>();
        if (auto f = dyn_cast<FloatAttr>(splat))
          return f.getValue().isZero();
        if (auto i = dyn_cast<IntegerAttr>(splat))
          return i.getValue().isZero();
      }
  if (auto fill = v.getDefiningOp<linalg::FillOp>())
    return matchPattern(fill.getInputs()[0], m_AnyZeroFloat()) ||
           matchPattern(fill.getInputs()[0], m_Zero());
  // A generalized fill: a body that yields a constant, or its scalar input.
  auto generic = v.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumResults() != 1)
    return false;
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  Value y = yield.getValues()[0];
  if (auto arg = dyn_cast<BlockArgument>(y)) {
    if (arg.getOwner() != generic.getBody() ||
        arg.getArgNumber() >= generic.getNumDpsInputs())
      return false;
    y = generic.getDpsInputs()[arg.getArgNumber()];
    if (isa<ShapedType>(y.getType()))
      return false;
  }
  return matchPattern(y, m_AnyZeroFloat()) || matchPattern(y, m_Zero());
}

/// How a reduced output combines its block argument with the body's value.
enum class Combiner { FloatSum, Exact, Other };

/// The op that folds `init`'s block argument into what the body yields for
/// it, and whether its order matters: a float add's does; an integer add's
/// and a maximum's or minimum's do not (they are exact in any order).
std::pair<Combiner, Operation *> outputCombiner(linalg::GenericOp op,
                                                OpOperand &init) {
  BlockArgument out = op.getMatchingBlockArgument(&init);
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  unsigned i = init.getOperandNumber() - op.getNumDpsInputs();
  if (!out.hasOneUse())
    return {Combiner::Other, nullptr};
  Operation *user = *out.getUsers().begin();
  if (yield.getValues()[i] != user->getResult(0))
    return {Combiner::Other, nullptr};
  if (isa<arith::AddFOp>(user))
    return {Combiner::FloatSum, user};
  if (isa<arith::AddIOp, arith::MaximumFOp, arith::MinimumFOp,
          arith::MaxNumFOp, arith::MinNumFOp, arith::MaxSIOp, arith::MinSIOp,
          arith::MaxUIOp, arith::MinUIOp>(user))
    return {Combiner::Exact, user};
  return {Combiner::Other, nullptr};
}

/// The largest power of two below `n` (n >= 2).
int64_t splitPoint(int64_t n) { return int64_t(llvm::bit_floor(uint64_t(n - 1))); }

/// Rewrites `op`, a sum over its batch loop `loop`, into one copy per block
/// of `block` images and the blocks' sums added in a tree.
LogicalResult blockSum(RewriterBase &rewriter, linalg::GenericOp op,
                       unsigned loop, int64_t block) {
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  int64_t batch = op.getStaticLoopRanges()[loop];
  int64_t blocks = batch / block;
  AffineExpr batchLoop = getAffineDimExpr(loop, ctx);

  // Each output is either along the batch (written per image, put back
  // together from the blocks) or a sum (from zeros, added over the blocks).
  // Reductions exact in any order (counts, maxima) stay as they are.
  SmallVector<Operation *> adds;
  bool floatSum = false, nonZeroSum = false;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (llvm::is_contained(map.getResults(), batchLoop)) {
      adds.push_back(nullptr);
      continue;
    }
    auto [combiner, add] = outputCombiner(op, init);
    if (combiner == Combiner::Other)
      return op.emitError("dq-block-batch-sums: a reduction over the batch "
                          "that is neither a sum nor a maximum or minimum");
    // Every block starts from the init: a maximum's is harmless, a sum's
    // must be zeros.
    nonZeroSum |= isa<arith::AddFOp, arith::AddIOp>(add) && !isZeros(init.get());
    floatSum |= combiner == Combiner::FloatSum;
    adds.push_back(add);
  }
  if (!floatSum)
    return success();
  if (nonZeroSum)
    return op.emitError("dq-block-batch-sums: a sum over the batch that "
                        "does not start from zeros");
  for (OpOperand &operand : op->getOpOperands()) {
    unsigned uses = 0;
    for (AffineExpr e : op.getMatchingIndexingMap(&operand).getResults()) {
      if (!e.isFunctionOfDim(loop))
        continue;
      if (e != batchLoop || ++uses > 1)
        return op.emitError("dq-block-batch-sums: this op reads the batch "
                            "loop other than as one whole index");
    }
  }

  // The offsets, sizes and strides of the block [first, first + block)
  // along the result of `map` that is the batch loop (none if `map` does not
  // read it) in a tensor of type `type`.
  struct Range {
    SmallVector<OpFoldResult> offsets, sizes, strides;
  };
  auto blockRange = [&](RankedTensorType type, AffineMap map,
                        int64_t first) -> std::optional<Range> {
    auto at = llvm::find(map.getResults(), batchLoop);
    if (at == map.getResults().end())
      return std::nullopt;
    Range r;
    r.offsets.assign(type.getRank(), rewriter.getIndexAttr(0));
    r.strides.assign(type.getRank(), rewriter.getIndexAttr(1));
    for (int64_t s : type.getShape())
      r.sizes.push_back(rewriter.getIndexAttr(s));
    unsigned p = at - map.getResults().begin();
    r.offsets[p] = rewriter.getIndexAttr(first);
    r.sizes[p] = rewriter.getIndexAttr(block);
    return r;
  };
  // The block of `v` read through `map`; `v` itself when `map` does not read
  // the batch loop.
  auto blockOf = [&](Value v, AffineMap map, int64_t first) -> Value {
    std::optional<Range> r =
        blockRange(cast<RankedTensorType>(v.getType()), map, first);
    if (!r)
      return v;
    return tensor::ExtractSliceOp::create(rewriter, loc, v, r->offsets,
                                          r->sizes, r->strides);
  };

  rewriter.setInsertionPoint(op);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<SmallVector<Value>> partials(op.getNumResults());
  SmallVector<Value> along(op.getNumResults());
  for (unsigned i = 0; i < op.getNumResults(); ++i)
    if (!adds[i])
      along[i] = op.getDpsInits()[i];
  for (int64_t b = 0; b < blocks; ++b) {
    int64_t first = b * block;
    SmallVector<Value> inputs, inits;
    for (OpOperand *input : op.getDpsInputOperands())
      inputs.push_back(
          blockOf(input->get(), op.getMatchingIndexingMap(input), first));
    for (OpOperand &init : op.getDpsInitsMutable())
      inits.push_back(
          blockOf(init.get(), op.getMatchingIndexingMap(&init), first));
    auto copy = linalg::GenericOp::create(
        rewriter, loc, TypeRange(ValueRange(inits)), inputs, inits, maps,
        op.getIteratorTypesArray());
    IRMapping mapping;
    op.getRegion().cloneInto(&copy.getRegion(), mapping);
    // The body's batch index is the image's index in the whole batch.
    SmallVector<linalg::IndexOp> indices;
    copy.getRegion().walk([&](linalg::IndexOp index) {
      if (index.getDim() == loop && first != 0)
        indices.push_back(index);
    });
    for (linalg::IndexOp index : indices) {
      rewriter.setInsertionPointAfter(index);
      Value offset = arith::ConstantIndexOp::create(rewriter, loc, first);
      auto shifted = arith::AddIOp::create(rewriter, loc, index, offset);
      rewriter.replaceAllUsesExcept(index, shifted.getResult(), shifted);
    }
    rewriter.setInsertionPointAfter(copy);
    for (unsigned i = 0; i < op.getNumResults(); ++i) {
      if (adds[i]) {
        partials[i].push_back(copy.getResult(i));
        continue;
      }
      // Put the block's images back in place.
      Range r = *blockRange(cast<RankedTensorType>(along[i].getType()),
                            maps[op.getNumDpsInputs() + i], first);
      along[i] = tensor::InsertSliceOp::create(rewriter, loc, copy.getResult(i),
                                               along[i], r.offsets, r.sizes,
                                               r.strides);
    }
  }

  // The blocks' sums, added as the collective adds the processes' sums: the
  // first half's (the largest power of two below the count) and the rest's.
  SmallVector<Value> results(op.getNumResults());
  for (unsigned i = 0; i < op.getNumResults(); ++i) {
    if (!adds[i]) {
      results[i] = along[i];
      continue;
    }
    auto type = cast<RankedTensorType>(partials[i].front().getType());
    unsigned rank = type.getRank();
    Operation *add = adds[i];
    std::function<Value(int64_t, int64_t)> tree = [&](int64_t lo,
                                                      int64_t hi) -> Value {
      if (hi - lo == 1)
        return partials[i][lo];
      int64_t mid = lo + splitPoint(hi - lo);
      Value left = tree(lo, mid), right = tree(mid, hi);
      Value empty = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                            type.getElementType());
      SmallVector<AffineMap> addMaps(
          3, AffineMap::getMultiDimIdentityMap(rank, ctx));
      auto sum = linalg::GenericOp::create(
          rewriter, loc, type, ValueRange{left, right}, ValueRange{empty},
          addMaps,
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            Operation *s = nb.clone(*add);
            s->setOperands({args[0], args[1]});
            linalg::YieldOp::create(nb, l, s->getResult(0));
          });
      return sum.getResult(0);
    };
    results[i] = tree(0, blocks);
  }
  rewriter.replaceOp(op, results);
  return success();
}

struct BlockBatchSumsPass
    : public mlir::dq::impl::DQBlockBatchSumsBase<BlockBatchSumsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto attr = module->getAttrOfType<IntegerAttr>(mlir::dq::kReplicaBatchAttrName);
    if (!attr)
      return;
    int64_t block = attr.getInt();
    for (StringRef name : {StringRef(mlir::dq::kTrainStepName),
                           StringRef(mlir::dq::kCalibrateName)}) {
      auto func = module.lookupSymbol<func::FuncOp>(name);
      if (!func || func.isExternal())
        continue;
      // The images and labels, by the contract's signatures (the dq.state
      // tags are gone by now): @train_step(state..., images, labels, lr,
      // step), @calibrate(state..., images, batches, iterations).
      bool train = name == mlir::dq::kTrainStepName;
      unsigned trailing = train ? 4 : 3;
      if (func.getNumArguments() < trailing)
        continue;
      SmallVector<BlockArgument> batchArgs = {
          func.getArgument(func.getNumArguments() - trailing)};
      if (train)
        batchArgs.push_back(func.getArgument(func.getNumArguments() - 3));
      if (!isa<RankedTensorType>(batchArgs.front().getType()))
        continue;
      auto images = cast<RankedTensorType>(batchArgs.front().getType());
      int64_t batch = images.getDimSize(0);
      if (block <= 0 || batch % block != 0 ||
          !llvm::has_single_bit(uint64_t(batch / block))) {
        func.emitError("dq-block-batch-sums: ")
            << mlir::dq::kReplicaBatchAttrName << " = " << block
            << " must divide the batch of " << batch
            << " into a power-of-two number of blocks";
        return signalPassFailure();
      }
      if (block == batch)
        continue;
      BatchDims dims(batch);
      for (BlockArgument arg : batchArgs)
        if (auto type = dyn_cast<RankedTensorType>(arg.getType()))
          if (type.getRank() > 0 && type.getDimSize(0) == batch)
            dims.set(arg, 0);
      SmallVector<std::pair<linalg::GenericOp, unsigned>> sums;
      WalkResult walk = func.walk<WalkOrder::PreOrder>([&](Operation *op) {
        if (op->getParentOfType<linalg::GenericOp>())
          return WalkResult::skip();
        if (failed(dims.visit(op, sums)))
          return WalkResult::interrupt();
        return WalkResult::advance();
      });
      if (walk.wasInterrupted())
        return signalPassFailure();
      IRRewriter rewriter(&getContext());
      for (auto [op, loop] : sums)
        if (failed(blockSum(rewriter, op, loop, block)))
          return signalPassFailure();
    }
  }
};

} // namespace
