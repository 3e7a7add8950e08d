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

Value zeros(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type element) {
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

/// The window of a dq.pack_bits: KW taps, left/right zero columns and the
/// dilation (one tap, no padding for a plain packing).
struct PackWindow {
  int64_t taps = 1, padLeft = 0, padRight = 0, dilation = 1;
  static PackWindow of(PackBitsOp op) {
    PackWindow w;
    if (std::optional<ArrayRef<int64_t>> window = op.getWindow()) {
      w.taps = (*window)[0];
      w.padLeft = (*window)[1];
      w.padRight = (*window)[2];
      w.dilation = (*window)[3];
    }
    return w;
  }
};

/// The codes of a windowed dq.pack_bits' window columns, [N, H, OW, KW * C]
/// (zero-padded row, one gather generic): what the plain packing then packs.
Value windowColumns(PatternRewriter &rewriter, PackBitsOp op) {
  PackWindow window = PackWindow::of(op);
  Location loc = op.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  auto codesType = op.getCodes().getType();
  ArrayRef<int64_t> shape = codesType.getShape();
  Type element = codesType.getElementType();
  Value padded =
      padWithZeros(rewriter, loc, op.getCodes(), {0, 0, window.padLeft, 0},
                   {0, 0, window.padRight, 0});
  int64_t columns = op.getPacked().getType().getDimSize(2);
  SmallVector<int64_t> tapsShape = {shape[0], shape[1], columns, window.taps,
                                    shape[3]};
  Value init = tensor::EmptyOp::create(rewriter, loc, tapsShape, element);
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> maps = {
      AffineMap::get(5, 0, {d(0), d(1), d(2) + d(3) * window.dilation, d(4)},
                     ctx),
      AffineMap::getMultiDimIdentityMap(5, ctx)};
  Value taps =
      linalg::GenericOp::create(rewriter, loc, TypeRange{init.getType()},
                                ValueRange{padded}, ValueRange{init}, maps,
                                SmallVector<IteratorType>(5, kParallel),
                                [](OpBuilder &b, Location l, ValueRange args) {
                                  linalg::YieldOp::create(b, l, args[0]);
                                })
          .getResult(0);
  return tensor::CollapseShapeOp::create(
      rewriter, loc,
      RankedTensorType::get(
          {shape[0], shape[1], columns, window.taps * shape[3]}, element),
      taps, ArrayRef<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
}

struct PackBitsLowering : OpRewritePattern<PackBitsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PackBitsOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getCodes().getType().hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value source = op.getWindow() ? windowColumns(rewriter, op) : op.getCodes();
    auto codesType = cast<RankedTensorType>(source.getType());
    auto type = op.getPacked().getType();
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
    Value padded = padWithZeros(rewriter, loc, source, low, high);
    SmallVector<int64_t> split(codesType.getShape());
    split.back() = words;
    split.push_back(bitsPerWord);
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d + 1 < rank; ++d)
      groups.push_back({d});
    groups.push_back({rank - 1, rank});
    Value codes = tensor::ExpandShapeOp::create(
        rewriter, loc, RankedTensorType::get(split, codesType.getElementType()),
        padded, groups);

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
    SmallVector<AffineMap> maps = {
        AffineMap::get(numDims, 0, codeIndex, ctx),
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

/// CPU form of dq.pack_bits for codes of rank >= 3: per row (threads over
/// the leading dimensions), a loop over pixels in which each word of a
/// plane is one vector compare per piece of up to 64 codes and a
/// mask-to-integer bitcast (VPTESTMB + KMOVQ with AVX-512, VPCMPEQB +
/// VPMOVMSKB with AVX2).
/// With a window, a word's pieces are read straight from the KW taps of
/// the row (zero-padded along W), so the window columns never exist.
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
    PackWindow window = PackWindow::of(op);
    int64_t channels = codesType.getShape().back(), bits = op.getBits();
    int64_t positions = op.getPackedChannels();
    int64_t words = type.getShape().back(), perPixel = bits * words;
    int64_t inner = type.getShape()[rank - 2];

    // Zero columns around the row for a padded window (code 0, no bits).
    SmallVector<int64_t> low(rank, 0), high(rank, 0);
    low[rank - 2] = window.padLeft;
    high[rank - 2] = window.padRight;
    Value codes = padWithZeros(rewriter, loc, op.getCodes(), low, high);
    // One iteration per row (the leading dimensions). The result is written
    // in its own shape, so that a pad of it can become its destination
    // (dq-pads-as-destinations, empty-tensor elimination).
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(), i64);
    SmallVector<OpFoldResult> rows;
    for (int64_t d = 0; d + 2 < rank; ++d)
      rows.push_back(rewriter.getIndexAttr(codesType.getShape()[d]));
    auto forall = scf::ForallOp::create(rewriter, loc, rows, ValueRange{init},
                                        std::nullopt);
    Block *body = forall.getBody();
    OpBuilder b = OpBuilder::atBlockBegin(body);
    SmallVector<Value> row = forall.getInductionVars();
    Value shared = forall.getRegionIterArgs()[0];
    auto oneI = b.getIndexAttr(1), zeroI = b.getIndexAttr(0);
    SmallVector<OpFoldResult> offsets(rank + 1, zeroI), sizes(rank + 1, oneI);
    for (int64_t d = 0; d + 2 < rank; ++d)
      offsets[d] = row[d];
    sizes[rank - 2] = b.getIndexAttr(inner);
    sizes[rank - 1] = b.getIndexAttr(bits);
    sizes[rank] = b.getIndexAttr(words);
    SmallVector<OpFoldResult> strides(rank + 1, oneI);
    auto sliceType = RankedTensorType::get({inner, bits, words}, i64);
    Value slice = tensor::ExtractSliceOp::create(b, loc, sliceType, shared,
                                                 offsets, sizes, strides);
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
            // Positions [64w, end) of the word, as pieces within one tap.
            int64_t begin = 64 * w, end = std::min(positions, 64 * w + 64);
            auto full = VectorType::get({64}, lb.getI1Type());
            SmallVector<Value> masks(
                bits, arith::ConstantOp::create(
                          lb, l, DenseElementsAttr::get(full, false)));
            for (int64_t from = begin; from < end;) {
              int64_t tap = from / channels, channel = from % channels;
              int64_t count = std::min(end - from, channels - channel);
              auto vecType = VectorType::get({count}, element);
              Value column = arith::AddIOp::create(
                  lb, l, pixel,
                  arith::ConstantIndexOp::create(lb, l, tap * window.dilation));
              SmallVector<Value> at(row.begin(), row.end());
              at.append(
                  {column, arith::ConstantIndexOp::create(lb, l, channel)});
              Value v = vector::TransferReadOp::create(
                  lb, l, vecType, codes, at, zeroCode, ArrayRef<bool>{true});
              for (int64_t k = 0; k < bits; ++k) {
                Value bit = arith::ConstantOp::create(
                    lb, l,
                    DenseElementsAttr::get(
                        vecType, lb.getIntegerAttr(element, int64_t(1) << k)));
                Value none = arith::ConstantOp::create(
                    lb, l,
                    DenseElementsAttr::get(vecType,
                                           lb.getIntegerAttr(element, 0)));
                Value piece = arith::CmpIOp::create(
                    lb, l, arith::CmpIPredicate::ne,
                    arith::AndIOp::create(lb, l, v, bit), none);
                masks[k] = count == 64 ? piece
                                       : vector::InsertStridedSliceOp::create(
                                             lb, l, piece, masks[k],
                                             ArrayRef<int64_t>{from - begin},
                                             ArrayRef<int64_t>{1})
                                             .getResult();
              }
              from += count;
            }
            for (int64_t k = 0; k < bits; ++k) {
              Value asWord = vector::BitCastOp::create(
                  lb, l, VectorType::get({1}, i64), masks[k]);
              packed[k * words + w] =
                  vector::ExtractOp::create(lb, l, asWord, 0);
            }
          }
          Value written = iter[0];
          for (int64_t k = 0; k < bits; ++k) {
            Value plane = vector::FromElementsOp::create(
                lb, l, VectorType::get({words}, i64),
                ArrayRef<Value>(packed).slice(k * words, words));
            written =
                vector::TransferWriteOp::create(
                    lb, l, plane, written,
                    ValueRange{pixel, arith::ConstantIndexOp::create(lb, l, k),
                               zeroIdx},
                    ArrayRef<bool>{true})
                    .getResult();
          }
          scf::YieldOp::create(lb, l, written);
        });
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, loop.getResult(0), shared,
                                          offsets, sizes, strides);
    rewriter.replaceOp(op, forall.getResult(0));
    return success();
  }
};

