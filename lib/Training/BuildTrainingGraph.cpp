//===- BuildTrainingGraph.cpp - dq-build-training-graph -------------------===//
//
// From a quantized model function, builds @init_state, @train_step,
// @predict and, with calibration=true, @calibrate (docs/TrainingGraph.md is
// the contract). The model's trainable constants become explicit state; the
// step is forward (training mode), loss, reverse mode through the
// GradientOpInterface rules, and the updates of docs/Algorithm.md written
// with tensor math and dq ops.
//
//===----------------------------------------------------------------------===//

#include "dq/Training/Passes.h"

#include "dialects/dq/DQOps.h"
#include "dq/Contract/Layers.h"
#include "dq/Contract/TrainingModule.h"
#include "dq/Support/Checks.h"
#include "dq/Training/Autodiff.h"
#include "dq/Interfaces/TensorMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQBUILDTRAININGGRAPH
#include "dq/Training/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;
using namespace mlir::dq;
namespace tmath = mlir::dq::tensormath;
namespace contract = ::dq::contract;

namespace {

/// One state tensor: where its value enters the model and how it starts.
struct StateEntry {
  std::string name;
  Role role;
  RankedTensorType type;
  /// The model operand it replaces (null for derived state: momenta,
  /// latent weights).
  Operation *owner = nullptr;
  unsigned operandIndex = 0;
  /// Initial value: a constant, zeros, or the decoded weight.
  DenseElementsAttr init;
  enum class Init { Constant, Zeros, Decoded } initKind = Init::Constant;
  /// For Decoded: indices of the codes and basis entries.
  int codesEntry = -1, basisEntry = -1;
};

/// The optimizer's buffers of a trained tensor: SGD's momentum (Adam's
/// first moment) and, for Adam, the second moment.
struct Moments {
  int first = -1, second = -1;
};

/// A quantized weight and its state entries.
struct QuantizedWeight {
  DecodeWeightsOp decode;
  WeightScheme scheme;
  int codes, basis, latent = -1;
  Moments moments;
  unsigned index; // among quantized weights, for dq_lean seeds
};

/// A full-precision trained tensor and its moments.
struct TrainedParam {
  int value;
  Moments moments;
};

enum class Optimizer { SGD, Adam, AdamW };

struct ActQuantizer {
  QuantizeActOp op;
  int basis;
};

struct BatchNorm {
  BatchNormOp op;
  int gamma, beta, runningMean, runningVar;
};

struct BuildTrainingGraphPass
    : public mlir::dq::impl::DQBuildTrainingGraphBase<BuildTrainingGraphPass> {
  using DQBuildTrainingGraphBase::DQBuildTrainingGraphBase;
  void runOnOperation() override;

private:
  LogicalResult checkOptions();
  LogicalResult collectState(func::FuncOp model);
  int addEntry(StateEntry entry);
  /// The optimizer's zero-initialized buffers of the tensor named `base`.
  Moments addMoments(const std::string &base, RankedTensorType type);
  std::string layerName(Operation *op) { return layerNames.nameOf(op); }

  /// What a clone of the model quantizes an activation with: the basis
  /// `u` of its state, or one computed from the quantizer's input `x`.
  using ActBasisFn =
      function_ref<Value(const ActQuantizer &, Value x, Value u)>;
  /// Clones the model body into `func`'s entry block with state arguments
  /// substituted; `training` swaps batch norm for its batch-statistics form.
  /// `actBasis`, when given, chooses each activation quantizer's basis.
  Value cloneModel(OpBuilder &b, func::FuncOp model, Value images,
                   ValueRange state, bool training, IRMapping &mapping,
                   ActBasisFn actBasis = nullptr);
  Value toLogits(OpBuilder &b, Location loc, Value output);

  void buildInitState(OpBuilder &b, Location loc);
  LogicalResult buildTrainStep(OpBuilder &b, func::FuncOp model);
  void buildPredict(OpBuilder &b, func::FuncOp model);
  void buildCalibrate(OpBuilder &b, func::FuncOp model);
  /// One least-squares fit of an activation basis to the quantizer's input
  /// `x` (`clamped` = max(x, 0)): nearest codes under `u`, the channel
  /// weights of the quantizer's weighting, the ridge fit from `u`.
  Value fitActBasis(OpBuilder &b, Location loc, const ActQuantizer &a, Value x,
                    Value clamped, Value u);
  /// The types of the state tensors, in order.
  SmallVector<Type> stateTypes() const;

  SmallVector<StateEntry> entries;
  SmallVector<QuantizedWeight> quantized;
  SmallVector<TrainedParam> params;
  SmallVector<ActQuantizer> actQuantizers;
  SmallVector<BatchNorm> batchNorms;
  /// (owner op, operand index) -> state entry.
  DenseMap<std::pair<Operation *, unsigned>, int> operandState;
  /// Two ops with the same name (e.g. an fc matmul and its bias add) share
  /// the prefix; their state names differ by what they are.
  LayerNamer layerNames;
  llvm::StringSet<> usedNames;
  int64_t batch = 0, classes = 0;
  Optimizer optimizerKind = Optimizer::SGD;
};

} // namespace

int BuildTrainingGraphPass::addEntry(StateEntry entry) {
  std::string unique = entry.name;
  for (int n = 1; usedNames.contains(unique); ++n)
    unique = entry.name + "#" + std::to_string(n);
  usedNames.insert(unique);
  entry.name = unique;
  entries.push_back(std::move(entry));
  int index = entries.size() - 1;
  if (entries[index].owner)
    operandState[{entries[index].owner, entries[index].operandIndex}] = index;
  return index;
}

