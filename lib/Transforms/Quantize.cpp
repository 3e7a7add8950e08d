//===- Quantize.cpp - dq-quantize -----------------------------------------===//
//
// Turns the weights of selected conv/matmul layers into dq weight state
// (codes + per-channel basis, decoded by dq.decode_weights) and quantizes
// their input activations with dq.quantize_act.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"

#include "dialects/dq/DQOps.h"
#include "dq/Contract/Layers.h"
#include "dq/Contract/Roles.h"
#include "dq/Numerics/Levels.h"
#include "dq/Support/Checks.h"
#include "dq/Transforms/LayerSelection.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

namespace mlir::dq {
#define GEN_PASS_DEF_DQQUANTIZE
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;
using namespace mlir::dq;
namespace num = ::dq::numerics;
namespace contract = ::dq::contract;

/// The values of a constant f32 weight: dense elements, or a dense_resource
/// blob (dq-import writes large parameters that way).
static std::optional<std::vector<float>> constantFloats(Value weight) {
  Attribute attr;
  if (!matchPattern(weight, m_Constant(&attr)))
    return std::nullopt;
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr)) {
    std::vector<float> values;
    values.reserve(dense.getNumElements());
    for (const APFloat &v : dense.getValues<APFloat>())
      values.push_back(v.convertToFloat());
    return values;
  }
  if (auto blob = dyn_cast<DenseF32ResourceElementsAttr>(attr))
    if (std::optional<ArrayRef<float>> data = blob.tryGetAsArrayRef())
      return std::vector<float>(data->begin(), data->end());
  return std::nullopt;
}

namespace {

/// Validated pass options.
/// A layer-bits entry: the layers it designates and their bit widths.
struct LayerBits {
  std::string pattern;
  unsigned weightBits;
  std::optional<unsigned> actBits;
};

struct QuantizeConfig {
  WeightQuantAttr weight;
  ActQuantAttr act;
  SmallVector<LayerBits> layerBits;

  /// The configuration of `op`: the last layer-bits entry that designates it
  /// sets its weight bits and, given, the bits of its input's quantizer.
  QuantizeConfig forLayer(Operation *op) const {
    QuantizeConfig result{weight, act, {}};
    for (const LayerBits &entry : layerBits) {
      if (!matchesOverride(op, entry.pattern))
        continue;
      result.weight = WeightQuantAttr::get(
          weight.getContext(), entry.weightBits, weight.getScheme());
      result.act = ActQuantAttr::get(
          act.getContext(), entry.actBits.value_or(act.getBits()),
          act.getScheme(), act.getWeighting(), act.getTrim());
    }
    return result;
  }
};

struct QuantizePass : public mlir::dq::impl::DQQuantizeBase<QuantizePass> {
  using DQQuantizeBase::DQQuantizeBase;

  void runOnOperation() override;

private:
  FailureOr<QuantizeConfig> parseOptions();
  std::optional<StringRef>
  fullPrecisionReason(const Layer &layer, bool isFirstConv, bool isLastMatMul);
  LogicalResult quantizeFunction(FunctionOpInterface func,
                                 ArrayRef<Layer> layers,
                                 const QuantizeConfig &config);
  FailureOr<Value> quantizeWeight(const Layer &layer,
                                  const QuantizeConfig &config,
                                  FunctionOpInterface func);

  /// The layer-bits entries that designate a quantized layer.
  llvm::DenseSet<unsigned> layerBitsUsed;

  /// Names argument weights' state (the layer's name, or its kind and
  /// rank among unnamed layers of that kind).
  LayerNamer layerNames;
};

} // namespace

