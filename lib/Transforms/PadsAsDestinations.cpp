//===- PadsAsDestinations.cpp - dq-pads-as-destinations -------------------===//
//
// Convolutions read zero-padded activations and gradients. Bufferized as
// is, every tensor.pad is a fill of a new buffer plus a strided copy of its
// source: 10-15 % of a ResNet training step on CPU. Written as a fill that
// the source is inserted into, with the fill ahead of the source's
// producer, eliminate-empty-tensors lets the producer write into the
// padded buffer directly.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include <map>
#include <tuple>
#include <vector>

namespace mlir::dq {
#define GEN_PASS_DEF_DQPADSASDESTINATIONS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

/// The attribute of a pad's constant padding value, or null.
TypedAttr constantPadding(tensor::PadOp pad) {
  Value value = pad.getConstantPaddingValue();
  Attribute attr;
  if (!value || !matchPattern(value, m_Constant(&attr)))
    return {};
  return dyn_cast<TypedAttr>(attr);
}

/// Canonicalization pads a unit-dims-dropped view of a producer's result
/// (a rank-reducing extract_slice of all of it): `source`, `low`, `high`
/// become those of a pad of the producer's result itself, with zero widths
/// on the unit dimensions, so that the producer can still write into the
/// padded buffer.
void lookThroughUnitDimsView(Value &source, std::vector<int64_t> &low,
                             std::vector<int64_t> &high) {
  auto view = source.getDefiningOp<tensor::ExtractSliceOp>();
  if (!view)
    return;
  auto full = cast<RankedTensorType>(view.getSource().getType());
  bool whole =
      full.hasStaticShape() &&
      llvm::all_of(view.getStaticOffsets(), [](int64_t o) { return o == 0; }) &&
      llvm::all_of(view.getStaticStrides(), [](int64_t s) { return s == 1; }) &&
      view.getStaticSizes() == full.getShape() &&
      view.getType().getRank() < full.getRank();
  if (!whole)
    return;
  llvm::SmallBitVector dropped = view.getDroppedDims();
  std::vector<int64_t> fullLow, fullHigh;
  unsigned kept = 0;
  for (int64_t d = 0; d < full.getRank(); ++d) {
    bool unit = dropped.test(d);
    fullLow.push_back(unit ? 0 : low[kept]);
    fullHigh.push_back(unit ? 0 : high[kept]);
    kept += !unit;
  }
  source = view.getSource();
  low = std::move(fullLow);
  high = std::move(fullHigh);
}

/// `padded` with `padding` written into its border only: the interior
/// (`low` + `interior` along each dimension) is what the source fills. One
/// slab per side of each padded dimension, each slab spanning the interior
/// of the dimensions before it and all of those after it, so no element is
/// written twice. Each slab is an extract_slice, a fill and an insert_slice
/// back into the same place, which bufferization does in place.
Value fillBorder(RewriterBase &rewriter, Location loc, Value padding,
                 Value padded, ArrayRef<int64_t> low, ArrayRef<int64_t> high,
                 ArrayRef<int64_t> interior) {
  auto type = cast<RankedTensorType>(padded.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> ones(rank, rewriter.getIndexAttr(1));
  auto fillSlab = [&](int64_t dim, int64_t begin, int64_t width) {
    SmallVector<OpFoldResult> offsets, sizes;
    SmallVector<int64_t> shape;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t offset = d < dim ? low[d] : 0;
      int64_t size = d < dim ? interior[d] : type.getDimSize(d);
      if (d == dim) {
        offset = begin;
        size = width;
      }
      offsets.push_back(rewriter.getIndexAttr(offset));
      sizes.push_back(rewriter.getIndexAttr(size));
      shape.push_back(size);
    }
    auto slabType = RankedTensorType::get(shape, type.getElementType());
    Value slab = tensor::ExtractSliceOp::create(rewriter, loc, slabType,
                                                padded, offsets, sizes, ones);
    Value filled =
        linalg::FillOp::create(rewriter, loc, padding, slab).getResult(0);
    padded = tensor::InsertSliceOp::create(rewriter, loc, filled, padded,
                                           offsets, sizes, ones);
  };
  for (int64_t d = 0; d < rank; ++d) {
    if (low[d] > 0)
      fillSlab(d, 0, low[d]);
    if (high[d] > 0)
      fillSlab(d, low[d] + interior[d], high[d]);
  }
  return padded;
}

struct PadsAsDestinationsPass
    : public mlir::dq::impl::DQPadsAsDestinationsBase<PadsAsDestinationsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // Pads of one source with the same widths and value, in program order.
    using Key = std::tuple<const void *, std::vector<int64_t>,
                           std::vector<int64_t>, const void *>;
    struct Group {
      TypedAttr padding;
      SmallVector<tensor::PadOp> pads;
    };
    std::map<Key, Group> groups;
    SmallVector<Key> order;
    func.walk([&](tensor::PadOp pad) {
      TypedAttr padding = constantPadding(pad);
      if (!padding || pad.getNofold() ||
          !pad.getResultType().hasStaticShape() ||
          !pad.getSourceType().hasStaticShape() || !pad.getLow().empty() ||
          !pad.getHigh().empty())
        return;
      // Only pads whose source is visible where the fill goes: defined in
      // the pad's block, or a block argument of it.
      Value source = pad.getSource();
      std::vector<int64_t> low(pad.getStaticLow().begin(),
                               pad.getStaticLow().end()),
          high(pad.getStaticHigh().begin(), pad.getStaticHigh().end());
      lookThroughUnitDimsView(source, low, high);
      Block *block = pad->getBlock();
      if (source.getParentBlock() != block)
        return;
      Key key{source.getAsOpaquePointer(), low, high,
              padding.getAsOpaquePointer()};
      auto [it, inserted] = groups.try_emplace(key, Group{padding, {}});
      if (inserted)
        order.push_back(key);
      it->second.pads.push_back(pad);
    });