Moments BuildTrainingGraphPass::addMoments(const std::string &base,
                                           RankedTensorType type) {
  Moments moments;
  StateEntry first{base + ".momentum", Role::Momentum, type};
  first.initKind = StateEntry::Init::Zeros;
  moments.first = addEntry(first);
  if (optimizerKind != Optimizer::SGD) {
    StateEntry second{base + ".second_moment", Role::SecondMoment, type};
    second.initKind = StateEntry::Init::Zeros;
    moments.second = addEntry(second);
  }
  return moments;
}

/// A constant's value as dense elements; dense_resource blobs (large
/// parameters written by dq-import) are copied out.
static DenseElementsAttr constantOf(Value v) {
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return {};
  if (auto dense = dyn_cast<DenseElementsAttr>(attr))
    return dense;
  if (auto blob = dyn_cast<DenseF32ResourceElementsAttr>(attr))
    if (std::optional<ArrayRef<float>> data = blob.tryGetAsArrayRef())
      return DenseElementsAttr::get(blob.getType(), *data);
  return {};
}

/// Codes index 2^K levels: an out-of-range code (a negative one, or one
/// with bits above K) would decode to a level the weight update never
/// produces.
static LogicalResult checkCodes(DecodeWeightsOp decode,
                                DenseElementsAttr codes) {
  auto ints = dyn_cast<DenseIntElementsAttr>(codes);
  if (!ints)
    return decode.emitError("the training graph needs integer codes");
  int64_t levels = int64_t(1) << decode.getNumBits();
  // Codes are unsigned (decoding casts them with index_castui): an i8 code
  // of 8-bit weights reaches 255, which prints as -1 in signed form.
  auto outOfRange = [&](const APInt &code) { return code.uge(levels); };
  if (ints.isSplat()) {
    APInt code = ints.getSplatValue<APInt>();
    if (!outOfRange(code))
      return success();
    return decode.emitError()
           << "codes must be in [0, " << levels << ") for "
           << decode.getNumBits() << "-bit weights, got the splat "
           << code.getZExtValue();
  }
  int64_t bad = 0, first = -1;
  uint64_t firstValue = 0;
  for (auto [index, code] : llvm::enumerate(ints.getValues<APInt>()))
    if (outOfRange(code)) {
      if (bad++ == 0) {
        first = index;
        firstValue = code.getZExtValue();
      }
    }
  if (bad == 0)
    return success();
  return decode.emitError()
         << "codes must be in [0, " << levels << ") for " << decode.getNumBits()
         << "-bit weights; " << bad << " of " << ints.getNumElements()
         << " are not (the first: " << firstValue << " at index " << first
         << ")";
}

