//===- DQFolds.cpp - constant folding of dq operations --------------------===//
//
// Every fold evaluates the op with dq's numeric core (dq/Numerics/Levels.h),
// the same code the quantize pass uses to initialize weight state, so a
// folded constant equals what compiled code computes.
//
//===----------------------------------------------------------------------===//

#include "dialects/dq/DQOps.h"
#include "dq/Numerics/Levels.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::dq;
namespace num = ::dq::numerics;

/// Constants larger than this are not folded: their values would be
/// materialized (a 2 kB splat can stand for 2^35 elements), and so would the
/// folded result. The same bound as --dq-quantize's max-weight-elements.
constexpr int64_t kMaxFoldedElements = int64_t(1) << 28;

static std::optional<std::vector<float>> floatsOf(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseFPElementsAttr>(attr);
  if (!dense || !dense.getElementType().isF32() ||
      dense.getNumElements() > kMaxFoldedElements)
    return std::nullopt;
  std::vector<float> values;
  values.reserve(dense.getNumElements());
  for (const APFloat &v : dense.getValues<APFloat>())
    values.push_back(v.convertToFloat());
  return values;
}

static std::optional<std::vector<uint32_t>> codesOf(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseIntElementsAttr>(attr);
  if (!dense || dense.getNumElements() > kMaxFoldedElements)
    return std::nullopt;
  std::vector<uint32_t> codes;
  codes.reserve(dense.getNumElements());
  for (const APInt &v : dense.getValues<APInt>())
    codes.push_back(static_cast<uint32_t>(v.getZExtValue()));
  return codes;
}

static num::ChannelLayout layoutOf(ShapedType type, int64_t axis) {
  std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
  return num::ChannelLayout::fromShape(shape, axis);
}

static num::Encoding toNumeric(Encoding encoding) {
  return encoding == Encoding::Bipolar ? num::Encoding::Bipolar
                                       : num::Encoding::Unipolar;
}

static Attribute codesAttr(ShapedType type, ArrayRef<uint32_t> codes) {
  unsigned width = type.getElementType().getIntOrFloatBitWidth();
  SmallVector<APInt> values;
  values.reserve(codes.size());
  for (uint32_t c : codes)
    values.emplace_back(width, c);
  return DenseElementsAttr::get(type, values);
}

OpFoldResult DecodeWeightsOp::fold(FoldAdaptor adaptor) {
  auto type = getResult().getType();
  if (!type.hasStaticShape())
    return {};
  auto codes = codesOf(adaptor.getCodes());
  auto basis = floatsOf(adaptor.getBasis());
  if (!codes || !basis)
    return {};
  std::vector<float> values(codes->size());
  num::decodeWeights(*codes, basis->data(), getNumBits(),
                     layoutOf(type, getAxis()), values.data());
  return DenseElementsAttr::get(type, ArrayRef<float>(values));
}

OpFoldResult QuantizeActOp::fold(FoldAdaptor adaptor) {
  auto type = getResult().getType();
  auto input = floatsOf(adaptor.getInput());
  auto basis = floatsOf(adaptor.getBasis());
  if (!type.hasStaticShape() || !input || !basis)
    return {};
  num::LevelTable table(num::Encoding::Unipolar, basis->data(),
                        getConfig().getBits());
  for (float &x : *input)
    x = table.nearestLevel(std::max(x, 0.0f));
  return DenseElementsAttr::get(type, ArrayRef<float>(*input));
}

OpFoldResult ProjectOp::fold(FoldAdaptor adaptor) {
  auto type = getCodes().getType();
  auto values = floatsOf(adaptor.getValues());
  auto basis = floatsOf(adaptor.getBasis());
  if (!type.hasStaticShape() || !values || !basis)
    return {};
  unsigned bits = getEncoding() == Encoding::Bipolar
                      ? getBasis().getType().getDimSize(1)
                      : getBasis().getType().getDimSize(0);
  std::vector<uint32_t> codes(values->size());
  auto layout = layoutOf(type, getAxis());
  if (getRounding() == Rounding::Nearest) {
    num::projectNearest(toNumeric(getEncoding()), values->data(),
                        values->size(), basis->data(), bits, layout,
                        codes.data());
  } else {
    auto counter = dyn_cast_or_null<IntegerAttr>(adaptor.getCounter());
    if (!counter)
      return {};
    num::projectStochastic(toNumeric(getEncoding()), values->data(),
                           values->size(), basis->data(), bits, layout,
                           static_cast<uint64_t>(*getSeed()),
                           counter.getValue().getZExtValue(), codes.data());
  }
  return codesAttr(type, codes);
}

OpFoldResult FitLevelsOp::fold(FoldAdaptor adaptor) {
  auto codesType = getCodes().getType();
  auto codes = codesOf(adaptor.getCodes());
  auto targets = floatsOf(adaptor.getTargets());
  auto previous = floatsOf(adaptor.getPrevious());
  if (!codesType.hasStaticShape() || !codes || !targets || !previous)
    return {};
  std::optional<std::vector<float>> weights;
  if (getWeights()) {
    weights = floatsOf(adaptor.getWeights());
    if (!weights)
      return {};
  }
  auto resultType = getResult().getType();
  unsigned bits = resultType.getShape().back();
  std::vector<float> result(resultType.getNumElements());
  num::fitLevels(toNumeric(getEncoding()), codes->data(), targets->data(),
                 codes->size(), previous->data(), bits,
                 layoutOf(codesType, getAxis()),
                 weights ? weights->data() : nullptr,
                 getRidge().convertToDouble(), result.data());
  return DenseElementsAttr::get(resultType, ArrayRef<float>(result));
}

OpFoldResult PackBitsOp::fold(FoldAdaptor adaptor) {
  auto codesType = getCodes().getType();
  auto type = getPacked().getType();
  if (!codesType.hasStaticShape() || !type.hasStaticShape())
    return {};
  auto codes = codesOf(adaptor.getCodes());
  if (!codes)
    return {};
  int64_t channels = codesType.getShape().back();
  std::vector<uint64_t> packed(type.getNumElements());
  if (std::optional<ArrayRef<int64_t>> window = getWindow()) {
    // The codes of the window columns, [N, H, OW, KW * C], then packed.
    ArrayRef<int64_t> shape = codesType.getShape();
    int64_t taps = (*window)[0], padLeft = (*window)[1],
            dilation = (*window)[3];
    int64_t columns = type.getShape()[2], positions = taps * channels;
    int64_t rows = shape[0] * shape[1] * columns;
    std::vector<uint32_t> windowed(rows * positions, 0);
    for (int64_t nh = 0; nh < shape[0] * shape[1]; ++nh)
      for (int64_t x = 0; x < columns; ++x)
        for (int64_t t = 0; t < taps; ++t) {
          int64_t column = x + t * dilation - padLeft;
          if (column < 0 || column >= shape[2])
            continue;
          for (int64_t c = 0; c < channels; ++c)
            windowed[((nh * columns + x) * taps + t) * channels + c] =
                (*codes)[(nh * shape[2] + column) * channels + c];
        }
    num::packBitPlanes(windowed.data(), rows, positions, getBits(),
                       packed.data());
  } else {
    int64_t rows = channels == 0 ? 0 : codesType.getNumElements() / channels;
    num::packBitPlanes(codes->data(), rows, channels, getBits(),
                       packed.data());
  }
  SmallVector<APInt> values;
  values.reserve(packed.size());
  for (uint64_t word : packed)
    values.emplace_back(64, word);
  return DenseElementsAttr::get(type, values);
}
