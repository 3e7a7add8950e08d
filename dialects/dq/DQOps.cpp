//===- DQOps.cpp - dq operations: verifiers -------------------------------===//

#include "dialects/dq/DQOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace mlir::dq;

#define GET_OP_CLASSES
#include "dialects/dq/DQOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shared checks
//===----------------------------------------------------------------------===//

/// `axis` must name a dimension of `type`.
static LogicalResult verifyAxis(Operation *op, int64_t axis,
                                RankedTensorType type, StringRef what) {
  if (axis < 0 || axis >= type.getRank())
    return op->emitOpError() << "axis " << axis << " is out of range for "
                             << what << " of rank " << type.getRank();
  return success();
}

static LogicalResult verifyNumBits(Operation *op, int64_t bits,
                                   StringRef where) {
  if (ShapedType::isDynamic(bits))
    return op->emitOpError() << where << " must have a static number of bits";
  if (bits < kMinBits || bits > kMaxBits)
    return op->emitOpError() << where << " has " << bits << " bits; expected "
                             << kMinBits << " to " << kMaxBits;
  return success();
}

/// Codes need an integer type with room for `bits` bits.
static LogicalResult verifyCodeType(Operation *op, RankedTensorType codes,
                                    int64_t bits) {
  unsigned width = codes.getElementType().getIntOrFloatBitWidth();
  if (width < bits)
    return op->emitOpError() << "code element type " << codes.getElementType()
                             << " cannot hold " << bits << "-bit codes";
  return success();
}