/// What both lowerings of dq.bitserial_conv2d share: the geometry, the
/// zero-padded input, the weights with output channels innermost, and the
/// three generics (popcount sums P and Q, then their float combination),
/// built over the output pixels of the whole batch ({n, oh, ow}) or of one
/// row ({ow}, reading the row's window of the padded input).
struct BitserialConv {
  MLIRContext *ctx;
  Type i64, f32;
  int64_t n, oh, ow, channels, kh, kw, bits, words, actBits;
  ArrayRef<int64_t> pad, stride, dilation;
  Value input;  ///< [N, H + pads, W + pads, Ka, words], zeros around
  Value weight; ///< [KH, KW, K, words, O]
  Value weightBasis, bias;
  SmallVector<Value> actBasis; ///< u[j] as scalars

  static FailureOr<BitserialConv> prepare(BitserialConv2DOp op,
                                          PatternRewriter &rewriter) {
    auto inputType = op.getInput().getType();
    auto weightType = op.getWeight().getType();
    auto resultType = op.getResult().getType();
    if (!inputType.hasStaticShape() || !resultType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    Location loc = op.getLoc();
    BitserialConv c;
    c.weightBasis = op.getWeightBasis();
    c.bias = op.getBias();
    c.ctx = rewriter.getContext();
    c.i64 = rewriter.getI64Type();
    c.f32 = rewriter.getF32Type();
    c.n = resultType.getDimSize(0);
    c.oh = resultType.getDimSize(1);
    c.ow = resultType.getDimSize(2);
    c.channels = resultType.getDimSize(3);
    c.kh = weightType.getDimSize(1);
    c.kw = weightType.getDimSize(2);
    c.bits = weightType.getDimSize(3);
    c.words = weightType.getDimSize(4);
    c.actBits = inputType.getDimSize(3);
    c.pad = op.getPad();
    c.stride = op.getStride();
    c.dilation = op.getDilation();
    // Zero padding: code 0 has no bits, so padded positions add nothing.
    c.input = padWithZeros(rewriter, loc, op.getInput(),
                           {0, c.pad[0], c.pad[2], 0, 0},
                           {0, c.pad[1], c.pad[3], 0, 0});
    Value weightInit = tensor::EmptyOp::create(
        rewriter, loc,
        ArrayRef<int64_t>{c.kh, c.kw, c.bits, c.words, c.channels}, c.i64);
    c.weight =
        linalg::TransposeOp::create(rewriter, loc, op.getWeight(), weightInit,
                                    ArrayRef<int64_t>{1, 2, 3, 4, 0})
            .getResult()[0];
    for (int64_t j = 0; j < c.actBits; ++j) {
      Value index = arith::ConstantIndexOp::create(rewriter, loc, j);
      c.actBasis.push_back(
          tensor::ExtractOp::create(rewriter, loc, op.getActBasis(), index));
    }
    return c;
  }

  AffineExpr dim(unsigned i) const { return getAffineDimExpr(i, ctx); }

  /// The output pixels the generics run over.
  SmallVector<int64_t> pixelShape(bool wholeBatch) const {
    if (wholeBatch)
      return {n, oh, ow};
    return {ow};
  }

  /// The input word read for output pixel `pixels`, window tap (kh, kw),
  /// plane j and word w: `source` is the padded input (whole batch) or the
  /// [span, W + pads, Ka, words] window of one output row.
  SmallVector<AffineExpr> windowAccess(ArrayRef<AffineExpr> pixels,
                                       AffineExpr tapH, AffineExpr tapW,
                                       AffineExpr j, AffineExpr w) const {
    SmallVector<AffineExpr> access;
    if (pixels.size() == 3)
      access = {pixels[0], pixels[1] * stride[0] + tapH * dilation[0]};
    else
      access = {tapH * dilation[0]};
    access.append({pixels.back() * stride[1] + tapW * dilation[1], j, w});
    return access;
  }

  /// The loop dimensions of the output pixels, the first loops of a generic.
  SmallVector<AffineExpr> pixelDims(ArrayRef<int64_t> shape) const {
    SmallVector<AffineExpr> pixels;
    for (unsigned i = 0; i < shape.size(); ++i)
      pixels.push_back(dim(i));
    return pixels;
  }

  /// Q[pixels, j] = sum_{kh, kw, w} popc(A), exact integers.
  Value inputPopcounts(OpBuilder &b, Location loc, Value source,
                       bool wholeBatch) const {
    SmallVector<int64_t> shape = pixelShape(wholeBatch);
    unsigned lead = shape.size();
    SmallVector<AffineExpr> pixels = pixelDims(shape);
    // Loops (pixels, j, kh, kw, w). An unread [KH, KW] operand gives the
    // window loops their extent, as the window of linalg's pooling ops does.
    AffineExpr j = dim(lead), tapH = dim(lead + 1), tapW = dim(lead + 2),
               w = dim(lead + 3);
    SmallVector<int64_t> onesShape(shape);
    onesShape.push_back(actBits);
    SmallVector<AffineExpr> onesIndex(pixels);
    onesIndex.push_back(j);
    Value window =
        tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{kh, kw}, i64);
    SmallVector<AffineMap> onesMaps = {
        AffineMap::get(lead + 4, 0, windowAccess(pixels, tapH, tapW, j, w),
                       ctx),
        AffineMap::get(lead + 4, 0, {tapH, tapW}, ctx),
        AffineMap::get(lead + 4, 0, onesIndex, ctx)};
    SmallVector<IteratorType> onesIterators(lead + 1, kParallel);
    onesIterators.append({kReduction, kReduction, kReduction});
    Value onesInit = zeros(b, loc, onesShape, i64);
    Value ones =
        linalg::GenericOp::create(
            b, loc, TypeRange{onesInit.getType()}, ValueRange{source, window},
            ValueRange{onesInit}, onesMaps, onesIterators,
            [&](OpBuilder &nb, Location l, ValueRange args) {
              linalg::YieldOp::create(
                  nb, l,
                  ValueRange{arith::AddIOp::create(
                      nb, l, args[2], math::CtPopOp::create(nb, l, args[0]))});
            })
            .getResult(0);
    return ones;
  }