FailureOr<QuantizeConfig> QuantizePass::parseOptions() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  // Option errors go on the module's location without the module itself
  // as a note (it can be the whole model).
  Location loc = module.getLoc();
  StringRef pass = "dq-quantize";
  auto optionError = [&](StringRef option) {
    return emitOptionError(loc, pass, option);
  };
  if (failed(checkOption(loc, pass, "w-bits", int64_t(weightBits), kMinBits,
                         kMaxBits)) ||
      failed(checkOption(loc, pass, "a-bits", int64_t(actBits), kMinBits,
                         kMaxBits)))
    return failure();
  // Pass options use dashes (dq-lean); the IR spells enum cases with '_'.
  std::string wName = weightScheme;
  std::replace(wName.begin(), wName.end(), '-', '_');
  std::optional<WeightScheme> wScheme = symbolizeWeightScheme(wName);
  if (!wScheme) {
    optionError("w-scheme")
        << "must be dq, dq-lean or lqnets, got '" << weightScheme << "'";
    return failure();
  }
  std::optional<ActScheme> aScheme = symbolizeActScheme(actScheme);
  if (!aScheme) {
    optionError("a-scheme")
        << "must be dq or lqnets, got '" << actScheme << "'";
    return failure();
  }
  if (failed(checkOption(loc, pass, "trim", double(trim),
                         OptionRange::rightOpen(0.0, 1.0))))
    return failure();
  if (trim > 0.0 && *aScheme != ActScheme::DQ) {
    optionError("trim") << "needs a-scheme=dq (lqnets weighs all channels "
                           "equally and trims none)";
    return failure();
  }
  if (latentInit != "decoded" && latentInit != "fp32") {
    optionError("latent-init")
        << "must be decoded or fp32, got '" << latentInit << "'";
    return failure();
  }
  if (failed(checkOption(loc, pass, "max-weight-elements",
                         int64_t(maxWeightElements), 1,
                         std::numeric_limits<int64_t>::max())))
    return failure();
  QuantizeConfig config;
  config.weight = WeightQuantAttr::get(ctx, weightBits, *wScheme);
  config.act =
      ActQuantAttr::get(ctx, actBits, *aScheme,
                        *aScheme == ActScheme::DQ ? ChannelWeighting::Energy
                                                  : ChannelWeighting::Uniform,
                        APFloat(static_cast<double>(trim)));
  // layer-bits: PATTERN=W or PATTERN=W:A, the pattern as in keep-fp.
  for (const std::string &entry : layerBits) {
    auto malformed = [&]() {
      optionError("layer-bits")
          << "entry '" << entry
          << "' must be LAYER=W or LAYER=W:A (a layer name or file:line, "
             "bits in [1, 8]; e.g. layer-bits=conv1=4:4)";
      return failure();
    };
    size_t equals = StringRef(entry).rfind('=');
    if (equals == StringRef::npos || equals == 0)
      return malformed();
    StringRef pattern = StringRef(entry).take_front(equals);
    auto [wText, aText] = StringRef(entry).drop_front(equals + 1).split(':');
    unsigned w = 0, a = 0;
    if (wText.getAsInteger(10, w) || w < kMinBits || w > kMaxBits)
      return malformed();
    std::optional<unsigned> aBits;
    if (StringRef(entry).drop_front(equals + 1).contains(':')) {
      if (aText.getAsInteger(10, a) || a < kMinBits || a > kMaxBits)
        return malformed();
      aBits = a;
    }
    config.layerBits.push_back({pattern.str(), w, aBits});
  }
  return config;
}

std::optional<StringRef> QuantizePass::fullPrecisionReason(const Layer &layer,
                                                           bool isFirstConv,
                                                           bool isLastMatMul) {
  auto listed = [&](ArrayRef<std::string> entries) {
    return llvm::any_of(entries, [&](const std::string &entry) {
      return matchesOverride(layer.op, entry);
    });
  };
  if (listed(forceQuantize))
    return std::nullopt;
  if (listed(keepFP))
    return StringRef("keep-fp");
  if (keepFirstLast && isFirstConv)
    return StringRef("first convolution");
  if (keepFirstLast && isLastMatMul)
    return StringRef("last matmul");
  if (keepShortcuts && isProjectionShortcut(layer))
    return StringRef("projection shortcut");
  return std::nullopt;
}

/// One line per layer: name, op, weight shape and what happened to it.
static void printSummaryLine(raw_ostream &os, const Layer &layer,
                             StringRef action) {
  std::string shape;
  llvm::raw_string_ostream shapeOS(shape);
  if (auto type = dyn_cast<ShapedType>(layer.weight().getType()))
    llvm::interleave(type.getShape(), shapeOS, "x");
  os << llvm::formatv("  {0,-24} {1,-26} {2,-12} {3}\n",
                      layer.name.empty() ? "<unnamed>" : layer.name,
                      layer.op->getName().getStringRef(), shape, action);
}