/// Static dimensions must agree.
static bool dimsDisagree(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

/// Checks a basis against its encoding: bipolar bases are
/// [channels x K] with channels == dim(axis) of `data`; unipolar bases have
/// K elements. Returns K through `bits`.
static LogicalResult verifyBasis(Operation *op, RankedTensorType basis,
                                 RankedTensorType data, int64_t axis,
                                 Encoding encoding, StringRef basisName,
                                 int64_t &bits) {
  if (encoding == Encoding::Bipolar) {
    if (basis.getRank() != 2)
      return op->emitOpError()
             << "bipolar " << basisName
             << " must be [channels x bits] (rank 2), got rank "
             << basis.getRank();
    if (dimsDisagree(basis.getDimSize(0), data.getDimSize(axis)))
      return op->emitOpError() << basisName << " has " << basis.getDimSize(0)
                               << " channels but dimension " << axis << " has "
                               << data.getDimSize(axis);
    bits = basis.getDimSize(1);
  } else {
    if (basis.getRank() != 1)
      return op->emitOpError()
             << "unipolar " << basisName << " must have rank 1, got rank "
             << basis.getRank();
    bits = basis.getDimSize(0);
  }
  return verifyNumBits(op, bits, basisName);
}

static LogicalResult verifySameShape(Operation *op, RankedTensorType a,
                                     RankedTensorType b, StringRef aName,
                                     StringRef bName) {
  if (a.getRank() != b.getRank())
    return op->emitOpError()
           << aName << " and " << bName << " must have the same rank, got "
           << a.getRank() << " and " << b.getRank();
  for (int64_t d = 0, e = a.getRank(); d < e; ++d)
    if (dimsDisagree(a.getDimSize(d), b.getDimSize(d)))
      return op->emitOpError()
             << aName << " and " << bName << " differ in dimension " << d
             << " (" << a.getDimSize(d) << " vs " << b.getDimSize(d) << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// DecodeWeightsOp
//===----------------------------------------------------------------------===//

unsigned DecodeWeightsOp::getNumBits() {
  return getBasis().getType().getDimSize(1);
}

LogicalResult DecodeWeightsOp::verify() {
  auto codes = getCodes().getType();
  auto basis = getBasis().getType();
  if (failed(verifyAxis(*this, getAxis(), codes, "codes")))
    return failure();
  int64_t bits;
  if (failed(verifyBasis(*this, basis, codes, getAxis(), Encoding::Bipolar,
                         "basis", bits)) ||
      failed(verifyCodeType(*this, codes, bits)) ||
      failed(verifySameShape(*this, codes, getResult().getType(), "codes",
                             "result")))
    return failure();
  if (getResult().getType().getElementType() != basis.getElementType())
    return emitOpError("result element type must match the basis");
  if (auto config = getConfigAttr(); config && config.getBits() != bits)
    return emitOpError() << "config has " << config.getBits()
                         << " bits but the basis has " << bits;
  return success();
}

//===----------------------------------------------------------------------===//
// QuantizeActOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeActOp::verify() {
  auto input = getInput().getType();
  if (failed(verifyAxis(*this, getAxis(), input, "input")))
    return failure();
  int64_t bits;
  if (failed(verifyBasis(*this, getBasis().getType(), input, getAxis(),
                         Encoding::Unipolar, "basis", bits)))
    return failure();
  if (getConfig().getBits() != bits)
    return emitOpError() << "config has " << getConfig().getBits()
                         << " bits but the basis has " << bits;
  return success();
}

//===----------------------------------------------------------------------===//
// ProjectOp
//===----------------------------------------------------------------------===//

LogicalResult ProjectOp::verify() {
  auto values = getValues().getType();
  if (failed(verifyAxis(*this, getAxis(), values, "values")))
    return failure();
  int64_t bits;
  if (failed(verifyBasis(*this, getBasis().getType(), values, getAxis(),
                         getEncoding(), "basis", bits)) ||
      failed(verifyCodeType(*this, getCodes().getType(), bits)) ||
      failed(verifySameShape(*this, values, getCodes().getType(), "values",
                             "codes")))
    return failure();
  bool stochastic = getRounding() == Rounding::Stochastic;
  if (stochastic && (!getCounter() || !getSeed()))
    return emitOpError("stochastic rounding needs a counter operand and a "
                       "seed attribute");
  if (!stochastic && (getCounter() || getSeed()))
    return emitOpError("nearest rounding takes no counter or seed");
  return success();
}

//===----------------------------------------------------------------------===//
// FitLevelsOp
//===----------------------------------------------------------------------===//

LogicalResult FitLevelsOp::verify() {
  auto codes = getCodes().getType();
  if (failed(verifyAxis(*this, getAxis(), codes, "codes")))
    return failure();
  int64_t bits;
  if (failed(verifyBasis(*this, getPrevious().getType(), codes, getAxis(),
                         getEncoding(), "previous basis", bits)) ||
      failed(verifyCodeType(*this, codes, bits)) ||
      failed(verifySameShape(*this, codes, getTargets().getType(), "codes",
                             "targets")))
    return failure();
  if (auto weights = getWeights()) {
    auto type = cast<RankedTensorType>(weights.getType());
    if (type.getRank() != 1 ||
        dimsDisagree(type.getDimSize(0), codes.getDimSize(getAxis())))
      return emitOpError() << "weights must have one value per channel ("
                           << codes.getDimSize(getAxis()) << " along axis "
                           << getAxis() << "), got " << type;
  }
  double ridge = getRidge().convertToDouble();
  // Also refuses NaN and infinity, which would turn every level into NaN.
  if (!(ridge > 0.0 && std::isfinite(ridge)))
    return emitOpError() << "ridge must be a finite number > 0, got " << ridge;
  return success();
}

//===----------------------------------------------------------------------===//
// Batch norm
//===----------------------------------------------------------------------===//

/// Per-channel operands are rank 1 with one value per channel along `axis`.
static LogicalResult verifyPerChannel(Operation *op, RankedTensorType data,
                                      int64_t axis, Value operand,
                                      StringRef name) {
  auto type = cast<RankedTensorType>(operand.getType());
  if (type.getRank() != 1 ||
      dimsDisagree(type.getDimSize(0), data.getDimSize(axis)))
    return op->emitOpError() << name << " must have one value per channel ("
                             << data.getDimSize(axis) << " along axis " << axis
                             << "), got " << type;
  return success();
}

static LogicalResult verifyEpsilon(Operation *op, double epsilon) {
  // Also refuses NaN and infinity (an infinite epsilon zeroes the output).
  if (!(epsilon > 0.0 && std::isfinite(epsilon)))
    return op->emitOpError()
           << "epsilon must be a finite number > 0, got " << epsilon;
  return success();
}

LogicalResult BatchNormOp::verify() {
  auto input = getInput().getType();
  if (failed(verifyAxis(*this, getAxis(), input, "input")) ||
      failed(verifyEpsilon(*this, getEpsilon().convertToDouble())))
    return failure();
  SmallVector<Value> values = {getGamma(), getBeta(), getMean(), getVar()};
  SmallVector<StringRef> names = {"gamma", "beta", "mean", "var"};
  for (auto [value, name] : llvm::zip(values, names))
    if (failed(verifyPerChannel(*this, input, getAxis(), value, name)))
      return failure();
  return success();
}

LogicalResult BatchNormTrainOp::verify() {
  auto input = getInput().getType();
  if (failed(verifyAxis(*this, getAxis(), input, "input")) ||
      failed(verifyEpsilon(*this, getEpsilon().convertToDouble())))
    return failure();
  SmallVector<Value> values = {getGamma(), getBeta(), getBatchMean(),
                               getBatchVar()};
  SmallVector<StringRef> names = {"gamma", "beta", "batch_mean", "batch_var"};
  for (auto [value, name] : llvm::zip(values, names))
    if (failed(verifyPerChannel(*this, input, getAxis(), value, name)))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Loss and metrics
//===----------------------------------------------------------------------===//

static LogicalResult verifyLogitsLabels(Operation *op, Value logits,
                                        Value labels) {
  auto l = cast<RankedTensorType>(logits.getType());
  auto y = cast<RankedTensorType>(labels.getType());
  if (l.getRank() != 2)
    return op->emitOpError() << "logits must be [batch x classes], got " << l;
  if (y.getRank() != 1 || dimsDisagree(y.getDimSize(0), l.getDimSize(0)))
    return op->emitOpError() << "labels must be [batch] with batch "
                             << l.getDimSize(0) << ", got " << y;
  return success();
}

LogicalResult SoftmaxCrossEntropyOp::verify() {
  return verifyLogitsLabels(*this, getLogits(), getLabels());
}

LogicalResult CountCorrectOp::verify() {
  return verifyLogitsLabels(*this, getLogits(), getLabels());
}

//===----------------------------------------------------------------------===//
// ChannelWeightsOp
//===----------------------------------------------------------------------===//

LogicalResult ChannelWeightsOp::verify() {
  auto input = getInput().getType();
  if (failed(verifyAxis(*this, getAxis(), input, "input")) ||
      failed(verifyEpsilon(*this, getEpsilon().convertToDouble())))
    return failure();
  int64_t bits;
  if (failed(verifyBasis(*this, getBasis().getType(), input, getAxis(),
                         Encoding::Unipolar, "basis", bits)))
    return failure();
  double trim = getTrim().convertToDouble();
  if (!(trim >= 0.0 && trim < 1.0))
    return emitOpError() << "trim must be in [0, 1), got " << trim;
  auto result = getWeights().getType();
  if (result.getRank() != 1 ||
      dimsDisagree(result.getDimSize(0), input.getDimSize(getAxis())))
    return emitOpError() << "result must have one weight per channel ("
                         << input.getDimSize(getAxis()) << "), got " << result;
  return success();
}

//===----------------------------------------------------------------------===//
// PackBitsOp
//===----------------------------------------------------------------------===//

LogicalResult AllReduceOp::verify() {
  if (getReduction() == Reduction::Mean &&
      !isa<FloatType>(getInput().getType().getElementType()))
    return emitOpError("a mean all-reduce takes float tensors, not ")
           << getInput().getType();
  return success();
}

LogicalResult PackBitsOp::verify() {
  auto codes = getCodes().getType();
  auto packed = getPacked().getType();
  int64_t bits = getBits();
  if (failed(verifyNumBits(*this, bits, "bits")) ||
      failed(verifyCodeType(*this, codes, bits)))
    return failure();
  if (codes.getRank() < 1)
    return emitOpError("codes must have rank 1 or more (channels last)");
  if (packed.getRank() != codes.getRank() + 1)
    return emitOpError() << "result must have rank " << codes.getRank() + 1
                         << " ([..., bits, words]), got " << packed.getRank();
  int64_t rank = codes.getRank();
  std::optional<ArrayRef<int64_t>> window = getWindow();
  if (window) {
    if (rank != 4)
      return emitOpError() << "window needs codes [N, H, W, C], got rank "
                           << rank;
    if (window->size() != 4)
      return emitOpError() << "window must be [KW, padLeft, padRight, "
                              "dilation], got "
                           << window->size() << " values";
    int64_t taps = (*window)[0], padLeft = (*window)[1],
            padRight = (*window)[2], dilation = (*window)[3];
    if (taps < 1 || padLeft < 0 || padRight < 0 || dilation < 1 ||
        taps > (int64_t(1) << 16) || padLeft > (int64_t(1) << 16) ||
        padRight > (int64_t(1) << 16) || dilation > (int64_t(1) << 16))
      return emitOpError() << "window [" << taps << ", " << padLeft << ", "
                           << padRight << ", " << dilation
                           << "] must have KW >= 1, pads >= 0 and dilation "
                              ">= 1 (each at most 65536)";
    int64_t width = codes.getDimSize(2);
    if (!ShapedType::isDynamic(width)) {
      int64_t columns = width + padLeft + padRight - dilation * (taps - 1);
      if (columns < 1)
        return emitOpError() << "window [" << taps << ", " << padLeft << ", "
                             << padRight << ", " << dilation
                             << "] is wider than the padded row (" << width
                             << " columns)";
      if (dimsDisagree(packed.getDimSize(2), columns))
        return emitOpError() << "result dimension 2 must be the " << columns
                             << " window columns, got "
                             << packed.getDimSize(2);
    }
  }
  for (int64_t d = 0; d + 1 < rank; ++d) {
    if (window && d == 2)
      continue;
    if (dimsDisagree(codes.getDimSize(d), packed.getDimSize(d)))
      return emitOpError() << "result dimension " << d << " must match codes ("
                           << codes.getDimSize(d) << "), got "
                           << packed.getDimSize(d);
  }
  if (dimsDisagree(packed.getDimSize(rank - 1), bits))
    return emitOpError() << "result dimension " << rank - 1
                         << " must be the number of bits (" << bits
                         << "), got " << packed.getDimSize(rank - 1);
  int64_t channels = codes.getDimSize(rank - 1);
  if (ShapedType::isDynamic(channels))
    return success();
  int64_t positions = getPackedChannels();
  // ceil(positions / 64) without overflow for any static size.
  int64_t words = positions / 64 + (positions % 64 != 0);
  if (dimsDisagree(packed.getDimSize(rank), words))
    return emitOpError() << "result must have ceil(" << positions
                         << " / 64) = " << words << " words per plane, got "
                         << packed.getDimSize(rank);
  return success();
}

int64_t PackBitsOp::getPackedChannels() {
  int64_t channels = getCodes().getType().getShape().back();
  if (std::optional<ArrayRef<int64_t>> window = getWindow())
    return (*window)[0] * channels;
  return channels;
}

//===----------------------------------------------------------------------===//
// BitserialConv2DOp
//===----------------------------------------------------------------------===//

LogicalResult BitserialConv2DOp::verify() {
  auto input = getInput().getType();
  auto weight = getWeight().getType();
  auto weightBasis = getWeightBasis().getType();
  auto actBasis = getActBasis().getType();
  auto bias = getBias().getType();
  auto result = getResult().getType();
  if (input.getRank() != 5)
    return emitOpError() << "input must be packed [N, H, W, Ka, words] (rank "
                            "5), got rank "
                         << input.getRank();
  if (weight.getRank() != 5)
    return emitOpError() << "weight must be packed [O, KH, KW, K, words] "
                            "(rank 5), got rank "
                         << weight.getRank();
  if (!weight.hasStaticShape())
    return emitOpError("weight must have a static shape");
  if (result.getRank() != 4)
    return emitOpError() << "result must be [N, OH, OW, O], got rank "
                         << result.getRank();
  if (dimsDisagree(input.getDimSize(4), weight.getDimSize(4)))
    return emitOpError() << "input and weight must have the same number of "
                            "words per plane, got "
                         << input.getDimSize(4) << " and "
                         << weight.getDimSize(4);
  int64_t channels = weight.getDimSize(0), bits = weight.getDimSize(3);
  int64_t actBits = input.getDimSize(3);
  if (failed(verifyNumBits(*this, bits, "weight")) ||
      failed(verifyNumBits(*this, actBits, "input")))
    return failure();
  if (weightBasis.getRank() != 2 || weightBasis.getDimSize(0) != channels ||
      weightBasis.getDimSize(1) != bits)
    return emitOpError() << "weight_basis must be [" << channels << " x "
                         << bits << "] (output channels x weight bits), got "
                         << weightBasis;
  if (actBasis.getRank() != 1 || actBasis.getDimSize(0) != actBits)
    return emitOpError() << "act_basis must have " << actBits
                         << " elements (the input's planes), got " << actBasis;
  if (bias.getRank() != 1 || bias.getDimSize(0) != channels)
    return emitOpError() << "bias must have " << channels
                         << " elements (one per output channel), got " << bias;
  ArrayRef<int64_t> pad = getPad(), stride = getStride(),
                    dilation = getDilation();
  if (pad.size() != 4 || stride.size() != 2 || dilation.size() != 2)
    return emitOpError("pad must have 4 values, stride and dilation 2");
  // Bounded so that the output size arithmetic cannot overflow.
  constexpr int64_t kMaxWindowParameter = int64_t(1) << 31;
  auto outOfRange = [&](ArrayRef<int64_t> values, int64_t low) {
    return llvm::any_of(values, [&](int64_t v) {
      return v < low || v > kMaxWindowParameter;
    });
  };
  if (outOfRange(pad, 0))
    return emitOpError("pad values must be in [0, 2^31]");
  if (outOfRange(stride, 1) || outOfRange(dilation, 1))
    return emitOpError("stride and dilation values must be in [1, 2^31]");
  if (dimsDisagree(result.getDimSize(0), input.getDimSize(0)) ||
      dimsDisagree(result.getDimSize(3), channels))
    return emitOpError() << "result must be [N = " << input.getDimSize(0)
                         << ", OH, OW, O = " << channels << "], got " << result;
  for (int d = 0; d < 2; ++d) {
    int64_t size = input.getDimSize(1 + d);
    if (ShapedType::isDynamic(size))
      continue;
    if (size > kMaxWindowParameter ||
        weight.getDimSize(1 + d) > kMaxWindowParameter)
      return emitOpError() << "input and kernel extents must be at most 2^31";
    int64_t span = dilation[d] * (weight.getDimSize(1 + d) - 1) + 1;
    int64_t padded = size + pad[2 * d] + pad[2 * d + 1];
    int64_t expected = padded < span ? 0 : (padded - span) / stride[d] + 1;
    if (expected < 1)
      return emitOpError() << "the kernel does not fit the padded input along "
                           << (d == 0 ? "H" : "W");
    if (dimsDisagree(result.getDimSize(1 + d), expected))
      return emitOpError() << "result dimension " << 1 + d << " must be "
                           << expected << ", got " << result.getDimSize(1 + d);
  }
  return success();
}