LogicalResult BuildTrainingGraphPass::collectState(func::FuncOp model) {
  auto addParam = [&](Operation *op, unsigned operand, StringRef what,
                      Operation *namedBy = nullptr) -> LogicalResult {
    Value v = op->getOperand(operand);
    DenseElementsAttr init = constantOf(v);
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!init || !type || !type.getElementType().isF32())
      return success(); // not a trainable constant: stays as it is
    std::string base = layerName(namedBy ? namedBy : op) + "." + what.str();
    StateEntry value{base, Role::Param, type, op, operand, init};
    int valueIndex = addEntry(value);
    params.push_back({valueIndex, addMoments(base, type)});
    return success();
  };

  WalkResult result = model.walk([&](Operation *op) -> WalkResult {
    if (auto decode = dyn_cast<DecodeWeightsOp>(op)) {
      DenseElementsAttr codes = constantOf(decode.getCodes());
      DenseElementsAttr basis = constantOf(decode.getBasis());
      if (!codes || !basis)
        return decode.emitError(
            "the training graph needs constant codes and basis (weights "
            "passed as arguments or computed are not supported yet)");
      if (!decode.getConfigAttr())
        return decode.emitError("the training graph needs the weight_quant "
                                "config (which scheme trains these weights)");
      if (failed(checkCodes(decode, codes)))
        return WalkResult::interrupt();
      if (decode->use_empty())
        return WalkResult::advance();
      Operation *layer = *decode->getUsers().begin();
      std::string base = layerName(layer) + ".weight";
      QuantizedWeight q;
      q.decode = decode;
      q.scheme = decode.getConfigAttr().getScheme();
      q.index = quantized.size();
      q.codes = addEntry({base + contract::kCodesSuffix, Role::Codes,
                          decode.getCodes().getType(), decode, 0, codes});
      q.basis = addEntry({base + contract::kBasisSuffix, Role::Basis,
                          decode.getBasis().getType(), decode, 1, basis});
      if (q.scheme != WeightScheme::DQLean) {
        StateEntry latent{base + ".latent", Role::Latent, decode.getType()};
        latent.initKind = StateEntry::Init::Decoded;
        latent.codesEntry = q.codes;
        latent.basisEntry = q.basis;
        // Fine-tuning: the fp32 weights the codes were fitted to (the
        // dialect verified their type).
        if (auto fp32 = decode->getAttrOfType<DenseElementsAttr>(
                contract::kLatentInitAttr)) {
          latent.initKind = StateEntry::Init::Constant;
          latent.init = fp32;
        }
        q.latent = addEntry(latent);
      }
      // Only the initial state needs them; not every clone of the model.
      decode->removeAttr(contract::kLatentInitAttr);
      q.moments = addMoments(base, decode.getType());
      quantized.push_back(q);
      return WalkResult::advance();
    }
    if (auto act = dyn_cast<QuantizeActOp>(op)) {
      DenseElementsAttr basis = constantOf(act.getBasis());
      if (!basis)
        return act.emitError("the training graph needs a constant "
                             "activation basis");
      if (act->use_empty())
        return WalkResult::advance();
      // A linalg-form layer reads the quantized activations padded.
      Operation *layer = *act->getUsers().begin();
      while (isa<tensor::PadOp>(layer) && !layer->use_empty())
        layer = *layer->getUsers().begin();
      actQuantizers.push_back(
          {act, addEntry({layerName(layer) + ".input" + contract::kBasisSuffix,
                          Role::ActBasis, act.getBasis().getType(), act, 1,
                          basis})});
      return WalkResult::advance();
    }
    // A layer's constant f32 weight and bias (the one table of layer ops).
    if (std::optional<LayerOpInfo> layer = layerOpInfo(op)) {
      if (failed(addParam(op, layer->weightOperand, "weight")) ||
          (layer->biasOperand &&
           failed(addParam(op, *layer->biasOperand, "bias"))))
        return WalkResult::interrupt();
      return WalkResult::advance();
    }
    if (std::optional<BiasSite> site = biasSiteOf(op)) {
      for (unsigned i : site->operands)
        if (failed(addParam(op, i, "bias", site->namedBy)))
          return WalkResult::interrupt();
      return WalkResult::advance();
    }
    if (auto bn = dyn_cast<BatchNormOp>(op)) {
      std::string base = layerName(op);
      BatchNorm entry;
      entry.op = bn;
      auto perChannel = [&](unsigned operand, StringRef what, Role role,
                            int &slot) -> bool {
        DenseElementsAttr init = constantOf(op->getOperand(operand));
        if (!init) {
          bn.emitError() << "the training graph needs a constant " << what;
          return false;
        }
        slot =
            addEntry({base + "." + what.str(), role,
                      cast<RankedTensorType>(op->getOperand(operand).getType()),
                      op, operand, init});
        return true;
      };
      // A copy: adding entries moves them.
      auto momentsOf = [&](int of) {
        std::string name = entries[of].name;
        return addMoments(name, entries[of].type);
      };
      if (!perChannel(1, "gamma", Role::Param, entry.gamma))
        return WalkResult::interrupt();
      Moments gammaMoments = momentsOf(entry.gamma);
      if (!perChannel(2, "beta", Role::Param, entry.beta))
        return WalkResult::interrupt();
      Moments betaMoments = momentsOf(entry.beta);
      // Running statistics are named after their roles.
      if (!perChannel(3, roleNameRef(Role::RunningMean), Role::RunningMean,
                      entry.runningMean) ||
          !perChannel(4, roleNameRef(Role::RunningVar), Role::RunningVar,
                      entry.runningVar))
        return WalkResult::interrupt();
      params.push_back({entry.gamma, gammaMoments});
      params.push_back({entry.beta, betaMoments});
      batchNorms.push_back(entry);
      return WalkResult::advance();
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

Value BuildTrainingGraphPass::cloneModel(OpBuilder &b, func::FuncOp model,
                                         Value images, ValueRange state,
                                         bool training, IRMapping &mapping,
                                         ActBasisFn actBasis) {
  Block &body = model.getBody().front();
  mapping.map(body.getArgument(0), images);
  for (Operation &op : body.without_terminator()) {
    if (training)
      if (auto bn = dyn_cast<BatchNormOp>(&op)) {
        const BatchNorm *entry = llvm::find_if(
            batchNorms, [&](const BatchNorm &e) { return e.op == bn; });
        auto train = BatchNormTrainOp::create(
            b, bn.getLoc(),
            TypeRange{bn.getType(), bn.getMean().getType(),
                      bn.getVar().getType()},
            mapping.lookup(bn.getInput()), state[entry->gamma],
            state[entry->beta], bn.getAxisAttr(), bn.getEpsilonAttr());
        // Synchronized batch norm: the statistics of the whole batch.
        train.setCrossReplica(dataParallel);
        mapping.map(bn.getResult(), train.getResult());
        continue;
      }
    Operation *clone = b.clone(op, mapping);
    for (unsigned i = 0, e = op.getNumOperands(); i < e; ++i) {
      auto it = operandState.find({&op, i});
      if (it != operandState.end())
        clone->setOperand(i, state[it->second]);
    }
    if (actBasis)
      if (auto act = dyn_cast<QuantizeActOp>(&op)) {
        const ActQuantizer *entry = llvm::find_if(
            actQuantizers, [&](const ActQuantizer &e) { return e.op == act; });
        // A quantizer without users has no state and keeps its constant.
        if (entry != actQuantizers.end()) {
          auto cloned = cast<QuantizeActOp>(clone);
          b.setInsertionPoint(cloned);
          Value basis = actBasis(*entry, cloned.getInput(), state[entry->basis]);
          cloned.getBasisMutable().assign(basis);
          b.setInsertionPointAfter(cloned);
        }
      }
  }
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  return mapping.lookup(ret.getOperand(0));
}

Value BuildTrainingGraphPass::toLogits(OpBuilder &b, Location loc,
                                       Value output) {
  return tmath::reshape(b, loc, output, {batch, classes});
}

/// The tags of the state entry's argument or result.
static DictionaryAttr stateAttrs(OpBuilder &b, const StateEntry &entry) {
  return mlir::dq::stateAttrs(b.getContext(), entry.name, entry.role);
}

void BuildTrainingGraphPass::buildInitState(OpBuilder &b, Location loc) {
  SmallVector<Type> types;
  SmallVector<Attribute> resultAttrs;
  for (const StateEntry &e : entries) {
    types.push_back(e.type);
    resultAttrs.push_back(stateAttrs(b, e));
  }
  auto func = func::FuncOp::create(b, loc, kInitStateName,
                                   b.getFunctionType({}, types));
  func.setAllResultAttrs(resultAttrs);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(func.addEntryBlock());
  SmallVector<Value> values(entries.size());
  for (auto [i, e] : llvm::enumerate(entries)) {
    if (e.initKind == StateEntry::Init::Constant)
      values[i] = arith::ConstantOp::create(b, loc, e.type, e.init);
    else if (e.initKind == StateEntry::Init::Zeros)
      values[i] = tmath::splat(b, loc, e.type, 0.0);
  }
  for (auto [i, e] : llvm::enumerate(entries))
    if (e.initKind == StateEntry::Init::Decoded) {
      auto decode = cast<DecodeWeightsOp>(entries[e.codesEntry].owner);
      values[i] = DecodeWeightsOp::create(
          b, loc, e.type, values[e.codesEntry], values[e.basisEntry],
          decode.getAxisAttr(), decode.getConfigAttr());
    }
  func::ReturnOp::create(b, loc, values);
}

void BuildTrainingGraphPass::buildPredict(OpBuilder &b, func::FuncOp model) {
  Location loc = model.getLoc();
  SmallVector<Type> types;
  for (const StateEntry &e : entries)
    types.push_back(e.type);
  types.push_back(model.getArgumentTypes()[0]);
  auto logitsType = RankedTensorType::get({batch, classes}, b.getF32Type());
  auto func = func::FuncOp::create(b, loc, kPredictName,
                                   b.getFunctionType(types, {logitsType}));
  for (auto [i, e] : llvm::enumerate(entries))
    func.setArgAttrs(i, stateAttrs(b, e));
  OpBuilder::InsertionGuard guard(b);
  Block *block = func.addEntryBlock();
  b.setInsertionPointToStart(block);
  IRMapping mapping;
  ValueRange args = block->getArguments();
  Value output = cloneModel(b, model, args.back(), args.drop_back(),
                            /*training=*/false, mapping);
  func::ReturnOp::create(b, loc, toLogits(b, loc, output));
}

SmallVector<Type> BuildTrainingGraphPass::stateTypes() const {
  SmallVector<Type> types;
  for (const StateEntry &e : entries)
    types.push_back(e.type);
  return types;
}

/// max(x, 0), the values an activation quantizer's codes encode.
static Value clampAtZero(OpBuilder &b, Location loc, Value x) {
  return tmath::map(b, loc, {x}, cast<RankedTensorType>(x.getType()),
                    [](OpBuilder &nb, Location l, ValueRange v) -> Value {
                      Value zero = arith::ConstantOp::create(
                          nb, l, nb.getFloatAttr(v[0].getType(), 0.0));
                      return arith::MaximumFOp::create(nb, l, v[0], zero);
                    });
}

Value BuildTrainingGraphPass::fitActBasis(OpBuilder &b, Location loc,
                                          const ActQuantizer &a, Value x,
                                          Value clamped, Value u) {
  MLIRContext *ctx = &getContext();
  QuantizeActOp act = a.op; // op handles have no const accessors
  auto xType = cast<RankedTensorType>(x.getType());
  auto codesType = RankedTensorType::get(xType.getShape(), b.getI8Type());
  ActQuantAttr config = act.getConfig();
  Value codes = ProjectOp::create(
      b, loc, codesType, clamped, u, Value(), act.getAxisAttr(),
      EncodingAttr::get(ctx, Encoding::Unipolar),
      RoundingAttr::get(ctx, Rounding::Nearest), IntegerAttr());
  Value weights;
  if (config.getWeighting() == ChannelWeighting::Energy) {
    int64_t channels = xType.getDimSize(act.getAxis());
    weights = ChannelWeightsOp::create(
        b, loc, RankedTensorType::get({channels}, b.getF32Type()), clamped, u,
        act.getAxisAttr(),
        b.getF64FloatAttr(config.getTrim().convertToDouble()),
        b.getF64FloatAttr(trimEpsilon));
    cast<ChannelWeightsOp>(weights.getDefiningOp())
        .setCrossReplica(dataParallel);
  }
  // Data-parallel: one fit of the whole batch, the same in every process.
  auto fit = FitLevelsOp::create(b, loc, u.getType(), codes, x, u, weights,
                                 act.getAxisAttr(),
                                 EncodingAttr::get(ctx, Encoding::Unipolar),
                                 b.getF64FloatAttr(ridge));
  fit.setCrossReplica(dataParallel);
  return fit;
}

void BuildTrainingGraphPass::buildCalibrate(OpBuilder &b, func::FuncOp model) {
  Location loc = model.getLoc();
  SmallVector<Type> argTypes = stateTypes(), resultTypes = stateTypes();
  argTypes.push_back(model.getArgumentTypes()[0]);
  argTypes.push_back(b.getI64Type());
  argTypes.push_back(b.getI64Type());
  auto func = func::FuncOp::create(b, loc, kCalibrateName,
                                   b.getFunctionType(argTypes, resultTypes));
  for (auto [i, e] : llvm::enumerate(entries)) {
    func.setArgAttrs(i, stateAttrs(b, e));
    func.setResultAttrs(i, stateAttrs(b, e));
  }
  OpBuilder::InsertionGuard guard(b);
  Block *block = func.addEntryBlock();
  b.setInsertionPointToStart(block);
  unsigned n = entries.size();
  ValueRange state = block->getArguments().take_front(n);
  Value images = block->getArgument(n), batches = block->getArgument(n + 1);
  // A run-time trip count: a constant one would be unrolled by LLVM into
  // that many copies of every fit.
  Value iterations = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                                block->getArgument(n + 2));
  // The weight of this batch in the running average, 1 / (batches + 1).
  Type f32 = b.getF32Type();
  Value count = arith::SIToFPOp::create(
      b, loc, f32,
      arith::AddIOp::create(
          b, loc, batches,
          arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(1))));
  Value weight = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({}, f32),
      ValueRange{arith::DivFOp::create(
          b, loc, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0)),
          count)});
  SmallVector<Value> next(state.begin(), state.end());
  IRMapping mapping;
  cloneModel(b, model, images, state, /*training=*/false, mapping,
             [&](const ActQuantizer &a, Value x, Value u) -> Value {
               Location l = QuantizeActOp(a.op).getLoc();
               // A loop: each fit is a large piece of code.
               Value clamped = clampAtZero(b, l, x);
               auto index = [&](int64_t v) -> Value {
                 return arith::ConstantIndexOp::create(b, l, v);
               };
               auto fits = scf::ForOp::create(
                   b, l, index(0), iterations, index(1),
                   ValueRange{u},
                   [&](OpBuilder &nb, Location ll, Value, ValueRange basis) {
                     scf::YieldOp::create(
                         nb, ll, fitActBasis(nb, ll, a, x, clamped, basis[0]));
                   });
               Value fitted = fits.getResult(0);
               // u + w (fit - u)
               Value average = tmath::map(
                   b, l, {u, fitted, weight},
                   cast<RankedTensorType>(u.getType()),
                   [](OpBuilder &nb, Location ll, ValueRange v) -> Value {
                     Value delta = arith::SubFOp::create(nb, ll, v[1], v[0]);
                     return arith::AddFOp::create(
                         nb, ll, v[0], arith::MulFOp::create(nb, ll, v[2], delta));
                   });
               next[a.basis] = average;
               return average;
             });
  func::ReturnOp::create(b, loc, next);
}