FailureOr<Value> QuantizePass::quantizeWeight(const Layer &layer,
                                              const QuantizeConfig &config,
                                              FunctionOpInterface func) {
  Value weight = layer.weight();
  // A weight argument shared by several layers is decoded once.
  if (auto decoded = weight.getDefiningOp<DecodeWeightsOp>())
    return decoded.getResult();
  auto type = dyn_cast<RankedTensorType>(weight.getType());
  if (!type || !type.hasStaticShape() || !type.getElementType().isF32()) {
    layer.op->emitError() << "dq-quantize needs a static f32 weight, got "
                          << weight.getType();
    return failure();
  }
  // Before anything is expanded: a tiny file can declare a splat weight of
  // billions of elements, whose codes and values would exhaust memory.
  uint64_t elements = 1;
  bool overflow = false;
  for (int64_t size : type.getShape())
    elements = llvm::SaturatingMultiply(elements, uint64_t(size), &overflow);
  if (overflow || elements > uint64_t(int64_t(maxWeightElements))) {
    InFlightDiagnostic diag = layer.op->emitError()
                              << "dq-quantize: the weight " << type << " has ";
    if (overflow)
      diag << "more than 2^64";
    else
      diag << elements;
    diag << " elements, more than max-weight-elements="
         << int64_t(maxWeightElements)
         << " (raise the option, or keep the layer in full precision with "
            "keep-fp)";
    return failure();
  }
  MLIRContext *ctx = &getContext();
  unsigned bits = config.weight.getBits();
  int64_t channels = type.getDimSize(layer.weightChannelAxis);
  auto codesType =
      RankedTensorType::get(type.getShape(), IntegerType::get(ctx, 8));
  auto basisType =
      RankedTensorType::get({channels, bits}, Float32Type::get(ctx));
  OpBuilder builder(layer.op);
  Location loc = layer.op->getLoc();
  auto axis = builder.getI64IntegerAttr(layer.weightChannelAxis);

  if (std::optional<std::vector<float>> constant = constantFloats(weight)) {
    std::vector<float> values = std::move(*constant);
    // A NaN or infinity would make every level of its channel NaN.
    size_t nonFinite =
        llvm::count_if(values, [](float v) { return !std::isfinite(v); });
    if (nonFinite) {
      layer.op->emitError()
          << "dq-quantize: the constant weight has " << nonFinite
          << " non-finite value" << (nonFinite == 1 ? "" : "s")
          << " (NaN or infinity) among " << values.size();
      return failure();
    }
    std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
    num::WeightState state = num::initWeightState(
        values.data(), values.size(), bits,
        num::ChannelLayout::fromShape(shape, layer.weightChannelAxis),
        fanOutOf(layer));
    SmallVector<int8_t> codes(state.codes.begin(), state.codes.end());
    Value codesValue = arith::ConstantOp::create(
        builder, loc, codesType,
        DenseElementsAttr::get(codesType, ArrayRef<int8_t>(codes)));
    Value basisValue = arith::ConstantOp::create(
        builder, loc, basisType,
        DenseElementsAttr::get(basisType, ArrayRef<float>(state.basis)));
    auto decode = DecodeWeightsOp::create(builder, loc, type, codesValue,
                                          basisValue, axis, config.weight);
    // The fp32 weights as the training graph's initial latent weights.
    if (latentInit == "fp32" &&
        config.weight.getScheme() != WeightScheme::DQLean)
      decode->setAttr(contract::kLatentInitAttr,
                      DenseElementsAttr::get(type, ArrayRef<float>(values)));
    return decode.getResult();
  }

  auto arg = dyn_cast<BlockArgument>(weight);
  if (!arg || arg.getOwner() != &func.getFunctionBody().front()) {
    Operation *producer = weight.getDefiningOp();
    layer.op->emitError()
        << "dq-quantize needs a constant or function-argument weight; this "
           "one is computed by '"
        << (producer ? producer->getName().getStringRef() : "a block argument")
        << "' (fold it first, e.g. --canonicalize, or keep the layer in full "
           "precision with keep-fp)";
    return failure();
  }
  // An argument weight becomes two arguments, codes and basis; the caller
  // owns their values (the training graph initializes them).
  unsigned index = arg.getArgNumber();
  std::string base = layerNames.nameOf(layer.op);
  auto stateAttr = [&](StringRef suffix) {
    return builder.getDictionaryAttr(builder.getNamedAttr(
        contract::kStateAttr, builder.getStringAttr(base + suffix.str())));
  };
  if (failed(func.insertArguments({index + 1, index + 1},
                                  {codesType, basisType},
                                  {stateAttr(contract::kCodesSuffix),
                                   stateAttr(contract::kBasisSuffix)},
                                  {arg.getLoc(), arg.getLoc()})))
    return failure();
  Block &entry = func.getFunctionBody().front();
  builder.setInsertionPointToStart(&entry);
  Value decoded =
      DecodeWeightsOp::create(builder, loc, type, entry.getArgument(index + 1),
                              entry.getArgument(index + 2), axis, config.weight)
          .getResult();
  arg.replaceAllUsesWith(decoded);
  llvm::BitVector erase(func.getNumArguments());
  erase.set(index);
  if (failed(func.eraseArguments(erase)))
    return failure();
  return decoded;
}

