//===- BitSerial.cpp - dq.pack_bits and dq.bitserial_conv2d to linalg -----===//
//
// The inference ops on bit-planes become linalg.generic ops on i64 words:
// AND + ctpop reductions accumulated in exact integers, then the K x Ka
// float combination. Output channels are the innermost loop of the
// contraction so that dq-vectorize-generics turns it into vector AND and
// vector ctpop over output channels (LLVM lowers a vector ctpop to the
// target's best sequence: VPOPCNTQ with AVX-512 VPOPCNTDQ, a nibble-table
// VPSHUFB popcount with AVX2).
//
//===----------------------------------------------------------------------===//

#include "dq/Conversion/Passes.h"

#include "dialects/dq/DQOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::dq;

namespace {

using utils::IteratorType;
constexpr IteratorType kParallel = IteratorType::parallel;
constexpr IteratorType kReduction = IteratorType::reduction;

Value zeros(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
            Type element) {
  Value empty = tensor::EmptyOp::create(b, loc, shape, element);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// `value` padded with zeros by `low`/`high` elements per dimension.
Value padWithZeros(OpBuilder &b, Location loc, Value value,
                   ArrayRef<int64_t> low, ArrayRef<int64_t> high) {
  if (llvm::all_of(low, [](int64_t v) { return v == 0; }) &&
      llvm::all_of(high, [](int64_t v) { return v == 0; }))
    return value;
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  SmallVector<OpFoldResult> lowSizes, highSizes;
  for (size_t d = 0; d < shape.size(); ++d) {
    shape[d] += low[d] + high[d];
    lowSizes.push_back(b.getIndexAttr(low[d]));
    highSizes.push_back(b.getIndexAttr(high[d]));
  }
  Value zero =
      arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
  return tensor::PadOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), value,
      lowSizes, highSizes, zero);
}