LogicalResult BuildTrainingGraphPass::buildTrainStep(OpBuilder &b,
                                                     func::FuncOp model) {
  Location loc = model.getLoc();
  MLIRContext *ctx = &getContext();
  Type f32 = b.getF32Type();
  SmallVector<Type> argTypes, resultTypes;
  for (const StateEntry &e : entries) {
    argTypes.push_back(e.type);
    resultTypes.push_back(e.type);
  }
  argTypes.push_back(model.getArgumentTypes()[0]);
  argTypes.push_back(RankedTensorType::get({batch}, b.getI32Type()));
  argTypes.push_back(f32);
  argTypes.push_back(b.getI64Type());
  resultTypes.push_back(RankedTensorType::get({}, f32));
  resultTypes.push_back(RankedTensorType::get({}, b.getI32Type()));
  auto func = func::FuncOp::create(b, loc, kTrainStepName,
                                   b.getFunctionType(argTypes, resultTypes));
  for (auto [i, e] : llvm::enumerate(entries)) {
    func.setArgAttrs(i, stateAttrs(b, e));
    func.setResultAttrs(i, stateAttrs(b, e));
  }
  OpBuilder::InsertionGuard guard(b);
  Block *block = func.addEntryBlock();
  b.setInsertionPointToStart(block);
  unsigned n = entries.size();
  ValueRange state = block->getArguments().take_front(n);
  Value images = block->getArgument(n), labels = block->getArgument(n + 1);
  Value lrScalar = block->getArgument(n + 2), step = block->getArgument(n + 3);

  // 1-2. Forward in training mode and the loss.
  IRMapping mapping;
  Value output =
      cloneModel(b, model, images, state, /*training=*/true, mapping);
  Value logits = toLogits(b, loc, output);
  auto lossType = RankedTensorType::get({}, f32);
  Value loss = SoftmaxCrossEntropyOp::create(b, loc, lossType, logits, labels);
  Value correct = CountCorrectOp::create(
      b, loc, RankedTensorType::get({}, b.getI32Type()), logits, labels);

  // 3. Gradients of the decoded weights and of every trained tensor.
  SmallVector<Value> wrt;
  for (const QuantizedWeight &q : quantized)
    wrt.push_back(mapping.lookup(DecodeWeightsOp(q.decode).getResult()));
  for (const TrainedParam &p : params)
    wrt.push_back(state[p.value]);
  Value one = tmath::splat(b, loc, lossType, 1.0);
  auto grads = buildReverseMode(b, *block, {loss}, {one}, wrt);
  if (failed(grads))
    return failure();
  // Data-parallel: each process has the gradient of its share of the
  // batch's losses; their mean is the gradient of the whole batch's mean
  // loss. Loss and correct are reported for the whole batch.
  // One call for all of them (and the loss), one for the count.
  if (dataParallel) {
    SmallVector<Value> local;
    for (Value g : *grads)
      if (g)
        local.push_back(g);
    local.push_back(loss);
    SmallVector<Value> global =
        AllReduceOp::createJoint(b, loc, local, Reduction::Mean);
    unsigned next = 0;
    for (Value &g : *grads)
      if (g)
        g = global[next++];
    loss = global[next];
    correct = AllReduceOp::create(b, loc, correct, Reduction::Sum);
  }

  // 4. Updates, all from the values before the step.
  SmallVector<Value> next(state.begin(), state.end());
  Value lr = tensor::FromElementsOp::create(b, loc, lossType, lrScalar);
  double mu = momentum, lambda = weightDecay;
  // m' = mu m + g + lambda p
  auto momentumStep = [&](Value m, Value g, Value p) {
    return tmath::map(
        b, loc, {m, g, p}, cast<RankedTensorType>(m.getType()),
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Type t = a[0].getType();
          Value muV = arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, mu));
          Value laV =
              arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, lambda));
          Value acc = arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, muV, a[0]), a[1]);
          return arith::AddFOp::create(nb, l, acc,
                                       arith::MulFOp::create(nb, l, laV, a[2]));
        });
  };
  // p - lr * m
  auto descend = [&](Value p, Value m) {
    return tmath::map(b, loc, {p, m, lr}, cast<RankedTensorType>(p.getType()),
                      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        return arith::SubFOp::create(
                            nb, l, a[0],
                            arith::MulFOp::create(nb, l, a[2], a[1]));
                      });
  };
  auto floatConstant = [](OpBuilder &nb, Location l, Type t, double v) {
    return arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, v));
  };
  // Adam's bias corrections at step t = step + 1, as torch.optim.Adam
  // computes them (in double, once per step): the step size lr / (1 -
  // beta1^t) and sqrt(1 - beta2^t).
  Value adamStepSize, adamCorrection2;
  if (optimizerKind != Optimizer::SGD) {
    Type f64 = b.getF64Type();
    Value one = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(1));
    Value t = arith::SIToFPOp::create(
        b, loc, f64, arith::AddIOp::create(b, loc, step, one));
    auto correction = [&](double beta) -> Value {
      Value power =
          math::PowFOp::create(b, loc, floatConstant(b, loc, f64, beta), t);
      return arith::SubFOp::create(b, loc, floatConstant(b, loc, f64, 1.0),
                                   power);
    };
    auto toTensor = [&](Value scalar) -> Value {
      Value narrow = arith::TruncFOp::create(b, loc, f32, scalar);
      return tensor::FromElementsOp::create(b, loc, lossType, narrow);
    };
    Value lr64 = arith::ExtFOp::create(b, loc, f64, lrScalar);
    adamStepSize =
        toTensor(arith::DivFOp::create(b, loc, lr64, correction(beta1)));
    adamCorrection2 = toTensor(math::SqrtOp::create(b, loc, correction(beta2)));
  }
  // One optimizer step of a trained tensor with gradient `g`, whose weight
  // decay pulls `p` toward zero: the new moments and what every copy of the
  // tensor descends by (x is p, or for the dq scheme also its decoded
  // weights). SGD descends by lr * m', Adam by `delta`, computed once.
  struct OptimizerStep {
    Value first, second, delta;
  };
  auto optimizerStep = [&](Moments moments, Value g, Value p) {
    OptimizerStep out;
    Value m = state[moments.first];
    if (optimizerKind == Optimizer::SGD) {
      out.first = momentumStep(m, g, p);
      return out;
    }
    auto type = cast<RankedTensorType>(m.getType());
    double b1 = beta1, b2 = beta2, eps = adamEpsilon, lambda = weightDecay;
    bool coupled = optimizerKind == Optimizer::Adam;
    // Adam adds the L2 term to the gradient; AdamW decays the tensor.
    Value grad = g;
    if (coupled && lambda != 0.0)
      grad = tmath::map(
          b, loc, {g, p}, type,
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value la = floatConstant(nb, l, a[0].getType(), lambda);
            return arith::AddFOp::create(
                nb, l, a[0], arith::MulFOp::create(nb, l, la, a[1]));
          });
    // m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2
    out.first = tmath::map(
        b, loc, {m, grad}, type,
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Type t = a[0].getType();
          return arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, floatConstant(nb, l, t, b1),
                                           a[0]),
              arith::MulFOp::create(nb, l, floatConstant(nb, l, t, 1.0 - b1),
                                    a[1]));
        });
    out.second = tmath::map(
        b, loc, {state[moments.second], grad}, type,
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Type t = a[0].getType();
          Value square = arith::MulFOp::create(nb, l, a[1], a[1]);
          return arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, floatConstant(nb, l, t, b2),
                                           a[0]),
              arith::MulFOp::create(nb, l, floatConstant(nb, l, t, 1.0 - b2),
                                    square));
        });
    // stepSize m' / (sqrt(v') / sqrt(1 - b2^t) + eps) [+ lr lambda p, adamw]
    bool decays = !coupled && lambda != 0.0;
    SmallVector<Value> inputs = {out.first, out.second, adamStepSize,
                                 adamCorrection2};
    if (decays)
      inputs.append({p, lr});
    out.delta = tmath::map(
        b, loc, inputs, type,
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Type t = a[0].getType();
          Value denominator = arith::AddFOp::create(
              nb, l,
              arith::DivFOp::create(nb, l, math::SqrtOp::create(nb, l, a[1]),
                                    a[3]),
              floatConstant(nb, l, t, eps));
          Value step = arith::DivFOp::create(
              nb, l, arith::MulFOp::create(nb, l, a[2], a[0]), denominator);
          if (!decays)
            return step;
          Value decay = arith::MulFOp::create(
              nb, l,
              arith::MulFOp::create(nb, l, a[5],
                                    floatConstant(nb, l, t, lambda)),
              a[4]);
          return arith::AddFOp::create(nb, l, step, decay);
        });
    return out;
  };
  auto apply = [&](const OptimizerStep &s, Value x) -> Value {
    return s.delta ? tmath::sub(b, loc, x, s.delta) : descend(x, s.first);
  };
  auto storeMoments = [&](SmallVector<Value> &next, Moments moments,
                          const OptimizerStep &s) {
    next[moments.first] = s.first;
    if (moments.second >= 0)
      next[moments.second] = s.second;
  };
  // a * x + (1 - a) * y
  auto blend = [&](Value x, Value y, double a) {
    return tmath::map(
        b, loc, {x, y}, cast<RankedTensorType>(x.getType()),
        [&](OpBuilder &nb, Location l, ValueRange v) -> Value {
          Type t = v[0].getType();
          Value aV = arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, a));
          Value bV =
              arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, 1.0 - a));
          return arith::AddFOp::create(nb, l,
                                       arith::MulFOp::create(nb, l, aV, v[0]),
                                       arith::MulFOp::create(nb, l, bV, v[1]));
        });
  };
  auto ridgeAttr = b.getF64FloatAttr(ridge);

  for (auto [i, q] : llvm::enumerate(quantized)) {
    Value g = (*grads)[i];
    Value wq = mapping.lookup(q.decode.getResult());
    Value codes = state[q.codes], basis = state[q.basis];
    auto axis = q.decode.getAxisAttr();
    auto codesType = cast<RankedTensorType>(codes.getType());
    auto project = [&](Value values, Rounding rounding) -> Value {
      bool stochastic = rounding == Rounding::Stochastic;
      return ProjectOp::create(
          b, loc, codesType, values, basis, stochastic ? step : Value(), axis,
          EncodingAttr::get(ctx, Encoding::Bipolar),
          RoundingAttr::get(ctx, rounding),
          stochastic ? b.getI64IntegerAttr(seed + q.index) : IntegerAttr());
    };
    auto fit = [&](Value newCodes, Value targets) -> Value {
      return FitLevelsOp::create(
          b, loc, basis.getType(), newCodes, targets, basis, Value(), axis,
          EncodingAttr::get(ctx, Encoding::Bipolar), ridgeAttr);
    };
    switch (q.scheme) {
    case WeightScheme::LQNets: {
      Value w = state[q.latent];
      OptimizerStep s = optimizerStep(q.moments, g, w);
      Value w2 = apply(s, w);
      Value c2 = project(w2, Rounding::Nearest);
      next[q.latent] = w2;
      storeMoments(next, q.moments, s);
      next[q.codes] = c2;
      next[q.basis] = blend(basis, fit(c2, w2), lqnetsBasisMomentum);
      break;
    }
    case WeightScheme::DQ: {
      Value w = state[q.latent];
      OptimizerStep s = optimizerStep(q.moments, g, w);
      Value target = apply(s, wq);
      Value w2 = apply(s, w);
      Value c2 = project(w2, Rounding::Nearest);
      next[q.latent] = w2;
      storeMoments(next, q.moments, s);
      next[q.codes] = c2;
      next[q.basis] = fit(c2, target);
      break;
    }
    case WeightScheme::DQLean: {
      OptimizerStep s = optimizerStep(q.moments, g, wq);
      Value target = apply(s, wq);
      Value c2 = project(target, Rounding::Stochastic);
      storeMoments(next, q.moments, s);
      next[q.codes] = c2;
      next[q.basis] = fit(c2, target);
      break;
    }
    }
  }

  for (auto [i, p] : llvm::enumerate(params)) {
    Value g = (*grads)[quantized.size() + i];
    OptimizerStep s = optimizerStep(p.moments, g, state[p.value]);
    storeMoments(next, p.moments, s);
    next[p.value] = apply(s, state[p.value]);
  }

  for (ActQuantizer &a : actQuantizers) {
    Value u = state[a.basis];
    Value x = mapping.lookup(a.op.getInput());
    Value fitted = fitActBasis(b, loc, a, x, clampAtZero(b, loc, x), u);
    next[a.basis] = blend(u, fitted, actMomentum);
  }

  // Data-parallel: the number of processes (an all-reduced 1), for the
  // unbiasing of the running variances over the whole batch.
  Value processes;
  if (dataParallel && !batchNorms.empty())
    processes = AllReduceOp::create(b, loc, tmath::splat(b, loc, lossType, 1.0),
                                    Reduction::Sum);
  for (BatchNorm &bn : batchNorms) {
    auto train = cast<BatchNormTrainOp>(
        mapping.lookup(bn.op.getResult()).getDefiningOp());
    auto type = bn.op.getType();
    double count = static_cast<double>(type.getNumElements()) /
                   static_cast<double>(type.getDimSize(bn.op.getAxis()));
    double bm = bnMomentum;
    next[bn.runningMean] =
        blend(state[bn.runningMean], train.getBatchMean(), 1.0 - bm);
    Value unbiased;
    if (processes) {
      // n / (n - 1) with n = processes * count, the whole batch's count.
      Value factor = tmath::map(
          b, loc, {processes}, lossType,
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Type t = a[0].getType();
            Value n = arith::MulFOp::create(
                nb, l, a[0], arith::ConstantOp::create(
                                 nb, l, nb.getFloatAttr(t, count)));
            Value one = arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, 1.0));
            Value nMinusOne = arith::MaximumFOp::create(
                nb, l, arith::SubFOp::create(nb, l, n, one), one);
            return arith::DivFOp::create(nb, l, n, nMinusOne);
          });
      unbiased = tmath::mul(b, loc, train.getBatchVar(), factor);
    } else {
      unbiased = tmath::scale(b, loc, train.getBatchVar(),
                              count / std::max(count - 1.0, 1.0));
    }
    next[bn.runningVar] = blend(state[bn.runningVar], unbiased, 1.0 - bm);
  }

  next.push_back(loss);
  next.push_back(correct);
  func::ReturnOp::create(b, loc, next);
  return success();
}

