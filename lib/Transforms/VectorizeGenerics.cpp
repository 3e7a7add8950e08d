//===- VectorizeGenerics.cpp - dq-vectorize-generics ----------------------===//
//
// Vectorizes the reduction generics of the training graph (conv forward and
// gradients, level-fit histograms) along their innermost parallel loop.
// Sum-of-products generics get register tiles (RegisterTiles.h), emitted
// here as loops over vector accumulators; for the others the
// recipe (tile all but the innermost loop to 1, fold unit dims, vectorize,
// simplify vector ops) is a transform-dialect script, generated for the loop
// ranks present and applied by the transform interpreter.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"
#include "dq/Transforms/RegisterTiles.h"

#include "dialects/dq/DQOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"

#include <set>
#include <tuple>

namespace mlir::dq {
#define GEN_PASS_DEF_DQVECTORIZEGENERICS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

/// Whether an index of `extract` is computed from another tensor.extract
/// in the same body.
bool dependsOnGather(tensor::ExtractOp extract) {
  SmallVector<Value> work(extract.getIndices().begin(),
                          extract.getIndices().end());
  llvm::SmallPtrSet<Operation *, 16> seen;
  while (!work.empty()) {
    Operation *def = work.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != extract->getBlock() ||
        !seen.insert(def).second)
      continue;
    if (isa<tensor::ExtractOp>(def))
      return true;
    work.append(def->operand_begin(), def->operand_end());
  }
  return false;
}

/// Candidates get a unit attribute dq_vec<kind><rank>: kind 'c' for
/// convolution-like access maps (sums of dims), which are vectorized after
/// unit-dim folding, 'p' otherwise.
std::optional<std::pair<char, unsigned>> classify(linalg::GenericOp op) {
  // A lowering that knows the recipe does not fit its generic says so (the
  // bit packing of dq.pack_bits: its index-dependent shifts over a short
  // word loop blow the vectorizer's IR up instead of speeding it up).
  // A library's contraction (dq-mark-library-convs) becomes a call.
  if (op->hasAttr(dq::kKeepScalarAttr) || op.getLibraryCall())
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators.empty() || iterators.back() != utils::IteratorType::parallel ||
      llvm::none_of(iterators, [](utils::IteratorType t) {
        return t == utils::IteratorType::reduction;
      }))
    return std::nullopt;
  // Vector stores must walk the output's contiguous dimension: its last
  // access must be the innermost loop (keep-dims reductions whose output
  // ends in a broadcast 0 stay scalar).
  unsigned innermost = iterators.size() - 1;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (map.getNumResults() == 0)
      return std::nullopt;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (!last || last.getPosition() != innermost)
      return std::nullopt;
  }
  if (llvm::any_of(op.getRegion().getOps(),
                   [](Operation &inner) { return inner.getNumRegions() > 0; }))
    return std::nullopt;
  bool convLike = llvm::any_of(op.getIndexingMapsArray(), [](AffineMap map) {
    return llvm::any_of(map.getResults(), [](AffineExpr e) {
      return !isa<AffineDimExpr, AffineConstantExpr>(e);
    });
  });
  bool gathers = llvm::any_of(op.getRegion().getOps(), [](Operation &inner) {
    return isa<tensor::ExtractOp>(inner);
  });
  // Multi-result ops (the level-fit histograms) vectorize before unit-dim
  // folding, which would lose track of them; a gather (tensor.extract of a
  // level table fused into a contraction) only vectorizes in those
  // histograms; window ops with two results (max-pool arg-max) stay scalar.
  bool multiResult = op.getNumDpsInits() > 1;
  if (multiResult ? convLike : gathers)
    return std::nullopt;
  // A gather whose index comes from another gather (the binary search of a
  // nearest-level lookup fused into a histogram) blows the vectorizer's IR
  // up; such ops stay scalar.
  if (gathers && llvm::any_of(op.getRegion().getOps<tensor::ExtractOp>(),
                              [](tensor::ExtractOp extract) {
                                return dependsOnGather(extract);
                              }))
    return std::nullopt;
  return std::make_pair(convLike ? 'c' : 'p',
                        static_cast<unsigned>(iterators.size()));
}