struct PackBitsLowering : OpRewritePattern<PackBitsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackBitsOp op,
                                PatternRewriter &rewriter) const override {
    auto codesType = op.getCodes().getType();
    auto type = op.getPacked().getType();
    if (!codesType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    int64_t rank = codesType.getRank();
    int64_t words = type.getShape().back();
    // Channels padded to whole words with code 0 (bits past C are 0), then
    // [..., words * 64] as [..., words, 64], so every loop is a plain
    // dimension of some operand. One word needs no padding: its bit loop
    // just runs over the C channels.
    int64_t channels = codesType.getShape().back();
    int64_t bitsPerWord = words == 1 ? channels : 64;
    SmallVector<int64_t> low(rank, 0), high(rank, 0);
    high.back() = words * bitsPerWord - channels;
    Value padded = padWithZeros(rewriter, loc, op.getCodes(), low, high);
    SmallVector<int64_t> split(codesType.getShape());
    split.back() = words;
    split.push_back(bitsPerWord);
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d + 1 < rank; ++d)
      groups.push_back({d});
    groups.push_back({rank - 1, rank});
    Value codes = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get(split, codesType.getElementType()), padded,
        groups);

    // Loops (d..., k, w, b): b, the bit in the word, is the reduction.
    unsigned numDims = rank + 2;
    SmallVector<AffineExpr> codeIndex, packedIndex;
    for (int64_t d = 0; d + 1 < rank; ++d) {
      codeIndex.push_back(getAffineDimExpr(d, ctx));
      packedIndex.push_back(getAffineDimExpr(d, ctx));
    }
    AffineExpr k = getAffineDimExpr(rank - 1, ctx),
               w = getAffineDimExpr(rank, ctx),
               bit = getAffineDimExpr(rank + 1, ctx);
    codeIndex.push_back(w);
    codeIndex.push_back(bit);
    packedIndex.push_back(k);
    packedIndex.push_back(w);
    SmallVector<AffineMap> maps = {AffineMap::get(numDims, 0, codeIndex, ctx),
                                   AffineMap::get(numDims, 0, packedIndex, ctx)};
    SmallVector<IteratorType> iterators(numDims, kParallel);
    iterators.back() = kReduction;
    Type i64 = rewriter.getI64Type();
    Value init = zeros(rewriter, loc, type.getShape(), i64);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type}, ValueRange{codes}, ValueRange{init},
        maps, iterators, [&](OpBuilder &b, Location l, ValueRange args) {
          Value code = arith::ExtUIOp::create(b, l, i64, args[0]);
          Value plane = arith::IndexCastUIOp::create(
              b, l, i64, linalg::IndexOp::create(b, l, rank - 1));
          Value position = arith::IndexCastUIOp::create(
              b, l, i64, linalg::IndexOp::create(b, l, rank + 1));
          Value one = arith::ConstantOp::create(b, l, b.getI64IntegerAttr(1));
          Value bitOfCode = arith::AndIOp::create(
              b, l, arith::ShRUIOp::create(b, l, code, plane), one);
          Value placed = arith::ShLIOp::create(b, l, bitOfCode, position);
          linalg::YieldOp::create(
              b, l, ValueRange{arith::OrIOp::create(b, l, args[1], placed)});
        });
    generic->setAttr(kKeepScalarAttr, rewriter.getUnitAttr());
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// CPU form of dq.pack_bits for codes of rank >= 3: a loop over pixels in
/// which each word of a plane is one vector compare of up to 64 codes and a
/// mask-to-integer bitcast (VPTESTMB + KMOVQ with AVX-512, VPCMPEQB +
/// VPMOVMSKB with AVX2), threads over the leading dimensions.
struct PackBitsRowsLowering : OpRewritePattern<PackBitsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackBitsOp op,
                                PatternRewriter &rewriter) const override {
    auto codesType = op.getCodes().getType();
    auto type = op.getPacked().getType();
    int64_t rank = codesType.getRank();
    if (!codesType.hasStaticShape() || rank < 3)
      return rewriter.notifyMatchFailure(op, "needs static codes of rank 3+");
    Location loc = op.getLoc();
    Type element = codesType.getElementType();
    Type i64 = rewriter.getI64Type();
    ArrayRef<int64_t> shape = codesType.getShape();
    int64_t channels = shape.back(), bits = op.getBits();
    int64_t words = type.getShape().back(), perPixel = bits * words;
    int64_t outer = 1;
    for (int64_t d = 0; d + 2 < rank; ++d)
      outer *= shape[d];
    int64_t inner = shape[rank - 2];

    // [d..., W, C] as [outer, W, C].
    SmallVector<ReassociationIndices> groups;
    ReassociationIndices leading;
    for (int64_t d = 0; d + 2 < rank; ++d)
      leading.push_back(d);
    groups.push_back(leading);
    groups.push_back({rank - 2});
    groups.push_back({rank - 1});
    Value codes = tensor::CollapseShapeOp::create(rewriter, loc, op.getCodes(),
                                                  groups);
    Value init = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<int64_t>{outer, inner, perPixel}, i64);
    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(outer)},
        ValueRange{init}, std::nullopt);
    Block *body = forall.getBody();
    OpBuilder b = OpBuilder::atBlockBegin(body);
    Value a = body->getArgument(0), shared = body->getArgument(1);
    auto oneI = b.getIndexAttr(1), zeroI = b.getIndexAttr(0);
    auto sliceType = RankedTensorType::get({inner, perPixel}, i64);
    Value slice = tensor::ExtractSliceOp::create(
        b, loc, sliceType, shared, ArrayRef<OpFoldResult>{a, zeroI, zeroI},
        ArrayRef<OpFoldResult>{oneI, b.getIndexAttr(inner),
                               b.getIndexAttr(perPixel)},
        ArrayRef<OpFoldResult>{oneI, oneI, oneI});
    Value zeroIdx = arith::ConstantIndexOp::create(b, loc, 0);
    Value innerIdx = arith::ConstantIndexOp::create(b, loc, inner);
    Value oneIdx = arith::ConstantIndexOp::create(b, loc, 1);
    Value zeroCode =
        arith::ConstantOp::create(b, loc, b.getIntegerAttr(element, 0));
    auto loop = scf::ForOp::create(
        b, loc, zeroIdx, innerIdx, oneIdx, ValueRange{slice},
        [&](OpBuilder &lb, Location l, Value pixel, ValueRange iter) {
          SmallVector<Value> packed(perPixel);
          for (int64_t w = 0; w < words; ++w) {
            int64_t count = std::min<int64_t>(64, channels - 64 * w);
            auto vecType = VectorType::get({count}, element);
            Value first = arith::ConstantIndexOp::create(lb, l, 64 * w);
            Value v = vector::TransferReadOp::create(
                lb, l, vecType, codes, ValueRange{a, pixel, first}, zeroCode,
                ArrayRef<bool>{true});
            for (int64_t k = 0; k < bits; ++k) {
              Value bit = arith::ConstantOp::create(
                  lb, l,
                  DenseElementsAttr::get(
                      vecType, lb.getIntegerAttr(element, int64_t(1) << k)));
              Value none = arith::ConstantOp::create(
                  lb, l, DenseElementsAttr::get(vecType,
                                                lb.getIntegerAttr(element, 0)));
              Value mask = arith::CmpIOp::create(
                  lb, l, arith::CmpIPredicate::ne,
                  arith::AndIOp::create(lb, l, v, bit), none);
              if (count < 64) {
                auto full = VectorType::get({64}, lb.getI1Type());
                Value zeros = arith::ConstantOp::create(
                    lb, l, DenseElementsAttr::get(full, false));
                mask = vector::InsertStridedSliceOp::create(
                    lb, l, mask, zeros, ArrayRef<int64_t>{0},
                    ArrayRef<int64_t>{1});
              }
              Value asWord = vector::BitCastOp::create(
                  lb, l, VectorType::get({1}, i64), mask);
              packed[k * words + w] = vector::ExtractOp::create(lb, l, asWord, 0);
            }
          }
          Value all = vector::FromElementsOp::create(
              lb, l, VectorType::get({perPixel}, i64), packed);
          Value written = vector::TransferWriteOp::create(
                              lb, l, all, iter[0], ValueRange{pixel, zeroIdx},
                              ArrayRef<bool>{true})
                              .getResult();
          scf::YieldOp::create(lb, l, written);
        });
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(
        b, loc, loop.getResult(0), shared,
        ArrayRef<OpFoldResult>{a, zeroI, zeroI},
        ArrayRef<OpFoldResult>{oneI, b.getIndexAttr(inner),
                               b.getIndexAttr(perPixel)},
        ArrayRef<OpFoldResult>{oneI, oneI, oneI});
    // [outer, W, K * words] as [d..., W, K, words].
    SmallVector<ReassociationIndices> outGroups;
    outGroups.push_back(leading);
    outGroups.push_back({rank - 2});
    outGroups.push_back({rank - 1, rank});
    rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(
        op, type, forall.getResult(0), outGroups);
    return success();
  }
};