    IRRewriter rewriter(&getContext());
    for (const Key &key : order) {
      Group &group = groups[key];
      SmallVector<tensor::PadOp> &pads = group.pads;
      tensor::PadOp first = pads.front();
      // The current source (an earlier group may have redirected it).
      Value source = first.getSource();
      std::vector<int64_t> low(first.getStaticLow().begin(),
                               first.getStaticLow().end()),
          high(first.getStaticHigh().begin(), first.getStaticHigh().end());
      lookThroughUnitDimsView(source, low, high);
      Location loc = first.getLoc();
      auto sourceType = cast<RankedTensorType>(source.getType());
      SmallVector<int64_t> paddedShape;
      for (int64_t d = 0; d < sourceType.getRank(); ++d)
        paddedShape.push_back(sourceType.getDimSize(d) + low[d] + high[d]);
      auto type =
          RankedTensorType::get(paddedShape, sourceType.getElementType());
      // The fill goes before the source's producer (or at the start of the
      // block for a block argument); the insert right after the producer.
      Operation *producer = source.getDefiningOp();
      if (producer)
        rewriter.setInsertionPoint(producer);
      else
        rewriter.setInsertionPointToStart(source.getParentBlock());
      Value padding = arith::ConstantOp::create(rewriter, loc, group.padding);
      Value empty = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                            type.getElementType());
      Value filled = fillBorder(rewriter, loc, padding, empty, low, high,
                                sourceType.getShape());
      if (producer)
        rewriter.setInsertionPointAfter(producer);
      SmallVector<OpFoldResult> offsets, sizes, strides;
      for (auto [width, size] : llvm::zip(low, sourceType.getShape())) {
        offsets.push_back(rewriter.getIndexAttr(width));
        sizes.push_back(rewriter.getIndexAttr(size));
        strides.push_back(rewriter.getIndexAttr(1));
      }
      auto insert = tensor::InsertSliceOp::create(rewriter, loc, source, filled,
                                                  offsets, sizes, strides);
      Value padded = insert.getResult();
      for (tensor::PadOp pad : pads) {
        if (pad.getResultType() == type) {
          rewriter.replaceOp(pad, padded);
          continue;
        }
        // A pad of a unit-dims-dropped view: the same view of the padded
        // tensor. Canonicalization restores the unit dimensions by inserting
        // the padded view into an empty tensor: that is the padded tensor
        // itself (no copy).
        for (OpOperand &use : llvm::make_early_inc_range(pad->getUses())) {
          auto restore = dyn_cast<tensor::InsertSliceOp>(use.getOwner());
          if (restore && use.getOperandNumber() == 0 &&
              restore.getDestType() == type &&
              restore.getDest().getDefiningOp<tensor::EmptyOp>() &&
              llvm::all_of(restore.getStaticOffsets(),
                           [](int64_t o) { return o == 0; }) &&
              llvm::all_of(restore.getStaticStrides(),
                           [](int64_t s) { return s == 1; }) &&
              restore.getStaticSizes() == type.getShape())
            rewriter.replaceOp(restore, padded);
        }
        rewriter.setInsertionPoint(pad);
        SmallVector<OpFoldResult> zeros(type.getRank(),
                                        rewriter.getIndexAttr(0));
        SmallVector<OpFoldResult> all,
            ones(type.getRank(), rewriter.getIndexAttr(1));
        for (int64_t size : type.getShape())
          all.push_back(rewriter.getIndexAttr(size));
        rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(
            pad, pad.getResultType(), padded, zeros, all, ones);
      }
      rewriter.setInsertionPointAfter(insert);
      // Every other reader of the source reads the padded tensor's interior
      // instead (the same values): with the source read only by the insert,
      // bufferization can let the producer write into the padded buffer.
      if (!source.hasOneUse()) {
        Value interior = tensor::ExtractSliceOp::create(
            rewriter, loc, sourceType, padded, offsets, sizes, strides);
        rewriter.replaceAllUsesExcept(source, interior, insert);
      }
    }
  }
};

} // namespace