/// Whether an input is read along the innermost (vector) loop through a dim
/// other than its last and broadcast over another loop (a transposed matmul
/// operand): vectorized before unit-dim folding ('p'), its transfer read
/// gets a broadcasting, transposing permutation map, which the script's
/// transfer-permutation and broadcast-lowering patterns rewrite into each
/// other without end. Such ops stay scalar.
bool readsTransposedBroadcast(linalg::GenericOp op) {
  return llvm::any_of(op.getDpsInputOperands(), [&](OpOperand *input) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/true))
      return false;
    SmallVector<unsigned> dims;
    for (AffineExpr e : map.getResults())
      if (auto dim = dyn_cast<AffineDimExpr>(e))
        dims.push_back(dim.getPosition());
    unsigned innermost = map.getNumDims() - 1;
    auto it = llvm::find(dims, innermost);
    return dims.size() < map.getNumDims() && it != dims.end() &&
           it != dims.end() - 1;
  });
}

/// Marks the multiply-accumulate of a sum-of-products body (`out + x * y`)
/// contractible, so that it becomes one fused multiply-add: one rounding
/// instead of two, and half the arithmetic instructions. Every lane and every
/// thread still sums in the same order, so results do not depend on the
/// thread count; they are no longer those of separate scalar mul and add.
void allowFusedMultiplyAdd(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  for (auto [value, init] :
       llvm::zip(yield.getValues(), op.getRegionOutputArgs())) {
    auto add = value.getDefiningOp<arith::AddFOp>();
    if (!add)
      continue;
    Value other = add.getLhs() == init   ? add.getRhs()
                  : add.getRhs() == init ? add.getLhs()
                                         : Value();
    auto mul = other ? other.getDefiningOp<arith::MulFOp>() : nullptr;
    if (!mul || !mul->hasOneUse())
      continue;
    auto contract = [](auto o) {
      o.setFastmath(o.getFastmath() | arith::FastMathFlags::contract);
    };
    contract(add);
    contract(mul);
  }
}

/// The pieces both register-tile emissions share: one row of a tile reads
/// its inputs at the row's loop dims (vectors along the vector loop,
/// broadcasts otherwise, reads that do not depend on `r` shared by every
/// row) and applies the op's body to vectors.
struct RowEmitter {
  linalg::GenericOp op;
  unsigned r;
  unsigned rank, vectorLoop;
  int64_t width;

  RowEmitter(linalg::GenericOp op, const dq::RegisterTile &tile)
      : op(op), r(tile.loop), width(tile.columns) {
    rank = op.getNumLoops();
    vectorLoop = rank - 1;
  }

  /// Whether the tile covers only a block of the vector loop, which then
  /// becomes a loop of its own stepped by `width`.
  bool blocksColumns() {
    return width < op.getStaticLoopRanges()[vectorLoop];
  }

  /// The step of loop `d` in the emitted nest: the tile's rows on `r`, its
  /// columns on the vector loop, 1 elsewhere.
  int64_t stepOf(unsigned d, int64_t rows) const {
    return d == r ? rows : d == vectorLoop ? width : 1;
  }

  VectorType vectorOf(Value tensor) const {
    return VectorType::get(
        {width}, cast<RankedTensorType>(tensor.getType()).getElementType());
  }

  /// Indices of an operand read through `map` at `dims` (the vector loop
  /// at the tile's first column).
  SmallVector<Value> indices(OpBuilder &b, Location l, AffineMap map,
                             ValueRange dims) const {
    SmallVector<Value> result;
    for (AffineExpr e : map.getResults()) {
      // The vector loop appears only as a whole index (isRegisterTileable).
      if (dq::linearCoefficient(e, vectorLoop).value_or(0) != 0) {
        result.push_back(dims[vectorLoop]);
        continue;
      }
      result.push_back(affine::AffineApplyOp::create(
          b, l, AffineMap::get(rank, 0, e), dims));
    }
    return result;
  }