/// One output row per scf.forall iteration (CPU: the popcount sums stay
/// in cache).
struct BitserialConv2DLowering : OpRewritePattern<BitserialConv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BitserialConv2DOp op,
                                PatternRewriter &rewriter) const override {
    auto inputType = op.getInput().getType();
    auto weightType = op.getWeight().getType();
    auto resultType = op.getResult().getType();
    if (!inputType.hasStaticShape() || !resultType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Type i64 = rewriter.getI64Type(), f32 = rewriter.getF32Type();
    int64_t n = resultType.getDimSize(0), oh = resultType.getDimSize(1),
            ow = resultType.getDimSize(2), channels = resultType.getDimSize(3);
    int64_t kh = weightType.getDimSize(1), kw = weightType.getDimSize(2),
            bits = weightType.getDimSize(3), words = weightType.getDimSize(4);
    int64_t actBits = inputType.getDimSize(3);
    ArrayRef<int64_t> pad = op.getPad(), stride = op.getStride(),
                      dilation = op.getDilation();

    // Zero padding: code 0 has no bits, so padded positions add nothing.
    Value input = padWithZeros(rewriter, loc, op.getInput(),
                               {0, pad[0], pad[2], 0, 0},
                               {0, pad[1], pad[3], 0, 0});
    int64_t paddedWidth = inputType.getDimSize(2) + pad[2] + pad[3];
    int64_t span = dilation[0] * (kh - 1) + 1;
    // Weights [KH, KW, K, words, O]: output channels contiguous.
    Value weightInit = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<int64_t>{kh, kw, bits, words, channels}, i64);
    Value weight = linalg::TransposeOp::create(rewriter, loc, op.getWeight(),
                                               weightInit,
                                               ArrayRef<int64_t>{1, 2, 3, 4, 0})
                       .getResult()[0];
    SmallVector<Value> actBasis;
    for (int64_t j = 0; j < actBits; ++j) {
      Value index = arith::ConstantIndexOp::create(rewriter, loc, j);
      actBasis.push_back(tensor::ExtractOp::create(rewriter, loc,
                                                   op.getActBasis(), index));
    }

    // One output row (n, oh) per iteration: its popcount sums ([OW, K, Ka,
    // O] integers) stay in cache and never exist for the whole batch.
    Value resultInit =
        tensor::EmptyOp::create(rewriter, loc, resultType.getShape(), f32);
    auto forall = scf::ForallOp::create(
        rewriter, loc,
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(n),
                               rewriter.getIndexAttr(oh)},
        ValueRange{resultInit}, std::nullopt);
    Block *body = forall.getBody();
    OpBuilder b = OpBuilder::atBlockBegin(body);
    Value image = body->getArgument(0), row = body->getArgument(1);
    Value shared = body->getArgument(2);
    Value firstRow = arith::MulIOp::create(
        b, loc, row, arith::ConstantIndexOp::create(b, loc, stride[0]));
    auto oneI = b.getIndexAttr(1), zeroI = b.getIndexAttr(0);
    Value rows = tensor::ExtractSliceOp::create(
        b, loc,
        RankedTensorType::get({span, paddedWidth, actBits, words}, i64), input,
        ArrayRef<OpFoldResult>{image, firstRow, zeroI, zeroI, zeroI},
        ArrayRef<OpFoldResult>{oneI, b.getIndexAttr(span),
                               b.getIndexAttr(paddedWidth),
                               b.getIndexAttr(actBits), b.getIndexAttr(words)},
        ArrayRef<OpFoldResult>{oneI, oneI, oneI, oneI, oneI});

    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    auto ctpop = [](OpBuilder &nb, Location l, Value v) {
      return math::CtPopOp::create(nb, l, v);
    };

    // P[ow, k, j, o] = sum_{kh, kw, w} popc(W & A); loops (ow, k, j, kh,
    // kw, w, o).
    Value productsInit = zeros(b, loc, {ow, bits, actBits, channels}, i64);
    SmallVector<AffineMap> productMaps = {
        AffineMap::get(7, 0,
                       {d(3) * dilation[0], d(0) * stride[1] + d(4) * dilation[1],
                        d(2), d(5)},
                       ctx),
        AffineMap::get(7, 0, {d(3), d(4), d(1), d(5), d(6)}, ctx),
        AffineMap::get(7, 0, {d(0), d(1), d(2), d(6)}, ctx)};
    SmallVector<IteratorType> productIterators = {
        kParallel,  kParallel,  kParallel, kReduction,
        kReduction, kReduction, kParallel};
    Value products =
        linalg::GenericOp::create(
            b, loc, TypeRange{productsInit.getType()}, ValueRange{rows, weight},
            ValueRange{productsInit}, productMaps, productIterators,
            [&](OpBuilder &nb, Location l, ValueRange args) {
              Value both = arith::AndIOp::create(nb, l, args[0], args[1]);
              linalg::YieldOp::create(
                  nb, l,
                  ValueRange{arith::AddIOp::create(nb, l, args[2],
                                                   ctpop(nb, l, both))});
            })
            .getResult(0);

    // Q[ow, j] = sum_{kh, kw, w} popc(A); loops (ow, j, kh, kw, w). An
    // unread [KH, KW] operand gives the window loops their extent, as the
    // window of linalg's pooling ops does.
    Value onesInit = zeros(b, loc, {ow, actBits}, i64);
    Value window =
        tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{kh, kw}, i64);
    SmallVector<AffineMap> onesMaps = {
        AffineMap::get(5, 0,
                       {d(2) * dilation[0], d(0) * stride[1] + d(3) * dilation[1],
                        d(1), d(4)},
                       ctx),
        AffineMap::get(5, 0, {d(2), d(3)}, ctx),
        AffineMap::get(5, 0, {d(0), d(1)}, ctx)};
    SmallVector<IteratorType> onesIterators = {kParallel, kParallel, kReduction,
                                               kReduction, kReduction};
    Value ones =
        linalg::GenericOp::create(
            b, loc, TypeRange{onesInit.getType()}, ValueRange{rows, window},
            ValueRange{onesInit}, onesMaps, onesIterators,
            [&](OpBuilder &nb, Location l, ValueRange args) {
              linalg::YieldOp::create(
                  nb, l,
                  ValueRange{arith::AddIOp::create(nb, l, args[2],
                                                   ctpop(nb, l, args[0]))});
            })
            .getResult(0);

    // row = bias + sum_k sum_j v[o, k] u[j] (2 P - Q), k outer, j inner:
    // one elementwise generic over (ow, o) reading the K * Ka planes of P
    // (the short sums over k and j are unrolled).
    SmallVector<Value> inputs = {op.getBias()};
    SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {d(1)}, ctx)};
    AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
    auto slice = [&](Value source, ArrayRef<int64_t> offsets,
                     ArrayRef<int64_t> sizes, ArrayRef<int64_t> shape) {
      SmallVector<int64_t> strides(offsets.size(), 1);
      return tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get(shape, i64), source, ValueRange{},
          ValueRange{}, ValueRange{}, b.getDenseI64ArrayAttr(offsets),
          b.getDenseI64ArrayAttr(sizes), b.getDenseI64ArrayAttr(strides));
    };
    for (int64_t k = 0; k < bits; ++k)
      for (int64_t j = 0; j < actBits; ++j) {
        inputs.push_back(slice(products, {0, k, j, 0}, {ow, 1, 1, channels},
                               {ow, channels}));
        maps.push_back(identity);
      }
    for (int64_t j = 0; j < actBits; ++j) {
      inputs.push_back(slice(ones, {0, j}, {ow, 1}, {ow}));
      maps.push_back(AffineMap::get(2, 0, {d(0)}, ctx));
    }
    for (int64_t k = 0; k < bits; ++k) {
      inputs.push_back(op.getWeightBasis());
      maps.push_back(
          AffineMap::get(2, 0, {d(1), getAffineConstantExpr(k, ctx)}, ctx));
    }
    maps.push_back(identity);
    // The row of the shared result as the init: bufferized in place, the
    // combination writes straight into the output.
    Value rowInit = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({ow, channels}, f32), shared,
        ArrayRef<OpFoldResult>{image, row, zeroI, zeroI},
        ArrayRef<OpFoldResult>{oneI, oneI, b.getIndexAttr(ow),
                               b.getIndexAttr(channels)},
        ArrayRef<OpFoldResult>{oneI, oneI, oneI, oneI});
    Value rowResult =
        linalg::GenericOp::create(
            b, loc, TypeRange{rowInit.getType()}, inputs, ValueRange{rowInit},
            maps, SmallVector<IteratorType>(2, kParallel),
            [&](OpBuilder &nb, Location l, ValueRange args) {
              Value one =
                  arith::ConstantOp::create(nb, l, nb.getI64IntegerAttr(1));
              Value acc = args[0];
              for (int64_t k = 0; k < bits; ++k)
                for (int64_t j = 0; j < actBits; ++j) {
                  Value p = args[1 + k * actBits + j];
                  Value q = args[1 + bits * actBits + j];
                  Value v = args[1 + bits * actBits + actBits + k];
                  Value twice = arith::ShLIOp::create(nb, l, p, one);
                  Value count = arith::SIToFPOp::create(
                      nb, l, f32, arith::SubIOp::create(nb, l, twice, q));
                  Value coefficient =
                      arith::MulFOp::create(nb, l, v, actBasis[j]);
                  acc = arith::AddFOp::create(
                      nb, l, acc,
                      arith::MulFOp::create(nb, l, coefficient, count));
                }
              linalg::YieldOp::create(nb, l, ValueRange{acc});
            })
            .getResult(0);
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(
        b, loc, rowResult, shared,
        ArrayRef<OpFoldResult>{image, row, zeroI, zeroI},
        ArrayRef<OpFoldResult>{oneI, oneI, b.getIndexAttr(ow),
                               b.getIndexAttr(channels)},
        ArrayRef<OpFoldResult>{oneI, oneI, oneI, oneI});
    Value result = forall.getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// The whole batch at once: P and Q for every output element, then one