/// Every keep-fp / force-quantize entry must designate a layer: a typo
/// would otherwise silently keep a layer quantized (or in full precision).
static LogicalResult checkOverridesMatch(Location loc, StringRef option,
                                         ArrayRef<std::string> entries,
                                         ArrayRef<Layer> layers) {
  bool ok = true;
  for (const std::string &entry : entries) {
    if (llvm::any_of(layers, [&](const Layer &layer) {
          return matchesOverride(layer.op, entry);
        }))
      continue;
    ok = false;
    InFlightDiagnostic diag = emitOptionError(loc, "dq-quantize", option)
                              << "entry '" << entry << "' matches no layer";
    // The names it could have meant, briefly.
    SmallVector<StringRef> names;
    for (const Layer &layer : layers)
      if (!layer.name.empty() && !llvm::is_contained(names, layer.name))
        names.push_back(layer.name);
    constexpr size_t kShown = 12;
    if (layers.empty()) {
      diag << " (the module has no quantizable layer)";
      continue;
    }
    if (names.empty()) {
      diag << " (no layer has a name; use file:line)";
      continue;
    }
    diag << " (layers: ";
    llvm::interleave(ArrayRef(names).take_front(kShown), diag, ", ");
    if (names.size() > kShown)
      diag << ", ... " << names.size() - kShown << " more";
    diag << ")";
  }
  return success(ok);
}

LogicalResult QuantizePass::quantizeFunction(FunctionOpInterface func,
                                             ArrayRef<Layer> layers,
                                             const QuantizeConfig &config) {
  if (layers.empty())
    return success();

  const Layer *firstConv = nullptr, *lastMatMul = nullptr;
  for (const Layer &layer : layers) {
    if (!firstConv && layer.kind != LayerKind::MatMul)
      firstConv = &layer;
    if (layer.kind == LayerKind::MatMul)
      lastMatMul = &layer;
  }

  // Decide first, rewrite after: the rewrite changes the use-def chains the
  // shortcut detection looks at.
  SmallVector<Layer> selected;
  if (summary)
    llvm::errs() << "dq-quantize: @"
                 << SymbolTable::getSymbolName(func).getValue()
                 << ": w-bits=" << weightBits << " (" << weightScheme
                 << "), a-bits=" << actBits << " (" << actScheme << ")\n";
  for (const Layer &layer : layers) {
    std::optional<StringRef> reason =
        fullPrecisionReason(layer, &layer == firstConv, &layer == lastMatMul);
    if (summary) {
      std::string action = "quantized";
      QuantizeConfig own = config.forLayer(layer.op);
      if (reason)
        action = ("full precision (" + *reason + ")").str();
      else if (own.weight != config.weight || own.act != config.act)
        action += " (w-bits=" + std::to_string(own.weight.getBits()) +
                  ", a-bits=" + std::to_string(own.act.getBits()) +
                  ", layer-bits)";
      printSummaryLine(llvm::errs(), layer, action);
    }
    if (!reason)
      selected.push_back(layer);
  }
  if (!selected.empty() && !func.isPrivate()) {
    // Argument weights change the signature: refuse if someone calls it.
    bool hasArgWeight = llvm::any_of(selected, [](const Layer &layer) {
      return isa<BlockArgument>(layer.weight());
    });
    if (hasArgWeight) {
      if (auto uses = SymbolTable::getSymbolUses(func, getOperation());
          uses && !uses->empty()) {
        // Not func.emitError: the function as a note would be the model.
        mlir::emitError(func.getLoc())
            << "dq-quantize would change the signature of '"
            << SymbolTable::getSymbolName(func).getValue()
            << "' (argument weights become codes + basis) but "
               "it has callers";
        return failure();
      }
    }
  }

  // One quantizer per activation value and configuration, shared by the
  // layers that read it (layers with other a-bits get their own).
  llvm::DenseMap<std::pair<Value, Attribute>, Value> quantizedInputs;
  llvm::SetVector<Operation *> replacedPads;
  for (auto [index, layer] : llvm::enumerate(selected)) {
    for (auto [i, entry] : llvm::enumerate(config.layerBits))
      if (matchesOverride(layer.op, entry.pattern))
        layerBitsUsed.insert(i);
    QuantizeConfig own = config.forLayer(layer.op);
    std::vector<float> actBasis = num::initActivationBasis(own.act.getBits());
    auto actBasisType =
        RankedTensorType::get({static_cast<int64_t>(actBasis.size())},
                              Float32Type::get(&getContext()));
    FailureOr<Value> weight = quantizeWeight(layer, own, func);
    if (failed(weight))
      return failure();
    Value original = layer.weight();
    layer.op->setOperand(layer.weightOperand, *weight);
    // The fp32 weights live on only in the dq state.
    if (Operation *producer = original.getDefiningOp();
        producer && producer->use_empty() && isPure(producer))
      producer->erase();

    Value input = layer.input();
    auto inputType = dyn_cast<RankedTensorType>(input.getType());
    if (!inputType || !inputType.getElementType().isF32()) {
      layer.op->emitError() << "dq-quantize needs an f32 input activation, got "
                            << input.getType();
      return failure();
    }
    Value &quantized = quantizedInputs[{input, own.act}];
    if (!quantized) {
      // A linalg-form layer reads an explicitly zero-padded input: quantize
      // the activations and pad the result, as a TOSA convolution pads its
      // quantized input, so that the level fits see no padding.
      auto pad = input.getDefiningOp<tensor::PadOp>();
      Value padding = pad ? pad.getConstantPaddingValue() : Value();
      if (!padding || !matchPattern(padding, m_AnyZeroFloat()))
        pad = {};
      Value activations = pad ? pad.getSource() : input;
      OpBuilder builder(layer.op);
      if (Operation *producer = activations.getDefiningOp())
        builder.setInsertionPointAfter(producer);
      else
        builder.setInsertionPointToStart(
            cast<BlockArgument>(activations).getOwner());
      Location loc = layer.op->getLoc();
      Value basis = arith::ConstantOp::create(
          builder, loc, actBasisType,
          DenseElementsAttr::get(actBasisType, ArrayRef<float>(actBasis)));
      quantized = QuantizeActOp::create(
          builder, loc, activations.getType(), activations, basis,
          builder.getI64IntegerAttr(layer.inputChannelAxis), own.act);
      if (pad) {
        builder.setInsertionPoint(pad);
        auto padded = cast<tensor::PadOp>(builder.clone(*pad.getOperation()));
        padded.getSourceMutable().assign(quantized);
        quantized = padded.getResult();
      }
    }
    layer.op->setOperand(layer.inputOperand, quantized);
    if (auto pad = input.getDefiningOp<tensor::PadOp>())
      replacedPads.insert(pad);
  }
  // Erased last: quantizedInputs is keyed by their results.
  for (Operation *pad : replacedPads)
    if (pad->use_empty())
      pad->erase();
  return success();
}