  /// P[n, oh, ow, k, j, o] = sum_{kh, kw, w} popc(W & A) and Q[n, oh, ow,
  /// j] = sum_{kh, kw, w} popc(A) over the whole batch, exact integers.
  std::pair<Value, Value> popcountSums(OpBuilder &b, Location loc) const {
    SmallVector<int64_t> shape = pixelShape(/*wholeBatch=*/true);
    unsigned lead = shape.size();
    SmallVector<AffineExpr> pixels = pixelDims(shape);

    // Loops (pixels, k, j, kh, kw, w, o): output channels innermost.
    AffineExpr k = dim(lead), j = dim(lead + 1), tapH = dim(lead + 2),
               tapW = dim(lead + 3), w = dim(lead + 4), o = dim(lead + 5);
    SmallVector<int64_t> productsShape(shape);
    productsShape.append({bits, actBits, channels});
    SmallVector<AffineExpr> productsIndex(pixels);
    productsIndex.append({k, j, o});
    SmallVector<AffineMap> productMaps = {
        AffineMap::get(lead + 6, 0, windowAccess(pixels, tapH, tapW, j, w),
                       ctx),
        AffineMap::get(lead + 6, 0, {tapH, tapW, k, w, o}, ctx),
        AffineMap::get(lead + 6, 0, productsIndex, ctx)};
    SmallVector<IteratorType> productIterators(lead + 2, kParallel);
    productIterators.append({kReduction, kReduction, kReduction, kParallel});
    Value productsInit = zeros(b, loc, productsShape, i64);
    Value products =
        linalg::GenericOp::create(
            b, loc, TypeRange{productsInit.getType()},
            ValueRange{input, weight}, ValueRange{productsInit}, productMaps,
            productIterators,
            [&](OpBuilder &nb, Location l, ValueRange args) {
              Value both = arith::AndIOp::create(nb, l, args[0], args[1]);
              linalg::YieldOp::create(
                  nb, l,
                  ValueRange{arith::AddIOp::create(
                      nb, l, args[2], math::CtPopOp::create(nb, l, both))});
            })
            .getResult(0);

    return {products, inputPopcounts(b, loc, input, /*wholeBatch=*/true)};
  }