  /// `source` at `indices` as a vector: read along the vector loop, or one
  /// element broadcast.
  Value read(OpBuilder &b, Location l, Value source, AffineMap map,
             ValueRange at) const {
    if (map.isFunctionOfDim(vectorLoop))
      return vector::TransferReadOp::create(b, l, vectorOf(source), source, at,
                                            /*padding=*/std::nullopt,
                                            ArrayRef<bool>{true});
    Value scalar = tensor::ExtractOp::create(b, l, source, at);
    return vector::BroadcastOp::create(b, l, vectorOf(source), scalar);
  }

  /// The body applied to one row at `dims` with accumulator `acc`; `shared`
  /// (one slot per input) caches the reads every row shares.
  Value row(OpBuilder &b, Location l, ValueRange dims, Value acc,
            SmallVectorImpl<Value> &shared) {
    Block &body = op.getRegion().front();
    IRMapping mapping;
    for (OpOperand *input : op.getDpsInputOperands()) {
      AffineMap map = op.getMatchingIndexingMap(input);
      unsigned n = input->getOperandNumber();
      bool perRow = map.isFunctionOfDim(r);
      if (perRow || !shared[n]) {
        Value value = read(b, l, input->get(), map, indices(b, l, map, dims));
        if (!perRow)
          shared[n] = value;
        mapping.map(body.getArgument(n), value);
      } else {
        mapping.map(body.getArgument(n), shared[n]);
      }
    }
    mapping.map(body.getArgument(op.getNumDpsInputs()), acc);
    for (Operation &inner : body.without_terminator()) {
      // Scalars from outside the op (a hoisted constant or table entry)
      // are the same in every lane.
      for (Value operand : inner.getOperands())
        if (!mapping.contains(operand) &&
            !op.getRegion().isAncestor(operand.getParentRegion()))
          mapping.map(operand,
                      vector::BroadcastOp::create(
                          b, l, VectorType::get({width}, operand.getType()),
                          operand));
      Operation *clone = b.clone(inner, mapping);
      Type element = inner.getResult(0).getType();
      clone->getResult(0).setType(VectorType::get({width}, element));
    }
    return mapping.lookup(
        cast<linalg::YieldOp>(body.getTerminator()).getValues()[0]);
  }
};

