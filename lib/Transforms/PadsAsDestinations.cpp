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
      if (!padding || pad.getNofold() || !pad.getResultType().hasStaticShape() ||
          !pad.getSourceType().hasStaticShape() ||
          !pad.getLow().empty() || !pad.getHigh().empty())
        return;
      // Only pads whose source is visible where the fill goes: defined in
      // the pad's block, or a block argument of it.
      Value source = pad.getSource();
      Block *block = pad->getBlock();
      if (source.getParentBlock() != block)
        return;
      ArrayRef<int64_t> low = pad.getStaticLow(), high = pad.getStaticHigh();
      Key key{source.getAsOpaquePointer(),
              std::vector<int64_t>(low.begin(), low.end()),
              std::vector<int64_t>(high.begin(), high.end()),
              padding.getAsOpaquePointer()};
      auto [it, inserted] =
          groups.try_emplace(key, Group{padding, {}});
      if (inserted)
        order.push_back(key);
      it->second.pads.push_back(pad);
    });

    IRRewriter rewriter(&getContext());
    for (const Key &key : order) {
      Group &group = groups[key];
      SmallVector<tensor::PadOp> &pads = group.pads;
      tensor::PadOp first = pads.front();
      Value source = first.getSource();
      Location loc = first.getLoc();
      RankedTensorType type = first.getResultType();
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
      Value filled =
          linalg::FillOp::create(rewriter, loc, padding, empty).getResult(0);
      if (producer)
        rewriter.setInsertionPointAfter(producer);
      auto sourceType = cast<RankedTensorType>(source.getType());
      SmallVector<OpFoldResult> offsets, sizes, strides;
      for (auto [low, size] :
           llvm::zip(first.getStaticLow(), sourceType.getShape())) {
        offsets.push_back(rewriter.getIndexAttr(low));
        sizes.push_back(rewriter.getIndexAttr(size));
        strides.push_back(rewriter.getIndexAttr(1));
      }
      auto insert = tensor::InsertSliceOp::create(
          rewriter, loc, source, filled, offsets, sizes, strides);
      Value padded = insert.getResult();
      for (tensor::PadOp pad : pads)
        rewriter.replaceOp(pad, padded);
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