  /// init := bias + sum_k sum_j v[o, k] u[j] (2 P - Q), k outer, j inner:
  /// one elementwise generic over (pixels, o) reading the K * Ka planes of
  /// P (the short sums over k and j are unrolled; a reduction loop would
  /// only add loop overhead to every output).
  Value combine(OpBuilder &b, Location loc, Value products, Value ones,
                Value init, bool wholeBatch) const {
    SmallVector<int64_t> shape = pixelShape(wholeBatch);
    unsigned lead = shape.size(), rank = lead + 1;
    SmallVector<AffineExpr> pixels;
    for (unsigned i = 0; i < lead; ++i)
      pixels.push_back(dim(i));
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    auto slice = [&](Value source, ArrayRef<int64_t> planes,
                     bool perChannel) -> Value {
      SmallVector<int64_t> offsets(lead, 0), sizes(shape);
      SmallVector<int64_t> sliceShape(shape);
      for (int64_t plane : planes) {
        offsets.push_back(plane);
        sizes.push_back(1);
      }
      if (perChannel) {
        offsets.push_back(0);
        sizes.push_back(channels);
        sliceShape.push_back(channels);
      }
      SmallVector<int64_t> strides(offsets.size(), 1);
      return tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get(sliceShape, i64), source, ValueRange{},
          ValueRange{}, ValueRange{}, b.getDenseI64ArrayAttr(offsets),
          b.getDenseI64ArrayAttr(sizes), b.getDenseI64ArrayAttr(strides));
    };
    SmallVector<Value> inputs = {bias};
    SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, {dim(lead)}, ctx)};
    for (int64_t k = 0; k < bits; ++k)
      for (int64_t j = 0; j < actBits; ++j) {
        inputs.push_back(slice(products, {k, j}, /*perChannel=*/true));
        maps.push_back(identity);
      }
    for (int64_t j = 0; j < actBits; ++j) {
      inputs.push_back(slice(ones, {j}, /*perChannel=*/false));
      maps.push_back(AffineMap::get(rank, 0, pixels, ctx));
    }
    // v[:, k] as K inputs indexed by o; u[j] as scalars.
    for (int64_t k = 0; k < bits; ++k) {
      inputs.push_back(weightBasis);
      maps.push_back(AffineMap::get(
          rank, 0, {dim(lead), getAffineConstantExpr(k, ctx)}, ctx));
    }
    maps.push_back(identity);
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
               maps, SmallVector<IteratorType>(rank, kParallel),
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
  }
};