/// elementwise combination (what GPU launches map onto threads).
struct BitserialConv2DWholeLowering : OpRewritePattern<BitserialConv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BitserialConv2DOp op,
                                PatternRewriter &rewriter) const override {
    auto inputType = op.getInput().getType();
    auto weightType = op.getWeight().getType();
    auto resultType = op.getResult().getType();
    if (!inputType.hasStaticShape() || !resultType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Type i64 = rewriter.getI64Type(), f32 = rewriter.getF32Type();
    int64_t n = resultType.getDimSize(0), oh = resultType.getDimSize(1),
            ow = resultType.getDimSize(2), channels = resultType.getDimSize(3);
    int64_t kh = weightType.getDimSize(1), kw = weightType.getDimSize(2),
            bits = weightType.getDimSize(3), words = weightType.getDimSize(4);
    int64_t actBits = inputType.getDimSize(3);
    ArrayRef<int64_t> pad = op.getPad(), stride = op.getStride(),
                      dilation = op.getDilation();

    // Zero padding: code 0 has no bits, so padded positions add nothing.
    Value input = padWithZeros(rewriter, loc, op.getInput(),
                               {0, pad[0], pad[2], 0, 0},
                               {0, pad[1], pad[3], 0, 0});
    // Weights [KH, KW, K, words, O]: output channels contiguous.
    Value weightInit =
        tensor::EmptyOp::create(rewriter, loc,
                                ArrayRef<int64_t>{kh, kw, bits, words, channels},
                                i64);
    Value weight = linalg::TransposeOp::create(rewriter, loc, op.getWeight(),
                                               weightInit,
                                               ArrayRef<int64_t>{1, 2, 3, 4, 0})
                       .getResult()[0];

    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    auto ctpop = [](OpBuilder &b, Location l, Value v) {
      return math::CtPopOp::create(b, l, v);
    };

    // P[n, oh, ow, k, j, o] = sum_{kh, kw, w} popc(W & A).
    // Loops (n, oh, ow, k, j, kh, kw, w, o).
    Value productsInit =
        zeros(rewriter, loc, {n, oh, ow, bits, actBits, channels}, i64);
    SmallVector<AffineMap> productMaps = {
        AffineMap::get(9, 0,
                       {d(0), d(1) * stride[0] + d(5) * dilation[0],
                        d(2) * stride[1] + d(6) * dilation[1], d(4), d(7)},
                       ctx),
        AffineMap::get(9, 0, {d(5), d(6), d(3), d(7), d(8)}, ctx),
        AffineMap::get(9, 0, {d(0), d(1), d(2), d(3), d(4), d(8)}, ctx)};
    SmallVector<IteratorType> productIterators = {
        kParallel,  kParallel,  kParallel,  kParallel, kParallel,
        kReduction, kReduction, kReduction, kParallel};
    Value products =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{productsInit.getType()},
            ValueRange{input, weight}, ValueRange{productsInit}, productMaps,
            productIterators,
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value both = arith::AndIOp::create(b, l, args[0], args[1]);
              linalg::YieldOp::create(
                  b, l,
                  ValueRange{arith::AddIOp::create(b, l, args[2],
                                                   ctpop(b, l, both))});
            })
            .getResult(0);

    // Q[n, oh, ow, j] = sum_{kh, kw, w} popc(A). Loops (n, oh, ow, j, kh,
    // kw, w).
    // An unread [KH, KW] operand gives the window loops their extent, as
    // the window of linalg's pooling ops does.
    Value onesInit = zeros(rewriter, loc, {n, oh, ow, actBits}, i64);
    Value window =
        tensor::EmptyOp::create(rewriter, loc, ArrayRef<int64_t>{kh, kw}, i64);
    SmallVector<AffineMap> onesMaps = {
        AffineMap::get(7, 0,
                       {d(0), d(1) * stride[0] + d(4) * dilation[0],
                        d(2) * stride[1] + d(5) * dilation[1], d(3), d(6)},
                       ctx),
        AffineMap::get(7, 0, {d(4), d(5)}, ctx),
        AffineMap::get(7, 0, {d(0), d(1), d(2), d(3)}, ctx)};
    SmallVector<IteratorType> onesIterators = {kParallel,  kParallel,
                                               kParallel,  kParallel,
                                               kReduction, kReduction,
                                               kReduction};
    Value ones =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{onesInit.getType()},
            ValueRange{input, window}, ValueRange{onesInit}, onesMaps,
            onesIterators,
            [&](OpBuilder &b, Location l, ValueRange args) {
              linalg::YieldOp::create(
                  b, l,
                  ValueRange{arith::AddIOp::create(b, l, args[2],
                                                   ctpop(b, l, args[0]))});
            })
            .getResult(0);

    // result = bias + sum_k sum_j v[o, k] u[j] (2 P - Q), k outer, j inner,
    // one elementwise generic over the K * Ka planes of P (the sums over k
    // and j are unrolled: they are short, and a reduction loop would only
    // add loop overhead to every output).
    SmallVector<Value> inputs = {op.getBias()};
    SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {d(3)}, ctx)};
    AffineMap identity = AffineMap::getMultiDimIdentityMap(4, ctx);
    AffineMap pixels = AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx);
    auto slice = [&](Value source, ArrayRef<int64_t> offsets,
                     ArrayRef<int64_t> sizes, ArrayRef<int64_t> shape) {
      SmallVector<int64_t> strides(offsets.size(), 1);
      return tensor::ExtractSliceOp::create(
          rewriter, loc, RankedTensorType::get(shape, i64), source,
          ValueRange{}, ValueRange{}, ValueRange{},
          rewriter.getDenseI64ArrayAttr(offsets),
          rewriter.getDenseI64ArrayAttr(sizes),
          rewriter.getDenseI64ArrayAttr(strides));
    };
    for (int64_t k = 0; k < bits; ++k)
      for (int64_t j = 0; j < actBits; ++j) {
        inputs.push_back(slice(products, {0, 0, 0, k, j, 0},
                               {n, oh, ow, 1, 1, channels},
                               {n, oh, ow, channels}));
        maps.push_back(identity);
      }
    for (int64_t j = 0; j < actBits; ++j) {
      inputs.push_back(
          slice(ones, {0, 0, 0, j}, {n, oh, ow, 1}, {n, oh, ow}));
      maps.push_back(pixels);
    }
    // v[:, k] as K inputs indexed by o; u[j] as scalars.
    Value weightBasis = op.getWeightBasis();
    for (int64_t k = 0; k < bits; ++k) {
      inputs.push_back(weightBasis);
      maps.push_back(AffineMap::get(
          4, 0, {d(3), getAffineConstantExpr(k, ctx)}, ctx));
    }
    SmallVector<Value> actBasis;
    for (int64_t j = 0; j < actBits; ++j) {
      Value index = arith::ConstantIndexOp::create(rewriter, loc, j);
      actBasis.push_back(tensor::ExtractOp::create(rewriter, loc,
                                                   op.getActBasis(), index));
    }
    Value resultInit =
        tensor::EmptyOp::create(rewriter, loc, resultType.getShape(), f32);
    maps.push_back(identity);
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{resultType}, inputs,
            ValueRange{resultInit}, maps,
            SmallVector<IteratorType>(4, kParallel),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value one = arith::ConstantOp::create(b, l, b.getI64IntegerAttr(1));
              Value acc = args[0];
              for (int64_t k = 0; k < bits; ++k)
                for (int64_t j = 0; j < actBits; ++j) {
                  Value p = args[1 + k * actBits + j];
                  Value q = args[1 + bits * actBits + j];
                  Value v = args[1 + bits * actBits + actBits + k];
                  Value twice = arith::ShLIOp::create(b, l, p, one);
                  Value count = arith::SIToFPOp::create(
                      b, l, f32, arith::SubIOp::create(b, l, twice, q));
                  Value coefficient =
                      arith::MulFOp::create(b, l, v, actBasis[j]);
                  acc = arith::AddFOp::create(
                      b, l, acc, arith::MulFOp::create(b, l, coefficient, count));
                }
              linalg::YieldOp::create(b, l, ValueRange{acc});
            })
            .getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::dq::populateBitSerialToLinalgPatterns(RewritePatternSet &patterns,
                                                 bool tileRows) {
  // The vector form first where it applies (higher benefit); the generic
  // one is the fallback and the GPU form.
  patterns.add<PackBitsLowering>(patterns.getContext());
  if (tileRows) {
    patterns.add<PackBitsRowsLowering>(patterns.getContext(),
                                       /*benefit=*/2);
    patterns.add<BitserialConv2DLowering>(patterns.getContext());
  }
  else
    patterns.add<BitserialConv2DWholeLowering>(patterns.getContext());
}
