//===- BuildInferenceGraph.cpp - dq-build-inference-graph -----------------===//
//
// A trained model as an inference function: the state becomes constants,
// quantized convolutions compute on bit-planes, batch norms after them fold
// into their bases and biases, and the batch size may change.
//
//===----------------------------------------------------------------------===//

#include "InferenceState.h"

#include "dq/Contract/Roles.h"
#include "dq/Contract/TrainingModule.h"
#include "dq/Numerics/Levels.h"
#include "dq/Support/Checks.h"
#include "dq/Transforms/LayerSelection.h"
#include "dq/Transforms/Passes.h"

#include "dialects/dq/DQOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Tosa/Utils/ConversionUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/DenseMap.h"

#include <array>
#include <cmath>
#include <map>
#include <limits>

namespace mlir::dq {
#define GEN_PASS_DEF_DQBUILDINFERENCEGRAPH
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;
using namespace mlir::dq;

namespace {

std::string dtypeOf(Type element) {
  if (element.isF32())
    return "f32";
  for (unsigned width : {8u, 32u, 64u})
    if (element.isInteger(width))
      return "i" + std::to_string(width);
  return "";
}

template <typename AttrT> AttrT constantOf(Value value) {
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return {};
  return dyn_cast<AttrT>(attr);
}

std::vector<float> floatsOf(DenseFPElementsAttr attr) {
  std::vector<float> values;
  values.reserve(attr.getNumElements());
  for (const APFloat &v : attr.getValues<APFloat>())
    values.push_back(v.convertToFloat());
  return values;
}

bool isZero(Value value) {
  auto attr = constantOf<DenseFPElementsAttr>(value);
  return attr && llvm::all_of(attr.getValues<APFloat>(),
                              [](const APFloat &v) { return v.isZero(); });
}

Value floatConstant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                    ArrayRef<float> values) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
}

/// A tosa.const_shape of `values`.
Value constShape(OpBuilder &b, Location loc, ArrayRef<int64_t> values) {
  auto attr = DenseIntElementsAttr::get(
      RankedTensorType::get({static_cast<int64_t>(values.size())},
                            b.getIndexType()),
      values);
  return tosa::ConstShapeOp::create(
      b, loc, tosa::shapeType::get(b.getContext(), values.size()), attr);
}

/// Rewrites the batch dimension of @predict from its images argument on,
/// op by op. Fails (with a diagnostic) on an op it cannot follow.
class BatchRewriter {
public:
  BatchRewriter(func::FuncOp func, int64_t oldBatch, int64_t newBatch)
      : func(func), oldBatch(oldBatch), newBatch(newBatch) {}

  LogicalResult run(Value images) {
    batchDim[images] = 0;
    images.setType(withDim(cast<RankedTensorType>(images.getType()), 0));
    for (Operation &op : llvm::make_early_inc_range(func.getBody().front()))
      if (failed(rewrite(&op)))
        return failure();
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    func.setType(FunctionType::get(func.getContext(),
                                   func.getBody().front().getArgumentTypes(),
                                   ret.getOperandTypes()));
    return success();
  }

private:
  RankedTensorType withDim(RankedTensorType type, int64_t dim) {
    SmallVector<int64_t> shape(type.getShape());
    shape[dim] = newBatch;
    return RankedTensorType::get(shape, type.getElementType(),
                                 type.getEncoding());
  }

  InFlightDiagnostic fail(Operation *op, const Twine &why) {
    return op->emitError() << "cannot rebuild @predict for batch " << newBatch
                           << ": " << why;
  }

  /// A new tosa.const_shape for `shape` in place of operand `index`.
  void setShape(Operation *op, unsigned index, ArrayRef<int64_t> shape) {
    OpBuilder b(op);
    op->setOperand(index, constShape(b, op->getLoc(), shape));
  }

