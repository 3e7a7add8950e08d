//===- LibraryConvs.cpp - dq-mark-library-convs, dq-call-library-convs ----===//
//
// Convolutions and their gradients are most of a training step's work;
// these passes let a tuned library (oneDNN) run them instead of dq's
// generated loops (dq-compile --conv-library; what that is worth:
// bench/RESULTS-throughput.md, 2026-12-04). The contractions are marked
// on tensors, so that dq's loop passes leave them alone and bufferization
// gives them their buffers, then become calls on those buffers.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/LibraryConvs.h"
#include "dq/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQMARKLIBRARYCONVS
#define GEN_PASS_DEF_DQCALLLIBRARYCONVS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;
using mlir::dq::LibraryConv;

namespace {

/// `e` as sum of coefficient * dim with no constant term, or failure.
LogicalResult addTerms(AffineExpr e, int64_t scale,
                       SmallVectorImpl<int64_t> &coefficients) {
  if (auto dim = dyn_cast<AffineDimExpr>(e)) {
    coefficients[dim.getPosition()] += scale;
    return success();
  }
  auto binary = dyn_cast<AffineBinaryOpExpr>(e);
  if (!binary)
    return failure();
  if (binary.getKind() == AffineExprKind::Add)
    return success(succeeded(addTerms(binary.getLHS(), scale, coefficients)) &&
                   succeeded(addTerms(binary.getRHS(), scale, coefficients)));
  if (binary.getKind() != AffineExprKind::Mul)
    return failure();
  if (auto c = dyn_cast<AffineConstantExpr>(binary.getRHS()))
    return addTerms(binary.getLHS(), scale * c.getValue(), coefficients);
  if (auto c = dyn_cast<AffineConstantExpr>(binary.getLHS()))
    return addTerms(binary.getRHS(), scale * c.getValue(), coefficients);
  return failure();
}

/// The loop dim of each result of a map made of plain dims only.
std::optional<SmallVector<unsigned>> plainDims(AffineMap map) {
  SmallVector<unsigned> dims;
  for (AffineExpr e : map.getResults()) {
    auto dim = dyn_cast<AffineDimExpr>(e);
    if (!dim)
      return std::nullopt;
    dims.push_back(dim.getPosition());
  }
  return dims;
}

/// A window index `stride * out + dilation * kernel` where `out` is the
/// given dim; returns (stride, kernel dim, dilation).
std::optional<std::tuple<int64_t, unsigned, int64_t>>
windowOf(AffineExpr e, unsigned numDims, unsigned outDim) {
  SmallVector<int64_t> c(numDims, 0);
  if (failed(addTerms(e, 1, c)) || c[outDim] < 1)
    return std::nullopt;
  std::optional<unsigned> kernel;
  for (unsigned d = 0; d < numDims; ++d) {
    if (d == outDim || c[d] == 0)
      continue;
    if (kernel || c[d] < 1)
      return std::nullopt;
    kernel = d;
  }
  if (!kernel)
    return std::nullopt;
  return std::make_tuple(c[outDim], *kernel, c[*kernel]);
}

/// The body `out + in0 * in1` (either operand order of both ops).
bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  auto mul = dyn_cast<arith::MulFOp>(&body.front());
  auto add = dyn_cast_or_null<arith::AddFOp>(mul ? mul->getNextNode() : nullptr);
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!mul || !add || !yield || yield->getOperand(0) != add.getResult())
    return false;
  Value in0 = body.getArgument(0), in1 = body.getArgument(1),
        acc = body.getArgument(2);
  bool product = (mul.getLhs() == in0 && mul.getRhs() == in1) ||
                 (mul.getLhs() == in1 && mul.getRhs() == in0);
  bool sum = (add.getLhs() == acc && add.getRhs() == mul.getResult()) ||
             (add.getRhs() == acc && add.getLhs() == mul.getResult());
  return product && sum;
}

bool isStaticRank4F32(Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  return shaped && shaped.hasStaticShape() && shaped.getRank() == 4 &&
         shaped.getElementType().isF32();
}