/// Replaces a sum-of-products generic by loops over every loop but `r`
/// (stepped by `rows`) and the vector loop, whose body computes `rows`
/// output vectors: each row's accumulator is read, updated and written
/// back, operands walking the vector loop are read as vectors and the
/// others broadcast. loop-invariant-subset-hoisting later keeps the
/// accumulators in registers across the innermost reduction loops.
void emitRegisterTiled(RewriterBase &rewriter, linalg::GenericOp op,
                       const dq::RegisterTile &tile) {
  Location loc = op.getLoc();
  RowEmitter emitter(op, tile);
  unsigned r = tile.loop;
  int64_t rows = tile.rows;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  rewriter.setInsertionPoint(op);
  // The loops in nest order: every loop but the vector loop, and a loop
  // over column blocks after the last parallel one (reductions inside it
  // keep their accumulators in registers).
  SmallVector<unsigned> order;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned columnsAt = 0;
  for (unsigned d = 0; d < emitter.vectorLoop; ++d) {
    order.push_back(d);
    if (iterators[d] == utils::IteratorType::parallel)
      columnsAt = order.size();
  }
  if (emitter.blocksColumns())
    order.insert(order.begin() + columnsAt, emitter.vectorLoop);
  SmallVector<Value> lbs, ubs, steps;
  for (unsigned d : order) {
    int64_t step = emitter.stepOf(d, rows);
    lbs.push_back(arith::ConstantIndexOp::create(rewriter, loc, 0));
    ubs.push_back(arith::ConstantIndexOp::create(rewriter, loc, ranges[d]));
    steps.push_back(arith::ConstantIndexOp::create(rewriter, loc, step));
  }
  Value init = op.getDpsInitOperand(0)->get();
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  auto bodyBuilder = [&](OpBuilder &b, Location l, ValueRange ivs,
                         ValueRange iterArgs) -> scf::ValueVector {
    Value acc = iterArgs[0];
    Value zero = arith::ConstantIndexOp::create(b, l, 0);
    SmallVector<Value> shared(op.getNumDpsInputs());
    for (int64_t row = 0; row < rows; ++row) {
      SmallVector<Value> dims(emitter.rank, zero);
      for (auto [d, iv] : llvm::zip(order, ivs))
        dims[d] = iv;
      if (row > 0)
        dims[r] = arith::AddIOp::create(
            b, l, ivs[r], arith::ConstantIndexOp::create(b, l, row));
      SmallVector<Value> outIndices = emitter.indices(b, l, outMap, dims);
      Value result = emitter.row(
          b, l, dims, emitter.read(b, l, acc, outMap, outIndices), shared);
      acc = vector::TransferWriteOp::create(b, l, result, acc, outIndices,
                                            ArrayRef<bool>{true})
                .getResult();
    }
    return {acc};
  };
  scf::LoopNest nest =
      scf::buildLoopNest(rewriter, loc, lbs, ubs, steps, ValueRange{init},
                         bodyBuilder);
  rewriter.replaceOp(op, nest.results);
}

/// Whether every reduction loop of `op` comes after every parallel loop but
/// the innermost (vector) one: each output vector's sum is then complete
/// within one visit of the parallel loops, so it can be accumulated in
/// registers from its initial value and written once.
bool reductionsInnermost(linalg::GenericOp op) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  bool seenReduction = false;
  for (unsigned d = 0; d + 1 < iterators.size(); ++d) {
    bool reduction = iterators[d] == utils::IteratorType::reduction;
    if (!reduction && seenReduction)
      return false;
    seenReduction |= reduction;
  }
  return seenReduction;
}