  LogicalResult rewrite(Operation *op) {
    std::optional<int64_t> inputDim;
    Value carrier;
    for (Value operand : op->getOperands())
      if (auto it = batchDim.find(operand); it != batchDim.end()) {
        inputDim = it->second;
        carrier = operand;
        break;
      }
    if (!inputDim)
      return success();
    if (isa<func::ReturnOp>(op))
      return success();
    if (op->getNumResults() != 1)
      return fail(op, "ops with several results are not supported");
    auto result = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!result)
      return fail(op, "its result is not a ranked tensor");
    int64_t p = *inputDim, q = p;
    if (auto reshape = dyn_cast<tosa::ReshapeOp>(op)) {
      // The batch stays a dimension of its own: the one whose prefix holds
      // the same elements as the input's prefix before the batch.
      auto input = cast<RankedTensorType>(carrier.getType());
      int64_t prefix = 1;
      for (int64_t d = 0; d < p; ++d)
        prefix *= input.getDimSize(d);
      int64_t outPrefix = 1;
      q = -1;
      for (int64_t d = 0; d < result.getRank(); ++d) {
        if (outPrefix == prefix && result.getDimSize(d) == oldBatch) {
          q = d;
          break;
        }
        outPrefix *= result.getDimSize(d);
      }
      if (q < 0)
        return fail(op, "the reshape merges the batch with other dimensions");
      SmallVector<int64_t> shape(withDim(result, q).getShape());
      setShape(op, 1, shape);
    } else if (auto slice = dyn_cast<tosa::SliceOp>(op)) {
      SmallVector<int64_t> start, size;
      if (!tosa::getConstShapeValues(slice.getStart().getDefiningOp(), start) ||
          !tosa::getConstShapeValues(slice.getSize().getDefiningOp(), size) ||
          start[p] != 0 || size[p] != oldBatch)
        return fail(op, "the slice does not keep the whole batch");
      size[p] = newBatch;
      setShape(op, 2, size);
    } else if (auto transpose = dyn_cast<tosa::TransposeOp>(op)) {
      ArrayRef<int32_t> perms = transpose.getPerms();
      q = llvm::find(perms, p) - perms.begin();
    } else if (isa<tosa::ReduceSumOp, tosa::ReduceMaxOp, tosa::ReduceMinOp,
                   tosa::ReduceProductOp, tosa::ConcatOp>(op)) {
      auto axis = op->getAttrOfType<IntegerAttr>("axis");
      if (!axis || axis.getInt() == p)
        return fail(op, "it works across the batch");
    }
    if (q >= result.getRank() || result.getDimSize(q) != oldBatch)
      return fail(op, "its batch dimension cannot be told");
    op->getResult(0).setType(withDim(result, q));
    batchDim[op->getResult(0)] = q;
    return success();
  }

  func::FuncOp func;
  int64_t oldBatch, newBatch;
  llvm::DenseMap<Value, int64_t> batchDim;
};

/// 64-bit words per plane of `channels` codes.
int64_t wordsFor(int64_t channels) {
  return channels / 64 + (channels % 64 != 0);
}

/// The unipolar codes of a quantizer's input (`dq.quantize_act` clamps
/// below at 0, then takes the nearest level): tosa.clamp + dq.project.
Value activationCodesOf(OpBuilder &b, QuantizeActOp quantize) {
  Location loc = quantize.getLoc();
  Value x = quantize.getInput();
  Value clamped = tosa::ClampOp::create(
      b, loc, x.getType(), x, b.getF32FloatAttr(0.0f),
      b.getF32FloatAttr(std::numeric_limits<float>::max()),
      tosa::NanPropagationModeAttr::get(b.getContext(),
                                        tosa::NanPropagationMode::PROPAGATE));
  auto codesType = RankedTensorType::get(
      cast<RankedTensorType>(x.getType()).getShape(), b.getIntegerType(8));
  return ProjectOp::create(b, loc, codesType, clamped, quantize.getBasis(),
                           Value(), quantize.getAxis(), Encoding::Unipolar,
                           Rounding::Nearest, IntegerAttr());
}