/// CPU kernel of dq.bitserial_conv2d: one scf.forall iteration per output
/// row (n, oh) (threads over the batch and the rows, so batch 1 uses every
/// core too). In a row, for each chunk of output channels (one vector of
/// i64 lanes) and each block of pixels, the K x Ka popcount sums of the
/// block are loop-carried vectors, i.e. registers: per window tap and word
/// the K weight vectors are loaded once and serve every pixel and plane of
/// the block (broadcast activation words). The sums are combined with the
/// per-channel coefficients v[o, k] u[j] and written into the output row:
/// no buffer of sums exists. Q (the popcounts of the activation planes) is
/// one small generic per row.
///
/// With byte counts (x86 without VPOPCNTQ) the sums are bytes: each nibble
/// of W & A is counted by one table lookup (VPSHUFB; the weights' nibbles
/// are masked, so LLVM knows the index has 4 bits), the low nibbles
/// against the activation word and the high ones against the word shifted
/// right by 4 (computed once per layer), and the byte counts add up over
/// the window (at most 8 per word: at most 31 words). A reduction of each
/// lane's 8 bytes per sum and pixel follows (one PSADBW on x86, by
/// dq-x86-byte-sums).
struct BitserialConv2DRowKernel : OpRewritePattern<BitserialConv2DOp> {
  BitserialConv2DRowKernel(MLIRContext *ctx, const BitSerialLowering &options)
      : OpRewritePattern(ctx, /*benefit=*/2), lanes(options.vectorBits / 64),
        registers(options.vectorRegisters), byteCounts(options.byteCounts) {}

  /// Words a byte count can add up: 8 bits each, at most 255.
  static constexpr int64_t kMaxByteCountWords = 255 / 8;

  /// Pixels per block: the B x K x Ka sums, the weight vectors (K, or 2K
  /// nibble halves with byte counts), a broadcast word and a product fit
  /// the vector registers; a block that divides the row avoids a tail of
  /// single pixels.
  int64_t pixelBlock(const BitserialConv &c, bool bytes) const {
    int64_t planes = c.bits * c.actBits;
    int64_t fixed = bytes ? 2 * c.bits + 4 : c.bits + 2;
    int64_t most = std::clamp<int64_t>((registers - fixed) / planes, 1, 8);
    most = std::min(most, c.ow);
    for (int64_t b = most; 2 * b >= most; --b)
      if (c.ow % b == 0)
        return b;
    return most;
  }

  LogicalResult matchAndRewrite(BitserialConv2DOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<BitserialConv> conv = BitserialConv::prepare(op, rewriter);
    if (failed(conv))
      return failure();
    const BitserialConv &c = *conv;
    Location loc = op.getLoc();
    int64_t span = c.dilation[0] * (c.kh - 1) + 1;
    int64_t paddedWidth =
        op.getInput().getType().getDimSize(2) + c.pad[2] + c.pad[3];
    // Byte counts also keep the weights' nibble halves in registers: where
    // one pixel's sums and those do not fit (W4A4 with 16 registers), the
    // i64 form, which spills less, was faster.
    int64_t planes = c.bits * c.actBits;
    bool bytes = byteCounts && c.kh * c.kw * c.words <= kMaxByteCountWords &&
                 planes + 2 * c.bits + 4 <= registers;
    int64_t block = pixelBlock(c, bytes);
    int64_t chunks = llvm::divideCeil(c.channels, lanes);
    // A partial last chunk reads zero weights past O and writes only O.
    bool inBounds = c.channels % lanes == 0;
    auto sumType = VectorType::get({lanes}, c.i64);
    auto countType = VectorType::get({lanes}, rewriter.getI32Type());
    auto floatType = VectorType::get({lanes}, c.f32);
    auto byteType = VectorType::get({lanes * 8}, rewriter.getI8Type());
    // A lane's 8 byte counts, grouped, and widened to be summed.
    auto byteGroupType = VectorType::get({lanes, 8}, rewriter.getI8Type());
    auto wideGroupType = VectorType::get({lanes, 8}, c.i64);
    // The input words shifted right by 4: their low nibbles are the high
    // nibbles of the words, what the weights' high nibbles meet.
    Value shiftedInput;
    if (bytes) {
      auto inputType = cast<RankedTensorType>(c.input.getType());
      AffineMap identity =
          AffineMap::getMultiDimIdentityMap(inputType.getRank(), c.ctx);
      Value init = tensor::EmptyOp::create(rewriter, loc, inputType.getShape(),
                                           c.i64);
      shiftedInput =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{inputType}, ValueRange{c.input},
              ValueRange{init}, ArrayRef<AffineMap>{identity, identity},
              SmallVector<IteratorType>(inputType.getRank(), kParallel),
              [&](OpBuilder &nb, Location l, ValueRange args) {
                Value four = arith::ConstantOp::create(
                    nb, l, nb.getI64IntegerAttr(4));
                linalg::YieldOp::create(
                    nb, l,
                    ValueRange{arith::ShRUIOp::create(nb, l, args[0], four)});
              })
              .getResult(0);
    }