/// emitRegisterTiled for ops whose reductions are innermost: loops over the
/// parallel dims (`r` stepped by `rows`), each row's accumulator starts as a
/// vector register, the reduction loops carry the rows as loop values, and
/// each row is written once. An output initialized by a fill (named or
/// generic) starts from the fill's value in registers: the first read of it
/// disappears, and the fill (a memset of the whole output) once no other op
/// uses it.
/// The sums add the same terms in the same order as emitRegisterTiled's.
void emitRegisterTiledInRegisters(RewriterBase &rewriter, linalg::GenericOp op,
                                  const dq::RegisterTile &tile) {
  Location loc = op.getLoc();
  RowEmitter emitter(op, tile);
  unsigned r = tile.loop;
  int64_t rows = tile.rows;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  rewriter.setInsertionPoint(op);
  SmallVector<unsigned> parallelDims, reductionDims;
  for (unsigned d = 0; d < emitter.vectorLoop; ++d)
    (iterators[d] == utils::IteratorType::parallel ? parallelDims
                                                   : reductionDims)
        .push_back(d);
  // Column blocks: the innermost parallel loop.
  if (emitter.blocksColumns())
    parallelDims.push_back(emitter.vectorLoop);
  auto bounds = [&](ArrayRef<unsigned> dims, SmallVector<Value> &lbs,
                    SmallVector<Value> &ubs, SmallVector<Value> &steps) {
    for (unsigned d : dims) {
      int64_t step = emitter.stepOf(d, rows);
      lbs.push_back(arith::ConstantIndexOp::create(rewriter, loc, 0));
      ubs.push_back(arith::ConstantIndexOp::create(rewriter, loc, ranges[d]));
      steps.push_back(arith::ConstantIndexOp::create(rewriter, loc, step));
    }
  };
  SmallVector<Value> outerLbs, outerUbs, outerSteps, innerLbs, innerUbs,
      innerSteps;
  bounds(parallelDims, outerLbs, outerUbs, outerSteps);
  bounds(reductionDims, innerLbs, innerUbs, innerSteps);

  Value init = op.getDpsInitOperand(0)->get();
  // Every output element is written (the output map is a projected
  // permutation of the parallel loops), so a fill's destination serves.
  std::optional<dq::Fill> fill = dq::matchFill(init);
  Value destination = fill ? fill->destination : init;
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  // Every row starts from the same vector: one broadcast, or one read of
  // a bias broadcast's vector along the output's contiguous dimension
  // (the vector loop: the output map ends with it).
  // With column blocks, the bias vector is read per block, in the loop.
  Value start;
  auto readBias = [&](OpBuilder &b, Location l, Value column) {
    return vector::TransferReadOp::create(b, l, emitter.vectorOf(init),
                                          fill->value, ValueRange{column},
                                          /*padding=*/std::nullopt,
                                          ArrayRef<bool>{true})
        .getResult();
  };
  if (fill && fill->alongLastDim && !emitter.blocksColumns())
    start = readBias(rewriter, loc,
                     arith::ConstantIndexOp::create(rewriter, loc, 0));
  else if (fill && !fill->alongLastDim)
    start = vector::BroadcastOp::create(rewriter, loc, emitter.vectorOf(init),
                                        fill->value);

  auto outerBody = [&](OpBuilder &b, Location l, ValueRange parallelIvs,
                       ValueRange outerArgs) -> scf::ValueVector {
    Value zero = arith::ConstantIndexOp::create(b, l, 0);
    // Loop dims of one row: `reductionIvs` (zeros outside the reductions),
    // the row's offset on `r`, the vector loop at 0.
    auto dimsOf = [&](int64_t row, ValueRange reductionIvs) {
      SmallVector<Value> dims(emitter.rank, zero);
      for (auto [d, iv] : llvm::zip(parallelDims, parallelIvs))
        dims[d] = iv;
      for (auto [d, iv] : llvm::zip(reductionDims, reductionIvs))
        dims[d] = iv;
      if (row > 0)
        dims[r] = arith::AddIOp::create(
            b, l, dims[r], arith::ConstantIndexOp::create(b, l, row));
      return dims;
    };
    SmallVector<Value> zeros(reductionDims.size(), zero);
    SmallVector<Value> starts;
    Value blockStart = start;
    if (fill && !blockStart)
      blockStart = readBias(b, l, dimsOf(0, zeros)[emitter.vectorLoop]);
    for (int64_t row = 0; row < rows; ++row) {
      if (fill) {
        starts.push_back(blockStart);
        continue;
      }
      starts.push_back(
          emitter.read(b, l, outerArgs[0], outMap,
                       emitter.indices(b, l, outMap, dimsOf(row, zeros))));
    }
    auto innerBody = [&](OpBuilder &ib, Location il, ValueRange reductionIvs,
                         ValueRange accs) -> scf::ValueVector {
      SmallVector<Value> shared(op.getNumDpsInputs());
      scf::ValueVector results;
      for (int64_t row = 0; row < rows; ++row)
        results.push_back(emitter.row(ib, il, dimsOf(row, reductionIvs),
                                      accs[row], shared));
      return results;
    };
    scf::LoopNest inner = scf::buildLoopNest(b, l, innerLbs, innerUbs,
                                             innerSteps, starts, innerBody);
    Value out = outerArgs[0];
    for (int64_t row = 0; row < rows; ++row)
      out = vector::TransferWriteOp::create(
                b, l, inner.results[row], out,
                emitter.indices(b, l, outMap, dimsOf(row, zeros)),
                ArrayRef<bool>{true})
                .getResult();
    return {out};
  };
  scf::LoopNest nest =
      scf::buildLoopNest(rewriter, loc, outerLbs, outerUbs, outerSteps,
                         ValueRange{destination}, outerBody);
  rewriter.replaceOp(op, nest.results);
  if (fill && fill->op->use_empty())
    rewriter.eraseOp(fill->op);
}