void QuantizePass::runOnOperation() {
  FailureOr<QuantizeConfig> config = parseOptions();
  if (failed(config))
    return signalPassFailure();
  SmallVector<FunctionOpInterface> funcs;
  getOperation().walk([&](FunctionOpInterface func) {
    if (!func.isExternal())
      funcs.push_back(func);
  });
  // Layer names from locations become dq.name attributes: the training
  // graph names state after them, and a module printed without locations
  // (dq-opt -o) would lose them.
  for (FunctionOpInterface func : funcs)
    keepLayerNames(func);
  // Match every layer first: the overrides are checked against all of them
  // before anything is rewritten.
  SmallVector<SmallVector<Layer>> layers(funcs.size());
  bool failedMatch = false;
  for (auto [func, funcLayers] : llvm::zip(funcs, layers))
    func.walk([&](Operation *op) {
      if (auto layer = matchLayer(op, failedMatch))
        funcLayers.push_back(*layer);
    });
  if (failedMatch)
    return signalPassFailure();
  SmallVector<Layer> all;
  for (const SmallVector<Layer> &funcLayers : layers)
    llvm::append_range(all, funcLayers);
  Location loc = getOperation().getLoc();
  SmallVector<std::string> bitsPatterns;
  for (const LayerBits &entry : config->layerBits)
    bitsPatterns.push_back(entry.pattern);
  if (failed(checkOverridesMatch(loc, "keep-fp", keepFP, all)) |
      failed(checkOverridesMatch(loc, "force-quantize", forceQuantize, all)) |
      failed(checkOverridesMatch(loc, "layer-bits", bitsPatterns, all)))
    return signalPassFailure();
  for (auto [func, funcLayers] : llvm::zip(funcs, layers))
    if (failed(quantizeFunction(func, funcLayers, *config)))
      return signalPassFailure();
  // Bits for a layer that stays in full precision would be ignored.
  bool unused = false;
  for (auto [i, entry] : llvm::enumerate(config->layerBits)) {
    if (layerBitsUsed.contains(i))
      continue;
    unused = true;
    emitOptionError(loc, "dq-quantize", "layer-bits")
        << "entry '" << entry.pattern
        << "' designates only layers kept in full precision (add "
           "force-quantize="
        << entry.pattern << ", or keep-first-last=false)";
  }
  if (unused)
    return signalPassFailure();
}
