//===- X86ByteSums.cpp - dq-x86-byte-sums ---------------------------------===//
//
// The bit-serial kernel's byte counts end in a sum of each lane's 8 bytes.
// LLVM emits PSADBW for a reduction of a whole vector only; for one sum per
// 64-bit lane it builds a tree of shuffles. PSADBW against zeros is exactly
// that sum, in one instruction.
//
//===----------------------------------------------------------------------===//

#include "dq/Support/X86ByteSums.h"
#include "dq/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallBitVector.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQX86BYTESUMS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {
/// The PSADBW intrinsic for `lanes` i64 results, if the target has it.
StringRef byteSumIntrinsic(int64_t lanes, int64_t vectorBits) {
  if (lanes * 64 > vectorBits)
    return {};
  std::optional<mlir::dq::X86ByteSumForm> form =
      mlir::dq::x86ByteSumForm(lanes * 64);
  return form ? StringRef(form->psadbw) : StringRef();
}

/// The bytes `wide` zero-extends, grouped 8 per lane: `%bytes` of
/// extui(shape_cast(%bytes)) or shape_cast(extui(%bytes)), as a 1-D vector.
Value groupedBytes(Value wide) {
  auto fromBytes = [](Value v) -> Value {
    auto type = dyn_cast<VectorType>(v.getType());
    if (!type || type.getRank() != 1 || !type.getElementType().isInteger(8))
      return {};
    return v;
  };
  if (auto extend = wide.getDefiningOp<arith::ExtUIOp>())
    if (auto cast = extend.getIn().getDefiningOp<vector::ShapeCastOp>())
      return fromBytes(cast.getSource());
  if (auto cast = wide.getDefiningOp<vector::ShapeCastOp>())
    if (auto extend = cast.getSource().getDefiningOp<arith::ExtUIOp>())
      return fromBytes(extend.getIn());
  return {};
}

/// PSADBW of `bytes` against zeros: the sum of each lane's 8 bytes.
Value psadbw(PatternRewriter &rewriter, Location loc, StringRef intrinsic,
             Value bytes, Type resultType) {
  auto byteType = cast<VectorType>(bytes.getType());
  Value zeros = arith::ConstantOp::create(
      rewriter, loc,
      DenseElementsAttr::get(byteType, rewriter.getI8IntegerAttr(0)));
  return LLVM::CallIntrinsicOp::create(rewriter, loc, resultType,
                                       rewriter.getStringAttr(intrinsic),
                                       ValueRange{bytes, zeros})
      .getResult(0);
}

/// A pattern that knows the target's widest PSADBW.
template <typename OpTy> struct ByteSumPattern : OpRewritePattern<OpTy> {
  ByteSumPattern(MLIRContext *ctx, int64_t vectorBits)
      : OpRewritePattern<OpTy>(ctx), vectorBits(vectorBits) {}
  int64_t vectorBits;
};

struct ByteSumToPsadbw : ByteSumPattern<vector::MultiDimReductionOp> {
  using ByteSumPattern::ByteSumPattern;

  LogicalResult matchAndRewrite(vector::MultiDimReductionOp op,
                                PatternRewriter &rewriter) const override {
    VectorType sourceType = op.getSourceVectorType();
    auto resultType = dyn_cast<VectorType>(op.getDestType());
    if (op.getKind() != vector::CombiningKind::ADD || !resultType ||
        sourceType.getRank() != 2 || sourceType.getDimSize(1) != 8 ||
        sourceType.isScalable() || !sourceType.getElementType().isInteger(64))
      return rewriter.notifyMatchFailure(op, "not a sum of 8 i64 per lane");
    if (op.getReductionMask() != ArrayRef<bool>{false, true})
      return rewriter.notifyMatchFailure(op, "not over the inner dimension");
    int64_t lanes = sourceType.getDimSize(0);
    StringRef intrinsic = byteSumIntrinsic(lanes, vectorBits);
    if (intrinsic.empty())
      return rewriter.notifyMatchFailure(op, "no PSADBW of this width");
    Value bytes = groupedBytes(op.getSource());
    if (!bytes)
      return rewriter.notifyMatchFailure(op, "not zero-extended bytes");
    Value sums = psadbw(rewriter, op.getLoc(), intrinsic, bytes, resultType);
    if (!matchPattern(op.getAcc(), m_Zero()))
      sums = arith::AddIOp::create(rewriter, op.getLoc(), sums, op.getAcc());
    rewriter.replaceOp(op, sums);
    return success();
  }
};