    // v as [K, O]: a chunk of one plane's coefficients is one vector read.
    Value basisInit = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<int64_t>{c.bits, c.channels}, c.f32);
    Value basisByPlane =
        linalg::TransposeOp::create(rewriter, loc, c.weightBasis, basisInit,
                                    ArrayRef<int64_t>{1, 0})
            .getResult()[0];
    Value resultInit = tensor::EmptyOp::create(
        rewriter, loc, op.getResult().getType().getShape(), c.f32);
    auto forall = scf::ForallOp::create(
        rewriter, loc,
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(c.n),
                               rewriter.getIndexAttr(c.oh)},
        ValueRange{resultInit}, std::nullopt);
    Block *body = forall.getBody();
    OpBuilder b = OpBuilder::atBlockBegin(body);
    Value image = body->getArgument(0), row = body->getArgument(1);
    Value shared = body->getArgument(2);
    auto index = [](OpBuilder &nb, Location l, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(nb, l, v);
    };
    Value firstRow =
        arith::MulIOp::create(b, loc, row, index(b, loc, c.stride[0]));
    auto oneI = b.getIndexAttr(1), zeroI = b.getIndexAttr(0);
    auto rowsOf = [&](Value input) -> Value {
      return tensor::ExtractSliceOp::create(
          b, loc,
          RankedTensorType::get({span, paddedWidth, c.actBits, c.words},
                                c.i64),
          input, ArrayRef<OpFoldResult>{image, firstRow, zeroI, zeroI, zeroI},
          ArrayRef<OpFoldResult>{
              oneI, b.getIndexAttr(span), b.getIndexAttr(paddedWidth),
              b.getIndexAttr(c.actBits), b.getIndexAttr(c.words)},
          ArrayRef<OpFoldResult>{oneI, oneI, oneI, oneI, oneI});
    };
    Value rows = rowsOf(c.input);
    Value shiftedRows = bytes ? rowsOf(shiftedInput) : Value();
    Value ones = c.inputPopcounts(b, loc, rows, /*wholeBatch=*/false);
    SmallVector<OpFoldResult> rowOffsets = {image, row, zeroI, zeroI};
    SmallVector<OpFoldResult> rowSizes = {oneI, oneI, b.getIndexAttr(c.ow),
                                          b.getIndexAttr(c.channels)};
    SmallVector<OpFoldResult> rowStrides(4, oneI);
    // The row of the shared result as the destination: bufferized in
    // place, the kernel writes straight into the output.
    Value rowInit = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({c.ow, c.channels}, c.f32), shared,
        rowOffsets, rowSizes, rowStrides);

    Value zeroF = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    Value zeroWord = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(0));
    Value zeroSums = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(sumType, b.getI64IntegerAttr(0)));
    Value oneShift = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(sumType, b.getI64IntegerAttr(1)));
    auto byteSplat = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(byteType, b.getI8IntegerAttr(v)));
    };
    Value zeroBytes, nibbleMask, nibbleShift;
    if (bytes) {
      zeroBytes = byteSplat(0);
      nibbleMask = byteSplat(0x0f);
      nibbleShift = byteSplat(4);
    }

    auto chunkLoop = scf::ForOp::create(
        b, loc, index(b, loc, 0), index(b, loc, chunks), index(b, loc, 1),
        ValueRange{rowInit},
        [&](OpBuilder &cb, Location l, Value chunk, ValueRange chunkIter) {
          Value firstChannel =
              arith::MulIOp::create(cb, l, chunk, index(cb, l, lanes));
          Value bias = vector::TransferReadOp::create(
              cb, l, floatType, c.bias, ValueRange{firstChannel}, zeroF,
              ArrayRef<bool>{inBounds});
          // coefficients[k * Ka + j] = v[o, k] u[j] for the chunk's o.
          SmallVector<Value> coefficients;
          for (int64_t k = 0; k < c.bits; ++k) {
            Value basis = vector::TransferReadOp::create(
                cb, l, floatType, basisByPlane,
                ValueRange{index(cb, l, k), firstChannel}, zeroF,
                ArrayRef<bool>{inBounds});
            for (int64_t j = 0; j < c.actBits; ++j)
              coefficients.push_back(
                  arith::MulFOp::create(cb, l, basis,
                                        vector::BroadcastOp::create(
                                            cb, l, floatType, c.actBasis[j])));
          }

          // `count` pixels from `first`: their sums over the window and the
          // words, combined and written into `rowTensor`.
          auto pixels = [&](OpBuilder &pb, Location pl, Value first,
                            int64_t count, Value rowTensor) -> Value {
            SmallVector<Value> init(count * planes,
                                    bytes ? zeroBytes : zeroSums);
            SmallVector<Value> lbs(3, index(pb, pl, 0));
            SmallVector<Value> ubs = {index(pb, pl, c.kh), index(pb, pl, c.kw),
                                      index(pb, pl, c.words)};
            SmallVector<Value> steps(3, index(pb, pl, 1));
            scf::LoopNest nest = scf::buildLoopNest(
                pb, pl, lbs, ubs, steps, init,
                [&](OpBuilder &nb, Location nl, ValueRange ivs,
                    ValueRange sums) -> scf::ValueVector {
                  Value tapH = ivs[0], tapW = ivs[1], word = ivs[2];
                  // Byte counts: the low and the high nibbles of each
                  // weight vector, as bytes.
                  SmallVector<Value> weights, weightsHigh;
                  for (int64_t k = 0; k < c.bits; ++k) {
                    Value weight = vector::TransferReadOp::create(
                        nb, nl, sumType, c.weight,
                        ValueRange{tapH, tapW, index(nb, nl, k), word,
                                   firstChannel},
                        zeroWord, ArrayRef<bool>{inBounds});
                    if (!bytes) {
                      weights.push_back(weight);
                      continue;
                    }
                    Value asBytes =
                        vector::BitCastOp::create(nb, nl, byteType, weight);
                    weights.push_back(
                        arith::AndIOp::create(nb, nl, asBytes, nibbleMask));
                    weightsHigh.push_back(arith::AndIOp::create(
                        nb, nl,
                        arith::ShRUIOp::create(nb, nl, asBytes, nibbleShift),
                        nibbleMask));
                  }
                  Value inputRow = arith::MulIOp::create(
                      nb, nl, tapH, index(nb, nl, c.dilation[0]));
                  Value tapColumn = arith::MulIOp::create(
                      nb, nl, tapW, index(nb, nl, c.dilation[1]));
                  scf::ValueVector next(sums.begin(), sums.end());
                  for (int64_t p = 0; p < count; ++p) {
                    Value pixel =
                        arith::AddIOp::create(nb, nl, first, index(nb, nl, p));
                    Value column = arith::AddIOp::create(
                        nb, nl,
                        arith::MulIOp::create(nb, nl, pixel,
                                              index(nb, nl, c.stride[1])),
                        tapColumn);
                    for (int64_t j = 0; j < c.actBits; ++j) {
                      SmallVector<Value> at = {inputRow, column,
                                               index(nb, nl, j), word};
                      auto broadcastOf = [&](Value source) -> Value {
                        Value splat = vector::BroadcastOp::create(
                            nb, nl, sumType,
                            tensor::ExtractOp::create(nb, nl, source, at));
                        if (!bytes)
                          return splat;
                        return vector::BitCastOp::create(nb, nl, byteType,
                                                         splat);
                      };
                      Value broadcast = broadcastOf(rows);
                      Value broadcastHigh =
                          bytes ? broadcastOf(shiftedRows) : Value();
                      for (int64_t k = 0; k < c.bits; ++k) {
                        Value &sum = next[(p * c.bits + k) * c.actBits + j];
                        auto addCount = [&](Value weight, Value activation) {
                          sum = arith::AddIOp::create(
                              nb, nl, sum,
                              math::CtPopOp::create(
                                  nb, nl,
                                  arith::AndIOp::create(nb, nl, weight,
                                                        activation)));
                        };
                        addCount(weights[k], broadcast);
                        if (bytes)
                          addCount(weightsHigh[k], broadcastHigh);
                      }
                    }
                  }
                  return next;
                });
            SmallVector<Value> sums(nest.results);
            // A lane's 8 byte counts summed: what dq-x86-byte-sums makes
            // one PSADBW.
            if (bytes)
              for (Value &sum : sums) {
                Value groups =
                    vector::ShapeCastOp::create(pb, pl, byteGroupType, sum);
                Value wide =
                    arith::ExtUIOp::create(pb, pl, wideGroupType, groups);
                sum = vector::MultiDimReductionOp::create(
                    pb, pl, wide, zeroSums, ArrayRef<bool>{false, true},
                    vector::CombiningKind::ADD);
              }
            for (int64_t p = 0; p < count; ++p) {
              Value pixel =
                  arith::AddIOp::create(pb, pl, first, index(pb, pl, p));
              // bias + sum_k sum_j v[o, k] u[j] (2 P - Q), k outer, j inner.
              Value acc = bias;
              for (int64_t k = 0; k < c.bits; ++k)
                for (int64_t j = 0; j < c.actBits; ++j) {
                  Value q = vector::BroadcastOp::create(
                      pb, pl, sumType,
                      tensor::ExtractOp::create(
                          pb, pl, ones, ValueRange{pixel, index(pb, pl, j)}));
                  Value twice = arith::ShLIOp::create(
                      pb, pl, sums[(p * c.bits + k) * c.actBits + j], oneShift);
                  // |2 P - Q| <= KH KW words 64 fits i32 and f32 exactly.
                  Value difference = arith::SIToFPOp::create(
                      pb, pl, floatType,
                      arith::TruncIOp::create(
                          pb, pl, countType,
                          arith::SubIOp::create(pb, pl, twice, q)));
                  acc = vector::FMAOp::create(
                      pb, pl, coefficients[k * c.actBits + j], difference, acc);
                }
              rowTensor =
                  vector::TransferWriteOp::create(
                      pb, pl, acc, rowTensor, ValueRange{pixel, firstChannel},
                      ArrayRef<bool>{inBounds})
                      .getResult();
            }
            return rowTensor;
          };

          int64_t whole = c.ow / block;
          auto blocks = scf::ForOp::create(
              cb, l, index(cb, l, 0), index(cb, l, whole * block),
              index(cb, l, block), ValueRange{chunkIter[0]},
              [&](OpBuilder &bb, Location bl, Value first, ValueRange iter) {
                scf::YieldOp::create(bb, bl,
                                     pixels(bb, bl, first, block, iter[0]));
              });
          Value rowTensor = blocks.getResult(0);
          if (whole * block < c.ow) {
            auto tail = scf::ForOp::create(
                cb, l, index(cb, l, whole * block), index(cb, l, c.ow),
                index(cb, l, 1), ValueRange{rowTensor},
                [&](OpBuilder &bb, Location bl, Value first, ValueRange iter) {
                  scf::YieldOp::create(bb, bl,
                                       pixels(bb, bl, first, 1, iter[0]));
                });
            rowTensor = tail.getResult(0);
          }
          scf::YieldOp::create(cb, l, rowTensor);
        });
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, chunkLoop.getResult(0),
                                          shared, rowOffsets, rowSizes,
                                          rowStrides);
    rewriter.replaceOp(op, forall.getResult(0));
    return success();
  }