/// Matches one form with `x` the activation input's index.
std::optional<LibraryConv> matchWith(linalg::GenericOp op, unsigned x) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned numDims = op.getNumLoops();
  AffineMap xMap = maps[x], otherMap = maps[1 - x], outMap = maps[2];
  auto other = plainDims(otherMap);
  auto out = plainDims(outMap);
  if (!other || !out || xMap.getNumResults() != 4)
    return std::nullopt;
  auto n = dyn_cast<AffineDimExpr>(xMap.getResult(0));
  auto ci = dyn_cast<AffineDimExpr>(xMap.getResult(3));
  if (!n || !ci)
    return std::nullopt;
  LibraryConv conv;
  conv.input = x;
  // Forward: the output is (n, y, x, co); weight gradient: the other input.
  ArrayRef<unsigned> positions;
  ArrayRef<unsigned> weights;
  if ((*out)[0] == n.getPosition()) {
    conv.kind = LibraryConv::Kind::Forward;
    positions = *out;
    weights = *other;
  } else if ((*other)[0] == n.getPosition()) {
    conv.kind = LibraryConv::Kind::WeightGrad;
    positions = *other;
    weights = *out;
  } else {
    return std::nullopt;
  }
  auto rows = windowOf(xMap.getResult(1), numDims, positions[1]);
  auto cols = windowOf(xMap.getResult(2), numDims, positions[2]);
  if (!rows || !cols)
    return std::nullopt;
  auto [sy, ky, dy] = *rows;
  auto [sx, kx, dx] = *cols;
  conv.strides = {sy, sx};
  conv.dilations = {dy, dx};
  // Seven distinct loops: n, y, x, co, ky, kx, ci.
  unsigned co = positions[3];
  SmallVector<unsigned> all = {n.getPosition(), positions[1], positions[2],
                               co, ky, kx, ci.getPosition()};
  llvm::SmallDenseSet<unsigned> distinct(all.begin(), all.end());
  if (numDims != 7 || distinct.size() != 7)
    return std::nullopt;
  // Which weight dim is ky, kx, ci, co.
  SmallVector<unsigned> kernelOrder = {ky, kx, ci.getPosition(), co};
  for (unsigned loop : kernelOrder) {
    auto it = llvm::find(weights, loop);
    if (it == weights.end())
      return std::nullopt;
    conv.weightDims.push_back(it - weights.begin());
  }
  // The forward's reductions are (ky, kx, ci), the weight gradient's
  // (n, y, x).
  bool forward = conv.kind == LibraryConv::Kind::Forward;
  auto iterators = op.getIteratorTypesArray();
  for (unsigned loop : all) {
    bool reducedLoop = forward ? llvm::is_contained(kernelOrder, loop) &&
                                     loop != co
                               : !llvm::is_contained(kernelOrder, loop);
    if ((iterators[loop] == utils::IteratorType::reduction) != reducedLoop)
      return std::nullopt;
  }
  return conv;
}

Value asDynamicView(OpBuilder &b, Location loc, Value memref) {
  MLIRContext *ctx = b.getContext();
  int64_t dynamic = ShapedType::kDynamic;
  auto layout = StridedLayoutAttr::get(ctx, dynamic,
                                       SmallVector<int64_t>(4, dynamic));
  auto type = MemRefType::get(SmallVector<int64_t>(4, dynamic),
                              b.getF32Type(), layout);
  return memref::CastOp::create(b, loc, type, memref);
}

/// Whether `op` reads a strided slice or its result is inserted with
/// strides (the phases of a strided convolution's input gradient): after
/// bufferization those are views with non-unit strides, which the
/// library's memory descriptors do not take.
bool touchesStridedViews(linalg::GenericOp op) {
  auto unitStrides = [](ArrayRef<int64_t> strides) {
    return llvm::all_of(strides, [](int64_t s) { return s == 1; });
  };
  for (Value input : op.getDpsInputs())
    if (auto slice = input.getDefiningOp<tensor::ExtractSliceOp>();
        slice && !unitStrides(slice.getStaticStrides()))
      return true;
  for (Operation *user : op->getUsers())
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(user);
        insert && !unitStrides(insert.getStaticStrides()))
      return true;
  return false;
}

struct MarkLibraryConvsPass
    : public mlir::dq::impl::DQMarkLibraryConvsBase<MarkLibraryConvsPass> {
  void runOnOperation() override {
    getOperation()->walk([&](linalg::GenericOp op) {
      if (op.getLibraryCall() || !op.hasPureTensorSemantics() ||
          touchesStridedViews(op))
        return;
      if (auto conv = mlir::dq::matchLibraryConv(op))
        op.setLibraryCallAttr(
            StringAttr::get(&getContext(), mlir::dq::libraryCallOf(*conv)));
    });
  }
};