/// The same sum after vector.multi_reduction's lowering (which
/// dq-vectorize-generics applies to every function): the 8 rows of
/// transpose(extui(bytes grouped 8 per lane)) added up by a tree of
/// arith.addi. The root of that tree becomes the PSADBW.
struct LoweredByteSumToPsadbw : ByteSumPattern<vector::TransposeOp> {
  using ByteSumPattern::ByteSumPattern;

  LogicalResult matchAndRewrite(vector::TransposeOp op,
                                PatternRewriter &rewriter) const override {
    VectorType type = op.getResultVectorType();
    if (op.getPermutation() != ArrayRef<int64_t>{1, 0} ||
        type.getDimSize(0) != 8 || type.isScalable() ||
        !type.getElementType().isInteger(64))
      return rewriter.notifyMatchFailure(op, "not 8 rows of i64");
    int64_t lanes = type.getDimSize(1);
    StringRef intrinsic = byteSumIntrinsic(lanes, vectorBits);
    Value bytes = groupedBytes(op.getVector());
    if (intrinsic.empty() || !bytes)
      return rewriter.notifyMatchFailure(op, "not grouped bytes");
    // Each row read once, by an extract whose only user is an addition.
    llvm::SmallPtrSet<Operation *, 8> rows;
    llvm::SmallBitVector positions(8);
    for (Operation *user : op->getUsers()) {
      auto extract = dyn_cast<vector::ExtractOp>(user);
      if (!extract || extract.getNumIndices() != 1 ||
          extract.getStaticPosition().front() == ShapedType::kDynamic ||
          !extract->hasOneUse() ||
          !isa<arith::AddIOp>(*extract->getUsers().begin()))
        return rewriter.notifyMatchFailure(op, "a row not added up");
      rows.insert(extract);
      positions.set(extract.getStaticPosition().front());
    }
    if (rows.size() != 8 || !positions.all())
      return rewriter.notifyMatchFailure(op, "not all 8 rows");
    // The root: up from one row through additions used once.
    Operation *root = *(*rows.begin())->getUsers().begin();
    while (root->hasOneUse() &&
           isa<arith::AddIOp>(*root->getUsers().begin()))
      root = *root->getUsers().begin();
    // The tree's leaves must be the 8 rows, each once.
    SmallVector<Value> pending = {root->getResult(0)};
    llvm::SmallPtrSet<Operation *, 8> leaves;
    while (!pending.empty()) {
      Value v = pending.pop_back_val();
      Operation *def = v.getDefiningOp();
      if (def && rows.contains(def)) {
        if (!leaves.insert(def).second)
          return rewriter.notifyMatchFailure(op, "a row added twice");
        continue;
      }
      auto add = dyn_cast_or_null<arith::AddIOp>(def);
      if (!add || (def != root && !def->hasOneUse()))
        return rewriter.notifyMatchFailure(op, "more than the rows added");
      pending.append({add.getLhs(), add.getRhs()});
    }
    if (leaves.size() != 8)
      return rewriter.notifyMatchFailure(op, "not every row added");
    rewriter.setInsertionPoint(root);
    rewriter.replaceOp(root, psadbw(rewriter, op.getLoc(), intrinsic, bytes,
                                    root->getResult(0).getType()));
    return success();
  }
};

struct DQX86ByteSumsPass
    : public mlir::dq::impl::DQX86ByteSumsBase<DQX86ByteSumsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (vectorBits != 128 && vectorBits != 256 && vectorBits != 512) {
      getOperation().emitError()
          << "dq-x86-byte-sums: vector-bits must be 128, 256 or 512 (got "
          << static_cast<int64_t>(vectorBits) << ")";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<ByteSumToPsadbw, LoweredByteSumToPsadbw>(&getContext(),
                                                          vectorBits);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
