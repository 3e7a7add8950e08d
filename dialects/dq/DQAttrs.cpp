//===- DQAttrs.cpp - dq quantizer configuration attributes ----------------===//

#include "dialects/dq/DQOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::dq;

#define GET_ATTRDEF_CLASSES
#include "dialects/dq/DQAttrs.cpp.inc"

void DQDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/dq/DQAttrs.cpp.inc"
      >();
}

static LogicalResult verifyBits(function_ref<InFlightDiagnostic()> emitError,
                                unsigned bits) {
  if (bits < kMinBits || bits > kMaxBits)
    return emitError() << "bits must be in [" << kMinBits << ", " << kMaxBits
                       << "], got " << bits;
  return success();
}

LogicalResult
WeightQuantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        unsigned bits, WeightScheme) {
  return verifyBits(emitError, bits);
}

LogicalResult ActQuantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   unsigned bits, ActScheme,
                                   ChannelWeighting weighting,
                                   APFloat trimValue) {
  double trim = trimValue.convertToDouble();
  if (failed(verifyBits(emitError, bits)))
    return failure();
  if (!(trim >= 0.0 && trim < 1.0))
    return emitError() << "trim must be in [0, 1), got " << trim;
  if (trim > 0.0 && weighting != ChannelWeighting::Energy)
    return emitError() << "trim requires weighting = energy (it ranks "
                          "channels by their relative error)";
  return success();
}

// #dq.act_quant<bits = 2, scheme = dq [, weighting = energy] [, trim = 0.1]>
Attribute ActQuantAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  unsigned bits = 0;
  std::optional<ActScheme> scheme;
  std::optional<ChannelWeighting> weighting;
  double trim = 0.0;
  auto parseKeywordValue = [&](StringRef key) -> ParseResult {
    if (key == "bits")
      return parser.parseInteger(bits);
    if (key == "trim")
      return parser.parseFloat(trim);
    SMLoc loc = parser.getCurrentLocation();
    StringRef value;
    if (parser.parseKeyword(&value))
      return failure();
    if (key == "scheme") {
      scheme = symbolizeActScheme(value);
      if (!scheme)
        return parser.emitError(loc, "unknown activation scheme '")
               << value << "' (expected dq or lqnets)";
      return success();
    }
    if (key == "weighting") {
      weighting = symbolizeChannelWeighting(value);
      if (!weighting)
        return parser.emitError(loc, "unknown channel weighting '")
               << value << "' (expected uniform or energy)";
      return success();
    }
    return failure();
  };
  if (parser.parseLess())
    return {};
  bool sawBits = false;
  do {
    SMLoc loc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key))
      return {};
    if (key != "bits" && key != "scheme" && key != "weighting" &&
        key != "trim") {
      parser.emitError(loc, "unknown act_quant parameter '") << key << "'";
      return {};
    }
    sawBits |= key == "bits";
    if (parser.parseEqual() || parseKeywordValue(key))
      return {};
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return {};
  if (!sawBits || !scheme) {
    parser.emitError(parser.getNameLoc(),
                     "act_quant needs 'bits' and 'scheme'");
    return {};
  }
  if (!weighting)
    weighting = *scheme == ActScheme::DQ ? ChannelWeighting::Energy
                                         : ChannelWeighting::Uniform;
  return ActQuantAttr::getChecked(
      [&] { return parser.emitError(parser.getNameLoc()); }, ctx, bits, *scheme,
      *weighting, APFloat(trim));
}

void ActQuantAttr::print(AsmPrinter &printer) const {
  printer << "<bits = " << getBits()
          << ", scheme = " << stringifyActScheme(getScheme());
  ChannelWeighting defaultWeighting = getScheme() == ActScheme::DQ
                                          ? ChannelWeighting::Energy
                                          : ChannelWeighting::Uniform;
  if (getWeighting() != defaultWeighting)
    printer << ", weighting = " << stringifyChannelWeighting(getWeighting());
  if (!getTrim().isZero()) {
    printer << ", trim = ";
    printer.printFloat(getTrim());
  }
  printer << ">";
}