LogicalResult BuildTrainingGraphPass::checkOptions() {
  Location loc = getOperation().getLoc();
  StringRef pass = "dq-build-training-graph";
  if (loss != "softmax-cross-entropy") {
    emitOptionError(loc, pass, "loss")
        << "must be softmax-cross-entropy, got '" << loss << "'";
    return failure();
  }
  if (optimizer == "sgd") {
    optimizerKind = Optimizer::SGD;
  } else if (optimizer == "adam") {
    optimizerKind = Optimizer::Adam;
  } else if (optimizer == "adamw") {
    optimizerKind = Optimizer::AdamW;
  } else {
    emitOptionError(loc, pass, "optimizer")
        << "must be sgd, adam or adamw, got '" << optimizer << "'";
    return failure();
  }
  // Factors of moving averages are in [0, 1] (Adam's below 1: its bias
  // correction divides by 1 - beta^t); ridge and epsilons keep the fits'
  // solves and the divisions away from 0.
  auto unit = OptionRange::closed(0.0, 1.0);
  const std::pair<StringRef, std::pair<double, OptionRange>> checks[] = {
      {"momentum", {momentum, unit}},
      {"beta1", {beta1, OptionRange::rightOpen(0.0, 1.0)}},
      {"beta2", {beta2, OptionRange::rightOpen(0.0, 1.0)}},
      {"epsilon", {adamEpsilon, OptionRange::positive()}},
      {"weight-decay", {weightDecay, OptionRange::atLeast(0.0)}},
      {"ridge", {ridge, OptionRange::positive()}},
      {"act-momentum", {actMomentum, unit}},
      {"lqnets-basis-momentum", {lqnetsBasisMomentum, unit}},
      {"bn-momentum", {bnMomentum, unit}},
      {"trim-epsilon", {trimEpsilon, OptionRange::positive()}},
  };
  for (const auto &[name, check] : checks)
    if (failed(checkOption(loc, pass, name, check.first, check.second)))
      return failure();
  return success();
}

void BuildTrainingGraphPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (failed(checkOptions()))
    return signalPassFailure();
  // Errors about the module as a whole go on its location, without the
  // module printed as a note.
  auto moduleError = [&]() {
    return mlir::emitError(module.getLoc()) << "dq-build-training-graph: ";
  };
  // The named function, else the only public one (else @model).
  FailureOr<FunctionOpInterface> selected =
      selectFunction(module, funcName, "dq-build-training-graph", "model");
  if (failed(selected))
    return signalPassFailure();
  auto model = dyn_cast<func::FuncOp>(selected->getOperation());
  if (!model) {
    moduleError() << "@" << selected->getName()
                  << " is not a func.func (set func=<name>)";
    return signalPassFailure();
  }
  for (StringRef taken :
       {kInitStateName, kTrainStepName, kPredictName, kCalibrateName})
    if (module.lookupSymbol(taken)) {
      moduleError() << "the module already has a symbol named '" << taken
                    << "'";
      return signalPassFailure();
    }
  if (failed(checkNoRecursion(model, "dq-build-training-graph")))
    return signalPassFailure();
  auto inputType = model.getNumArguments() == 1
                       ? dyn_cast<RankedTensorType>(model.getArgumentTypes()[0])
                       : RankedTensorType();
  auto outputType = model.getNumResults() == 1
                        ? dyn_cast<RankedTensorType>(model.getResultTypes()[0])
                        : RankedTensorType();
  if (!inputType || !inputType.hasStaticShape() || !outputType ||
      !outputType.hasStaticShape() || !model.getBody().hasOneBlock()) {
    mlir::emitError(model.getLoc())
        << "dq-build-training-graph needs a model with one static image "
           "argument, one static logits result and one block";
    return signalPassFailure();
  }
  batch = inputType.getDimSize(0);
  if (replicaBatch != 0 &&
      (!dataParallel || replicaBatch < 0 || batch % replicaBatch != 0 ||
       !llvm::has_single_bit(uint64_t(batch / replicaBatch)))) {
    moduleError() << "replica-batch=" << int64_t(replicaBatch)
                  << (dataParallel ? "" : " needs data-parallel=true and")
                  << " must divide the batch of " << batch
                  << " into a power-of-two number of shares (2, 4, 8, ... "
                     "processes: only then does the processes' mean round "
                     "as the one process's does)";
    return signalPassFailure();
  }
  ArrayRef<int64_t> out = outputType.getShape();
  if (out.size() == 2 && out[0] == batch) {
    classes = out[1];
  } else if (out.size() == 3 && out[0] == 1 && out[1] == batch) {
    classes = out[2];
  } else {
    mlir::emitError(model.getLoc())
        << "dq-build-training-graph: the model's result must be [N x K] or "
           "[1 x N x K] logits with N = "
        << batch << " (the image batch), got " << outputType;
    return signalPassFailure();
  }
  if (failed(collectState(model)))
    return signalPassFailure();

  OpBuilder b(module.getBodyRegion());
  b.setInsertionPointToEnd(module.getBody());
  if (dataParallel)
    module->setAttr(kDataParallelAttrName, b.getUnitAttr());
  if (replicaBatch != 0 && replicaBatch != batch)
    module->setAttr(kReplicaBatchAttrName, b.getI64IntegerAttr(replicaBatch));
  buildInitState(b, model.getLoc());
  if (failed(buildTrainStep(b, model)))
    return signalPassFailure();
  buildPredict(b, model);
  if (calibration)
    buildCalibrate(b, model);
  // What dq-compile and the runtime will rely on; a failure here is a bug
  // of this pass.
  if (failed(readTrainingModule(module)))
    return signalPassFailure();
}