/// One tiling recipe of the transform script: kind ('c' or 'p', see
/// classify), loop count, and the innermost loop's tile (0: whole).
struct VectorTag {
  char kind;
  unsigned rank;
  int64_t innerTile;
  bool operator<(const VectorTag &other) const {
    return std::tie(kind, rank, innerTile) <
           std::tie(other.kind, other.rank, other.innerTile);
  }
};

/// Vector registers an innermost loop may fill before it is tiled.
constexpr int64_t kMaxVectorRegisters = 8;

/// The tile of the innermost (vector) loop: its whole length, unless that
/// is more than `maxLanes` elements, then the largest divisor of it that is
/// at most `maxLanes` and a multiple of the register's lanes (whole tiles
/// only: the vectorizer needs static sizes). 0: the whole loop. A
/// 1280-channel loop vectorized whole became one vector<1280xf32> per
/// operand, 160 registers' worth of straight-line code and shuffles
/// (MobileNetV2's level ranges); tiles keep it a loop. Each lane is still
/// one output element, so sums keep their order.
int64_t innermostTile(linalg::GenericOp op, int64_t vectorBits,
                      int64_t maxRegisters) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.empty() || ShapedType::isDynamic(ranges.back()))
    return 0;
  int64_t length = ranges.back();
  Type element = getElementTypeOrSelf(op.getDpsInits().front().getType());
  if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() == 0)
    return 0;
  int64_t lanes =
      std::max<int64_t>(1, vectorBits / element.getIntOrFloatBitWidth());
  int64_t maxLanes = lanes * maxRegisters;
  if (length <= maxLanes)
    return 0;
  for (int64_t tile = maxLanes - maxLanes % lanes; tile >= lanes;
       tile -= lanes)
    if (length % tile == 0)
      return tile;
  return 0;
}

std::string tagOf(const VectorTag &tag) {
  return "dq_vec" + std::string(1, tag.kind) + std::to_string(tag.rank) +
         "_" + std::to_string(tag.innerTile);
}