/// Trained codes (`rows` rows of `channels`) packed at compile time
/// (dq.pack_bits' layout) as an i64 constant of `shape`.
Value packedWeightConstant(OpBuilder &b, Location loc,
                           ArrayRef<uint32_t> codes, int64_t rows,
                           int64_t channels, int64_t bits,
                           ArrayRef<int64_t> shape) {
  std::vector<uint64_t> words(rows * bits * wordsFor(channels));
  ::dq::numerics::packBitPlanes(codes.data(), rows, channels, bits,
                                words.data());
  SmallVector<APInt> values;
  values.reserve(words.size());
  for (uint64_t w : words)
    values.emplace_back(64, w);
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(RankedTensorType::get(shape, b.getI64Type()),
                             values));
}

struct BuildInferenceGraphPass
    : public mlir::dq::impl::DQBuildInferenceGraphBase<
          BuildInferenceGraphPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto predict = module.lookupSymbol<func::FuncOp>("predict");
    auto init = module.lookupSymbol<func::FuncOp>("init_state");
    if (!predict || !init || predict.isExternal()) {
      emitError(module.getLoc(), "dq-build-inference-graph needs the module of "
                       "--dq-build-training-graph (@predict and @init_state)");
      return signalPassFailure();
    }
    if (failed(checkOption(module.getLoc(), "dq-build-inference-graph",
                           "batch", int64_t(batch), 0,
                           std::numeric_limits<int32_t>::max())))
      return signalPassFailure();
    if (failed(bindState(module, predict)))
      return signalPassFailure();
    // Only @predict is left (the training module also holds the model
    // function it was built from).
    for (func::FuncOp func :
         llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (func != predict)
        func.erase();
    module->setAttr(::dq::contract::kModuleKindAttr,
                    StringAttr::get(&getContext(), "inference"));

    Value images = predict.getArgument(0);
    auto imagesType = cast<RankedTensorType>(images.getType());
    if (batch > 0 && batch != imagesType.getDimSize(0)) {
      BatchRewriter rewriter(predict, imagesType.getDimSize(0), batch);
      if (failed(rewriter.run(images)) || failed(verify(predict)))
        return signalPassFailure();
    }

    // Decoded constants fold first, so that full-precision layers see
    // their weights as constants.
    if (bitSerial) {
      rewriteQuantizedConvolutions(predict);
      rewriteQuantizedMatmuls(predict);
    }
    OpPassManager cleanup(ModuleOp::getOperationName());
    cleanup.addPass(createCanonicalizerPass());
    if (failed(runPipeline(cleanup, module)))
      return signalPassFailure();
    foldBatchNorms(predict);
    if (failed(runPipeline(cleanup, module)))
      return signalPassFailure();
  }

  /// The state arguments of @predict become constants: from `state` or,
  /// without it, the initial values @init_state returns.
  LogicalResult bindState(ModuleOp module, func::FuncOp predict) {
    // The state tensors, checked against the contract (the same names,
    // roles and types in @init_state and @predict).
    FailureOr<TrainingModule> training = readTrainingModule(module);
    if (failed(training))
      return failure();
    std::vector<StateTensorInfo> infos;
    for (const StateTensor &state : training->state)
      infos.push_back({state.name, roleNameRef(state.role).str(),
                       dtypeOf(state.type.getElementType()),
                       std::vector<int64_t>(state.type.getShape().begin(),
                                            state.type.getShape().end())});
    unsigned numState = infos.size();

    SmallVector<Attribute> values(numState);
    if (!statePath.empty()) {
      std::string text;
      llvm::raw_string_ostream os(text);
      module->print(os);
      std::vector<std::vector<char>> data;
      if (std::optional<std::string> error = readTrainedState(
              statePath, moduleTextHash(text), infos, data))
        return emitError(module.getLoc())
               << "dq-build-inference-graph: state=" << statePath << ": "
               << *error;
      for (unsigned i = 0; i < numState; ++i) {
        auto type = cast<RankedTensorType>(predict.getArgumentTypes()[i]);
        bool splat = false;
        ArrayRef<char> raw(data[i].data(), data[i].size());
        if (!DenseElementsAttr::isValidRawBuffer(type, raw, splat))
          return emitError(module.getLoc()) << "state tensor '" << infos[i].name
                                    << "' has " << raw.size()
                                    << " bytes, not the data of " << type;
        values[i] = DenseElementsAttr::getFromRawBuffer(type, raw);
      }
    } else {
      auto init = module.lookupSymbol<func::FuncOp>("init_state");
      auto ret = cast<func::ReturnOp>(init.getBody().front().getTerminator());
      for (unsigned i = 0; i < numState; ++i)
        if (!predict.getArgument(i).use_empty() &&
            !matchPattern(ret.getOperand(i), m_Constant(&values[i])))
          return emitError(init.getLoc())
                 << "the initial value of '" << infos[i].name
                 << "' is not a constant; pass state=<file>";
    }

    OpBuilder b = OpBuilder::atBlockBegin(&predict.getBody().front());
    llvm::BitVector erase(predict.getNumArguments());
    for (unsigned i = 0; i < numState; ++i) {
      BlockArgument arg = predict.getArgument(i);
      if (!arg.use_empty()) {
        // The layer names live on in locations: the ops that read a
        // layer's state are that layer.
        for (Operation *user : arg.getUsers())
          if (layerNameOf(user).empty())
            user->setLoc(NameLoc::get(
                StringAttr::get(&getContext(), layerOfState(infos[i].name)),
                user->getLoc()));
        arg.replaceAllUsesWith(arith::ConstantOp::create(
            b, arg.getLoc(), cast<TypedAttr>(values[i])));
      }
      erase.set(i);
    }
    if (failed(predict.eraseArguments(erase)))
      return emitError(predict.getLoc(), "cannot remove the state arguments");
    return success();
  }

  /// The layer of a state tensor: "layer1.0.conv1" of
  /// "layer1.0.conv1.weight.codes" (docs/TrainingGraph.md's names).
  static std::string layerOfState(StringRef name) {
    for (StringRef suffix :
         {".weight.codes", ".weight.basis", ".input.basis", ".weight",
          ".bias", ".gamma", ".beta", ".running_mean", ".running_var"})
      if (name.ends_with(suffix))
        return name.drop_back(suffix.size()).str();
    return name.str();
  }

  static std::string layerOf(Operation *op) {
    std::string name = layerNameOf(op);
    return name.empty() ? op->getName().getStringRef().str() : name;
  }

  void report(StringRef layer, const Twine &what) {
    if (summary)
      llvm::errs() << "dq-build-inference-graph: " << layer << ": " << what
                   << "\n";
  }


  /// tosa.conv2d(quantize_act(x, u), decode_weights(codes, v)) with constant
  /// codes, bases and bias -> project + pack_bits + bitserial_conv2d.
  void rewriteQuantizedConvolutions(func::FuncOp predict) {
    llvm::DenseMap<Operation *, Value> activationCodes;
    std::map<std::pair<Operation *, std::array<int64_t, 4>>, Value>
        packedInputs;
    SmallVector<tosa::Conv2DOp> convs;
    predict.walk([&](tosa::Conv2DOp conv) { convs.push_back(conv); });
    for (tosa::Conv2DOp conv : convs) {
      auto decode = conv.getWeight().getDefiningOp<DecodeWeightsOp>();
      if (!decode)
        continue;
      auto quantize = conv.getInput().getDefiningOp<QuantizeActOp>();
      auto codes = constantOf<DenseIntElementsAttr>(decode.getCodes());
      auto weightBasis = constantOf<DenseFPElementsAttr>(decode.getBasis());
      auto bias = constantOf<DenseFPElementsAttr>(conv.getBias());
      auto inputType = dyn_cast<RankedTensorType>(conv.getInput().getType());
      auto resultType = dyn_cast<RankedTensorType>(conv.getType());
      auto codesType = decode.getCodes().getType();
      std::string why;
      if (!quantize)
        why = "its input is not quantized";
      else if (!codes || !weightBasis ||
               !constantOf<DenseFPElementsAttr>(quantize.getBasis()))
        why = "its codes or bases are not constants";
      else if (!bias)
        why = "its bias is not a constant";
      else if (decode.getAxis() != 0)
        why = "its weight channels are not on axis 0";
      else if (!isZero(conv.getInputZp()) || !isZero(conv.getWeightZp()))
        why = "it has non-zero zero points";
      else if (!inputType || !inputType.hasStaticShape() || !resultType ||
               !resultType.hasStaticShape() || !codesType.hasStaticShape())
        why = "its shapes are not static";
      std::string layer = layerOf(decode);
      if (!why.empty()) {
        report(layer, "decoded float weights (" + why + ")");
        continue;
      }

      OpBuilder b(conv);
      Location loc = conv.getLoc();
      int64_t actBits = quantize.getConfig().getBits();
      int64_t bits = decode.getNumBits();
      int64_t channels = inputType.getDimSize(3);
      ArrayRef<int64_t> codeShape = codesType.getShape();
      int64_t kernelW = codeShape[2];
      ArrayRef<int64_t> pad = conv.getPad(), stride = conv.getStride(),
                        dilation = conv.getDilation();
      // Narrow layers waste most of a word (16 channels use 16 of 64
      // bits): with stride 1 along W, the KW taps of a row are packed
      // together, [(kw, c)] per output column, and the convolution becomes
      // KH x 1 over that layout (zero padding stays code 0).
      int64_t plainWords = wordsFor(channels);
      bool windowed = windowPacking && kernelW > 1 && stride[1] == 1 &&
                      wordsFor(kernelW * channels) < kernelW * plainWords;
      int64_t packedChannels = windowed ? kernelW * channels : channels;
      int64_t words = wordsFor(packedChannels);

      Value &actCodes = activationCodes[quantize];
      if (!actCodes) {
        OpBuilder qb(quantize);
        actCodes = activationCodesOf(qb, quantize);
      }
      Value &packed =
          packedInputs[{quantize,
                        windowed ? std::array<int64_t, 4>{kernelW, pad[2],
                                                          pad[3], dilation[1]}
                                 : std::array<int64_t, 4>{0, 0, 0, 0}}];
      if (!packed) {
        OpBuilder qb(quantize);
        qb.setInsertionPointAfterValue(actCodes);
        Location qloc = quantize.getLoc();
        auto sourceType = cast<RankedTensorType>(actCodes.getType());
        SmallVector<int64_t> packedShape(sourceType.getShape());
        packedShape.back() = actBits;
        packedShape.push_back(words);
        DenseI64ArrayAttr window;
        if (windowed) {
          packedShape[2] += pad[2] + pad[3] - dilation[1] * (kernelW - 1);
          window = qb.getDenseI64ArrayAttr(
              {kernelW, pad[2], pad[3], dilation[1]});
        }
        packed = PackBitsOp::create(
            qb, qloc, RankedTensorType::get(packedShape, qb.getI64Type()),
            actCodes, actBits, window);
      }

      // The trained codes, packed at compile time: [O, KH, KW, C], or
      // [O, KH, 1, KW * C] in the windowed layout (the same order).
      std::vector<uint32_t> codeValues;
      codeValues.reserve(codes.getNumElements());
      for (const APInt &v : codes.getValues<APInt>())
        codeValues.push_back(static_cast<uint32_t>(v.getZExtValue()));
      int64_t weightW = windowed ? 1 : kernelW;
      Value weight = packedWeightConstant(
          b, loc, codeValues, codeShape[0] * codeShape[1] * weightW,
          packedChannels, bits,
          {codeShape[0], codeShape[1], weightW, bits, words});
      SmallVector<int64_t> convPad(pad), convStride(stride),
          convDilation(dilation);
      if (windowed) {
        convPad[2] = convPad[3] = 0;
        convDilation[1] = 1;
      }

      Value biasValue = conv.getBias();
      if (bias.getNumElements() != codeShape[0])
        biasValue = floatConstant(
            b, loc, {codeShape[0]},
            std::vector<float>(codeShape[0],
                               bias.getSplatValue<APFloat>().convertToFloat()));
      auto bitserial = BitserialConv2DOp::create(
          b, decode.getLoc(), resultType, packed, weight, decode.getBasis(),
          quantize.getBasis(), biasValue, convPad, convStride, convDilation);
      conv.replaceAllUsesWith(bitserial.getResult());
      conv.erase();
      report(layer, "bit-serial W" + Twine(bits) + "A" + Twine(actBits) +
                            " (" + Twine(codeShape[0]) + " channels, " +
                            Twine(words) + " word(s) per plane" +
                            (windowed ? ", " + Twine(kernelW) +
                                            " taps per word)"
                                      : Twine(")")));
    }
  }

  /// tosa.matmul(quantize_act(x), decode_weights(codes, v, axis 2)) of a
  /// [1, N, C] x [1, C, O] product with constant codes and bases -> the
  /// rows as N pixels of a 1x1 bit-serial convolution:
  /// reshape [N, 1, 1, C] -> project + pack_bits -> bitserial_conv2d with
  /// the codes as [O, 1, 1, C] -> reshape [1, N, O].
  void rewriteQuantizedMatmuls(func::FuncOp predict) {
    SmallVector<tosa::MatMulOp> matmuls;
    predict.walk([&](tosa::MatMulOp op) { matmuls.push_back(op); });
    for (tosa::MatMulOp matmul : matmuls) {
      auto decode = matmul.getB().getDefiningOp<DecodeWeightsOp>();
      if (!decode)
        continue;
      std::string layer = layerOf(decode);
      auto quantize = matmul.getA().getDefiningOp<QuantizeActOp>();
      auto codes = constantOf<DenseIntElementsAttr>(decode.getCodes());
      auto aType = dyn_cast<RankedTensorType>(matmul.getA().getType());
      auto codesType = decode.getCodes().getType();
      auto resultType = dyn_cast<RankedTensorType>(matmul.getType());
      std::string why;
      if (!quantize)
        why = "its input is not quantized";
      else if (!codes || !constantOf<DenseFPElementsAttr>(decode.getBasis()) ||
               !constantOf<DenseFPElementsAttr>(quantize.getBasis()))
        why = "its codes or bases are not constants";
      else if (!aType || !aType.hasStaticShape() || !resultType ||
               !resultType.hasStaticShape() || !codesType.hasStaticShape() ||
               aType.getDimSize(0) != 1 || decode.getAxis() != 2)
        why = "it is not a [1, N, C] x [1, C, O] product";
      else if (!isZero(matmul.getAZp()) || !isZero(matmul.getBZp()))
        why = "it has non-zero zero points";
      if (!why.empty()) {
        report(layer, "decoded float weights (" + why + ")");
        continue;
      }
      OpBuilder b(matmul);
      Location loc = matmul.getLoc();
      int64_t rowsN = aType.getDimSize(1), channels = aType.getDimSize(2);
      int64_t outputs = codesType.getDimSize(2);
      int64_t actBits = quantize.getConfig().getBits();
      int64_t bits = decode.getNumBits();
      int64_t words = wordsFor(channels);
      Value actCodes = activationCodesOf(b, quantize);
      Value pixels = tosa::ReshapeOp::create(
          b, loc,
          RankedTensorType::get({rowsN, 1, 1, channels}, b.getIntegerType(8)),
          actCodes, constShape(b, loc, {rowsN, 1, 1, channels}));
      Value packed = PackBitsOp::create(
          b, loc,
          RankedTensorType::get({rowsN, 1, 1, actBits, words}, b.getI64Type()),
          pixels, actBits, /*window=*/DenseI64ArrayAttr());
      // Codes [1, C, O] as [O, 1, 1, C], packed.
      std::vector<uint32_t> transposed(outputs * channels);
      int64_t i = 0;
      for (const APInt &v : codes.getValues<APInt>()) {
        int64_t c = i / outputs, o = i % outputs;
        transposed[o * channels + c] = static_cast<uint32_t>(v.getZExtValue());
        ++i;
      }
      Value weight =
          packedWeightConstant(b, loc, transposed, outputs, channels, bits,
                               {outputs, 1, 1, bits, words});
      Value zeroBias =
          floatConstant(b, loc, {outputs}, std::vector<float>(outputs, 0.0f));
      auto bitserial = BitserialConv2DOp::create(
          b, decode.getLoc(),
          RankedTensorType::get({rowsN, 1, 1, outputs}, b.getF32Type()),
          packed, weight, decode.getBasis(), quantize.getBasis(), zeroBias,
          ArrayRef<int64_t>{0, 0, 0, 0}, ArrayRef<int64_t>{1, 1},
          ArrayRef<int64_t>{1, 1});
      Value product = tosa::ReshapeOp::create(
          b, loc, resultType, bitserial.getResult(),
          constShape(b, loc, {1, rowsN, outputs}));
      matmul.replaceAllUsesWith(product);
      matmul.erase();
      report(layer, "bit-serial W" + Twine(bits) + "A" + Twine(actBits) +
                        " matmul as a 1x1 convolution (" + Twine(outputs) +
                        " outputs, " + Twine(words) + " word(s) per plane)");
    }
  }

  /// Batch norm (running statistics) after a convolution with constant
  /// weights or a bit-serial convolution: folded into its weights or basis
  /// and its bias.
  void foldBatchNorms(func::FuncOp predict) {
    SmallVector<BatchNormOp> norms;
    predict.walk([&](BatchNormOp bn) { norms.push_back(bn); });
    for (BatchNormOp bn : norms) {
      Operation *producer = bn.getInput().getDefiningOp();
      if (!producer || !producer->hasOneUse() || bn.getAxis() != 3 ||
          !isa<BitserialConv2DOp, tosa::Conv2DOp>(producer))
        continue;
      auto gamma = constantOf<DenseFPElementsAttr>(bn.getGamma());
      auto beta = constantOf<DenseFPElementsAttr>(bn.getBeta());
      auto mean = constantOf<DenseFPElementsAttr>(bn.getMean());
      auto var = constantOf<DenseFPElementsAttr>(bn.getVar());
      if (!gamma || !beta || !mean || !var)
        continue;
      std::vector<float> g = floatsOf(gamma), t = floatsOf(beta),
                         m = floatsOf(mean), v = floatsOf(var);
      size_t channels = g.size();
      std::vector<float> scale(channels), shift(channels);
      for (size_t o = 0; o < channels; ++o) {
        scale[o] = static_cast<float>(
            g[o] / std::sqrt(double(v[o]) + bn.getEpsilon().convertToDouble()));
        shift[o] = t[o] - m[o] * scale[o];
      }
      auto scaled = [&](Value rows, Value bias, Value &newRows,
                        Value &newBias) {
        auto rowsAttr = constantOf<DenseFPElementsAttr>(rows);
        auto biasAttr = constantOf<DenseFPElementsAttr>(bias);
        if (!rowsAttr || !biasAttr)
          return false;
        auto type = cast<RankedTensorType>(rowsAttr.getType());
        if (type.getDimSize(0) != static_cast<int64_t>(channels))
          return false;
        std::vector<float> r = floatsOf(rowsAttr), b = floatsOf(biasAttr);
        if (b.size() == 1)
          b.assign(channels, b[0]);
        if (b.size() != channels)
          return false;
        size_t per = r.size() / channels;
        for (size_t o = 0; o < channels; ++o) {
          for (size_t i = 0; i < per; ++i)
            r[o * per + i] *= scale[o];
          b[o] = b[o] * scale[o] + shift[o];
        }
        OpBuilder builder(producer);
        newRows = floatConstant(builder, bn.getLoc(), type.getShape(), r);
        newBias = floatConstant(builder, bn.getLoc(),
                                {static_cast<int64_t>(channels)}, b);
        return true;
      };
      Value rows, bias;
      if (auto bitserial = dyn_cast<BitserialConv2DOp>(producer)) {
        if (!scaled(bitserial.getWeightBasis(), bitserial.getBias(), rows,
                    bias))
          continue;
        bitserial.getWeightBasisMutable().assign(rows);
        bitserial.getBiasMutable().assign(bias);
      } else {
        auto conv = cast<tosa::Conv2DOp>(producer);
        if (!scaled(conv.getWeight(), conv.getBias(), rows, bias))
          continue;
        conv.getWeightMutable().assign(rows);
        conv.getBiasMutable().assign(bias);
      }
      std::string layer = layerOf(bn);
      bn.replaceAllUsesWith(producer->getResult(0));
      bn.erase();
      report(layer, Twine("folded into the ") +
                        (isa<BitserialConv2DOp>(producer) ? "bit-serial " : "") +
                        "convolution before it");
    }
  }
};

} // namespace