struct CallLibraryConvsPass
    : public mlir::dq::impl::DQCallLibraryConvsBase<CallLibraryConvsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::GenericOp> marked;
    module.walk([&](linalg::GenericOp op) {
      if (auto call = op.getLibraryCall();
          call && mlir::dq::isLibraryConvCall(*call))
        marked.push_back(op);
    });
    OpBuilder b(&getContext());
    for (linalg::GenericOp op : marked) {
      if (!op.hasPureBufferSemantics()) {
        op.emitError("marked convolution is not on buffers: run "
                     "dq-call-library-convs after bufferization");
        return signalPassFailure();
      }
      std::optional<LibraryConv> conv = mlir::dq::matchLibraryConv(op);
      if (!conv || mlir::dq::libraryCallOf(*conv) != *op.getLibraryCall()) {
        op.emitError("marked convolution '")
            << *op.getLibraryCall() << "' no longer has its form";
        return signalPassFailure();
      }
      Location loc = op.getLoc();
      b.setInsertionPoint(op);
      Value input = op.getDpsInputs()[conv->input];
      Value other = op.getDpsInputs()[1 - conv->input];
      Value out = op.getDpsInits()[0];
      bool forward = conv->kind == LibraryConv::Kind::Forward;
      Value weights = forward ? other : out;
      // (ky, kx, ci, co) order: result dim i is weight dim weightDims[i].
      SmallVector<unsigned> order(conv->weightDims.begin(),
                                  conv->weightDims.end());
      AffineMap permutation =
          AffineMap::getPermutationMap(order, &getContext());
      Value kernel = weights;
      if (!permutation.isIdentity())
        kernel = memref::TransposeOp::create(
            b, loc, weights, AffineMapAttr::get(permutation));
      SmallVector<Value> operands = {asDynamicView(b, loc, input)};
      if (forward) {
        operands.push_back(asDynamicView(b, loc, kernel));
        operands.push_back(asDynamicView(b, loc, out));
      } else {
        operands.push_back(asDynamicView(b, loc, other));
        operands.push_back(asDynamicView(b, loc, kernel));
      }
      for (int64_t v : {conv->strides[0], conv->strides[1],
                        conv->dilations[0], conv->dilations[1]})
        operands.push_back(arith::ConstantIntOp::create(b, loc, v, 64));
      std::string callee = mlir::dq::modelSymbolOf(*conv);
      auto callType = b.getFunctionType(ValueRange(operands).getTypes(), {});
      if (!module.lookupSymbol<func::FuncOp>(callee)) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(module.getBody());
        auto decl = func::FuncOp::create(b, loc, callee, callType);
        decl.setPrivate();
        decl->setAttr("llvm.emit_c_interface", b.getUnitAttr());
      }
      func::CallOp::create(b, loc, callee, TypeRange(), operands);
      op.erase();
    }
  }
};

} // namespace

std::optional<LibraryConv> mlir::dq::matchLibraryConv(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !isMultiplyAccumulate(op))
    return std::nullopt;
  // Unit dims are folded away later (fold_unit_extent_dims in
  // dq-vectorize-generics), which would drop the mark: such convolutions
  // (a one-channel stem, batch 1) stay on dq's kernels.
  for (OpOperand &operand : op->getOpOperands())
    if (!isStaticRank4F32(operand.get().getType()) ||
        llvm::is_contained(
            cast<ShapedType>(operand.get().getType()).getShape(), 1))
      return std::nullopt;
  for (unsigned x : {0u, 1u})
    if (auto conv = matchWith(op, x))
      return conv;
  return std::nullopt;
}

std::string mlir::dq::libraryCallOf(const LibraryConv &conv) {
  return conv.kind == LibraryConv::Kind::Forward
             ? "dq_conv2d_accumulate_f32"
             : "dq_conv2d_weight_grad_accumulate_f32";
}

std::string mlir::dq::modelSymbolOf(const LibraryConv &conv) {
  return "dq_model_" + libraryCallOf(conv).substr(3);
}

bool mlir::dq::isLibraryConvCall(llvm::StringRef name) {
  for (LibraryConv::Kind kind :
       {LibraryConv::Kind::Forward, LibraryConv::Kind::WeightGrad}) {
    LibraryConv conv;
    conv.kind = kind;
    if (name == libraryCallOf(conv))
      return true;
  }
  return false;
}