/// The transform script for the tagged ranks.
std::string buildScript(const std::set<VectorTag> &tags) {
  std::string tiles, vectorizeParallel, vectorizeConv;
  for (const VectorTag &vectorTag : tags) {
    auto [kind, rank, innerTile] = vectorTag;
    std::string tag = tagOf(vectorTag);
    SmallVector<std::string> sizes(rank - 1, "1");
    sizes.push_back(std::to_string(innerTile));
    SmallVector<std::string> loops(rank - 1, "!transform.any_op");
    tiles += "    %m_" + tag +
             " = transform.structured.match ops{[\"linalg.generic\"]} "
             "attributes {" +
             tag +
             "} in %root : (!transform.any_op) -> !transform.any_op\n"
             "    %t_" +
             tag + " = transform.foreach %m_" + tag +
             " : !transform.any_op -> !transform.any_op {\n"
             "    ^bb0(%op: !transform.any_op):\n"
             "      %tiled, %loops:" +
             std::to_string(rank - 1 + (innerTile ? 1 : 0)) +
             " = transform.structured.tile_using_for %op tile_sizes [" +
             llvm::join(sizes, ", ") +
             "] : (!transform.any_op) -> (!transform.any_op, " +
             llvm::join(loops, ", ") + (innerTile ? ", !transform.any_op" : "") +
             ")\n"
             "      transform.yield %tiled : !transform.any_op\n"
             "    }\n";
    std::string vectorize = "    transform.structured.vectorize %t_" + tag +
                            " : !transform.any_op\n";
    (kind == 'p' ? vectorizeParallel : vectorizeConv) += vectorize;
  }
  return "module attributes {transform.with_named_sequence} {\n"
         "  transform.named_sequence @__transform_main(%root: "
         "!transform.any_op {transform.readonly}) {\n" +
         tiles + vectorizeParallel +
         "    %funcs = transform.structured.match ops{[\"func.func\"]} in "
         "%root : (!transform.any_op) -> !transform.any_op\n"
         "    transform.apply_patterns to %funcs {\n"
         "      "
         "transform.apply_patterns.linalg.fold_unit_extent_dims_via_slices\n"
         "      transform.apply_patterns.canonicalization\n"
         "    } : !transform.any_op\n" +
         vectorizeConv +
         "    transform.apply_patterns to %funcs {\n"
         "      transform.apply_patterns.vector.transfer_permutation_patterns\n"
         "      transform.apply_patterns.vector.lower_multi_reduction "
         "lowering_strategy = \"innerparallel\"\n"
         "      transform.apply_patterns.vector.lower_contraction "
         "lowering_strategy = \"outerproduct\"\n"
         "      transform.apply_patterns.vector.lower_outerproduct\n"
         "      transform.apply_patterns.vector.lower_broadcast\n"
         "      "
         "transform.apply_patterns.vector.cast_away_vector_leading_one_dim\n"
         "      transform.apply_patterns.canonicalization\n"
         "    } : !transform.any_op\n"
         "    transform.yield\n"
         "  }\n"
         "}\n";
}

struct VectorizeGenericsPass
    : public mlir::dq::impl::DQVectorizeGenericsBase<VectorizeGenericsPass> {
  using DQVectorizeGenericsBase::DQVectorizeGenericsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::set<VectorTag> tags;
    SmallVector<std::pair<linalg::GenericOp, dq::RegisterTile>> registerTiled;
    module.walk([&](linalg::GenericOp op) {
      auto tag = classify(op);
      if (!tag)
        return;
      if (fuseMultiplyAdd)
        allowFusedMultiplyAdd(op);
      if (registerTile)
        if (auto tile = dq::chooseRegisterTile(
                op, dq::VectorTarget{vectorBits, vectorRegisters})) {
          registerTiled.emplace_back(op, *tile);
          return;
        }
      if (tag->first == 'p' && readsTransposedBroadcast(op))
        return;
      VectorTag vectorTag{tag->first, tag->second,
                          innermostTile(op, vectorBits, kMaxVectorRegisters)};
      op->setAttr(tagOf(vectorTag), UnitAttr::get(&getContext()));
      tags.insert(vectorTag);
    });
    IRRewriter rewriter(&getContext());
    for (auto &[op, tile] : registerTiled) {
      if (reductionsInnermost(op))
        emitRegisterTiledInRegisters(rewriter, op, tile);
      else
        emitRegisterTiled(rewriter, op, tile);
    }
    if (tags.empty())
      return;
    std::string script = buildScript(tags);
    OwningOpRef<ModuleOp> transforms =
        parseSourceString<ModuleOp>(script, ParserConfig(&getContext()));
    if (!transforms) {
      mlir::emitError(module.getLoc(),
                      "dq-vectorize-generics: internal transform script "
                      "does not parse");
      return signalPassFailure();
    }
    Operation *entry = transform::detail::findTransformEntryPoint(
        *transforms, *transforms, "__transform_main");
    if (!entry ||
        failed(transform::applyTransformNamedSequence(
            module, entry, *transforms,
            transform::TransformOptions().enableExpensiveChecks(false))))
      return signalPassFailure();
    // Tags are scaffolding for the script only.
    module.walk([&](linalg::GenericOp op) {
      for (const VectorTag &tag : tags)
        op->removeAttr(tagOf(tag));
    });
  }
};
} // namespace