private:
  int64_t lanes, registers;
  bool byteCounts;
};

/// The whole batch at once: P and Q for every output element, then one
/// elementwise combination (what GPU launches map onto threads).
struct BitserialConv2DWholeLowering : OpRewritePattern<BitserialConv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BitserialConv2DOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<BitserialConv> conv = BitserialConv::prepare(op, rewriter);
    if (failed(conv))
      return failure();
    Location loc = op.getLoc();
    auto [products, ones] = conv->popcountSums(rewriter, loc);
    Value init = tensor::EmptyOp::create(
        rewriter, loc, op.getResult().getType().getShape(), conv->f32);
    rewriter.replaceOp(op, conv->combine(rewriter, loc, products, ones, init,
                                         /*wholeBatch=*/true));
    return success();
  }
};

} // namespace

void mlir::dq::populateBitSerialToLinalgPatterns(
    RewritePatternSet &patterns, const BitSerialLowering &bitSerial) {
  // The vector forms first where they apply (higher benefit); the generic
  // ones are the fallbacks and the GPU form.
  patterns.add<PackBitsLowering>(patterns.getContext());
  if (bitSerial.rows) {
    patterns.add<PackBitsRowsLowering>(patterns.getContext(),
                                       /*benefit=*/2);
    patterns.add<BitserialConv2DRowKernel>(patterns.getContext(), bitSerial);
  } else {
    patterns.add<BitserialConv2DWholeLowering>(patterns.getContext());
  }
}
