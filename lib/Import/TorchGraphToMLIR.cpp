//===- TorchGraphToMLIR.cpp - TorchGraph -> dq model IR -------------------===//
//
// PyTorch computes in NCHW, dq's model IR in NHWC. Every rank-4 tensor is
// kept in NHWC; `Item::shape` always holds PyTorch's (logical) shape, and ops
// that depend on the element order (flatten, view, cat) convert explicitly.
// Scalars and int lists (sizes, strides, `x.size(0)`) are evaluated here, so
// every shape in the output is static.
//
// TOSA 1.0 wants `(in + pad_before + pad_after - kernel) % stride == 0`;
// PyTorch floors instead and never reads the rows past the last window. The
// trailing padding is reduced by that remainder and, where the remainder is
// larger than the padding, the unread rows are sliced off the input.
//
//===----------------------------------------------------------------------===//

#include "dq/Import/TorchGraphToMLIR.h"

#include "dialects/dq/DQDialect.h"
#include "dialects/dq/DQOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace ::dq::import;

namespace {

using CKind = ConstantValue::Kind;

/// What a graph value is during translation.
struct Item {
  enum class Kind {
    Unknown,
    None,
    Bool,
    Int,
    Double,
    IntList,
    DoubleList,
    String,
    Tensor,     // a computed tensor: `value` (NHWC when rank 4) + `shape`
    Param,      // a constant tensor, materialized where an op needs it
    TensorList, // prim::ListConstruct of tensors
  };
  Kind kind = Kind::Unknown;
  int64_t i = 0;
  double d = 0;
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::string text;
  Value value;
  std::vector<int64_t> shape; // PyTorch order
  std::shared_ptr<TensorData> param;
  std::vector<Item> elements;

  bool isTensor() const { return kind == Kind::Tensor; }
  bool isScalar() const {
    return kind == Kind::Int || kind == Kind::Bool || kind == Kind::Double;
  }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
};

/// NCHW dimension -> NHWC axis.
int64_t nhwcAxis(int64_t torchDim) {
  static const int64_t axes[4] = {0, 3, 1, 2};
  return axes[torchDim];
}

std::string join(ArrayRef<int64_t> values, StringRef sep = "x") {
  std::string s;
  for (auto [i, v] : llvm::enumerate(values)) {
    if (i)
      s += sep;
    s += std::to_string(v);
  }
  return s;
}

int64_t product(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Geometry of one spatial dimension of a window op under PyTorch's rules.
struct Window {
  int64_t padBefore = 0, padAfter = 0;
  int64_t cropAfter = 0; // input rows no window reads, sliced off
  int64_t output = 0;
};

/// `effectiveKernel` = dilation * (kernel - 1) + 1; `padBefore`/`padAfter`
/// as PyTorch pads (symmetric except for padding='same').
std::optional<Window> windowOf(int64_t input, int64_t effectiveKernel,
                               int64_t stride, int64_t padBefore,
                               int64_t padAfter, bool ceilMode) {
  int64_t span = input + padBefore + padAfter - effectiveKernel;
  if (span < 0 || stride < 1)
    return std::nullopt;
  Window w;
  w.output = span / stride + 1;
  if (ceilMode) {
    w.output = (span + stride - 1) / stride + 1;
    // PyTorch: the last window must start inside the input or left padding.
    if ((w.output - 1) * stride >= input + padBefore)
      --w.output;
  }
  w.padBefore = padBefore;
  // Input rows plus trailing padding that the windows cover.
  int64_t covered = (w.output - 1) * stride + effectiveKernel - padBefore;
  if (covered >= input)
    w.padAfter = covered - input;
  else
    w.cropAfter = input - covered;
  return w;
}

class Emitter {
public:
  Emitter(const TorchGraph &graph, const ImportOptions &options,
          MLIRContext &ctx)
      : graph(graph), options(options), ctx(ctx), builder(&ctx),
        items(graph.values.size()) {}

  OwningOpRef<ModuleOp> run();

private:
  // Diagnostics.
  Location locOf(const SourceInfo &source);
  std::string describe(const SourceInfo &source);
  LogicalResult fail(const GraphNode &node, const Twine &message);
  bool reportUnsupportedKinds();

  // Values.
  Item &item(int64_t id) { return items[id]; }
  void bindConstants();
  LogicalResult emitBlock(const GraphBlock &block);
  LogicalResult emitNode(const GraphNode &node);

  // IR helpers.
  RankedTensorType tensorType(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, builder.getF32Type());
  }
  /// Storage shape: NHWC for rank 4, else the PyTorch shape.
  static std::vector<int64_t> storageShape(ArrayRef<int64_t> shape);
  Value constant(ArrayRef<int64_t> shape, ArrayRef<float> values,
                 const std::string &name, Location loc);
  Value splat(ArrayRef<int64_t> shape, float value, Location loc);
  Value shapeConst(ArrayRef<int64_t> values, Location loc);
  Value reshape(Value input, ArrayRef<int64_t> shape, Location loc);
  Value transpose(Value input, ArrayRef<int32_t> perms, Location loc);
  Value slice(Value input, ArrayRef<int64_t> start, ArrayRef<int64_t> size,
              Location loc);
  Value clamp(Value input, float lo, float hi, Location loc);
  /// The tensor's value in PyTorch's element order.
  Value logicalValue(const Item &tensor, Location loc);
  /// A tensor item from a value in PyTorch's element order.
  Item fromLogical(Value value, ArrayRef<int64_t> shape, Location loc);
  Item tensorItem(Value value, ArrayRef<int64_t> shape) {
    Item it;
    it.kind = Item::Kind::Tensor;
    it.value = value;
    it.shape.assign(shape.begin(), shape.end());
    return it;
  }

  // Argument access with checks.
  const Item *tensorArg(const GraphNode &node, unsigned index,
                        int64_t rank = -1);
  std::optional<int64_t> intArg(const GraphNode &node, unsigned index);
  std::optional<double> numberArg(const GraphNode &node, unsigned index);
  std::optional<bool> boolArg(const GraphNode &node, unsigned index);
  std::optional<std::vector<int64_t>> intsArg(const GraphNode &node,
                                              unsigned index, size_t count);
  bool isNone(const GraphNode &node, unsigned index) {
    return index >= node.inputs.size() ||
           item(node.inputs[index]).kind == Item::Kind::None;
  }
  const TensorData *paramArg(const GraphNode &node, unsigned index,
                             ArrayRef<int64_t> shape, StringRef what);
  void setResult(const GraphNode &node, Item result) {
    items[node.outputs[0]] = std::move(result);
  }

  // Op translations.
  LogicalResult emitConvolution(const GraphNode &node);
  LogicalResult emitBatchNorm(const GraphNode &node);
  LogicalResult emitClamp(const GraphNode &node, float lo, float hi);
  LogicalResult emitAdd(const GraphNode &node, bool isSub);
  LogicalResult emitPool(const GraphNode &node, bool isMax);
  LogicalResult emitAdaptiveAvgPool(const GraphNode &node);
  LogicalResult emitMean(const GraphNode &node);
  LogicalResult emitReshape(const GraphNode &node, ArrayRef<int64_t> target);
  LogicalResult emitLinear(const GraphNode &node, const Item &input,
                           const TensorData &weightOutIn,
                           const TensorData *bias, bool weightIsInOut);
  LogicalResult emitCat(const GraphNode &node);
  LogicalResult emitScalarOp(const GraphNode &node);
  Value avgPool(Value input, ArrayRef<int64_t> kernel, ArrayRef<int64_t> stride,
                ArrayRef<int64_t> pad, ArrayRef<int64_t> resultShape,
                Location loc);

  const TorchGraph &graph;
  const ImportOptions &options;
  MLIRContext &ctx;
  OpBuilder builder;
  std::vector<Item> items;
  Value zeroPoint;
};

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

Location Emitter::locOf(const SourceInfo &source) {
  Location loc = UnknownLoc::get(&ctx);
  auto fileLoc = [&](const std::string &file, int64_t line, int64_t column) {
    return FileLineColLoc::get(&ctx, file, static_cast<unsigned>(line),
                               static_cast<unsigned>(column));
  };
  if (!source.file.empty())
    loc = fileLoc(source.file, source.line, source.column);
  // callsite(op at call of self.conv1 at call of self.layer1 ...): the
  // model's own lines, where keep-fp=file:line can name them.
  for (const SourceLine &caller : llvm::reverse(source.callers))
    loc =
        CallSiteLoc::get(loc, fileLoc(caller.file, caller.line, caller.column));
  if (!source.modulePath.empty())
    loc = NameLoc::get(StringAttr::get(&ctx, source.modulePath), loc);
  return loc;
}

std::string Emitter::describe(const SourceInfo &source) {
  std::string s = source.file.empty()
                      ? std::string("<unknown location>")
                      : llvm::formatv("{0}:{1}:{2}", source.file, source.line,
                                      source.column)
                            .str();
  if (!source.modulePath.empty())
    s += " (module '" + source.modulePath + "')";
  return s;
}

LogicalResult Emitter::fail(const GraphNode &node, const Twine &message) {
  InFlightDiagnostic diag = emitError(locOf(node.source));
  diag << "dq-import: " << node.kind;
  if (!node.source.modulePath.empty())
    diag << " in module '" << node.source.modulePath << "'";
  diag << ": " << message;
  return failure();
}

static const llvm::StringSet<> &supportedKinds() {
  static const llvm::StringSet<> kinds = {
      // layers
      "aten::_convolution", "aten::_convolution_mode", "aten::conv2d",
      "aten::batch_norm", "aten::relu", "aten::relu_", "aten::relu6",
      "aten::hardtanh", "aten::hardtanh_", "aten::add", "aten::add_",
      "aten::sub", "aten::max_pool2d", "aten::avg_pool2d",
      "aten::adaptive_avg_pool2d", "aten::mean", "aten::flatten", "aten::view",
      "aten::reshape", "aten::linear", "aten::addmm", "aten::mm",
      "aten::matmul", "aten::t", "aten::dropout", "aten::dropout_",
      "aten::feature_dropout", "aten::feature_dropout_", "aten::cat",
      "aten::contiguous", "aten::detach", "aten::clone",
      // shape arithmetic, evaluated during import
      "aten::size", "aten::dim", "aten::len", "aten::Int", "aten::Float",
      "aten::ScalarImplicit", "prim::NumToTensor", "prim::ListConstruct",
      "prim::TupleConstruct", "prim::ListUnpack", "prim::TupleUnpack",
      "aten::mul", "aten::floordiv", "aten::neg", "aten::eq", "aten::ne",
      "aten::lt", "aten::gt", "aten::le", "aten::ge", "aten::__not__",
      "prim::If", "aten::__getitem__",
      // what scripted checks leave in branches that are not taken
      "prim::RaiseException", "aten::format", "aten::warn",
      "prim::Uninitialized"};
  return kinds;
}

bool Emitter::reportUnsupportedKinds() {
  // kind -> where it occurs, in graph order.
  std::vector<std::pair<std::string, std::vector<const GraphNode *>>> found;
  std::function<void(const GraphBlock &)> walk = [&](const GraphBlock &b) {
    for (const GraphNode &node : b.nodes) {
      if (!supportedKinds().contains(node.kind)) {
        auto it = llvm::find_if(
            found, [&](auto &entry) { return entry.first == node.kind; });
        if (it == found.end()) {
          found.push_back({node.kind, {}});
          it = std::prev(found.end());
        }
        it->second.push_back(&node);
      }
      for (const GraphBlock &inner : node.blocks)
        walk(inner);
    }
  };
  walk(graph.body);
  if (found.empty())
    return false;
  InFlightDiagnostic diag =
      emitError(locOf(found.front().second.front()->source))
      << "dq-import: the model uses " << found.size() << " PyTorch op kind"
      << (found.size() == 1 ? "" : "s") << " that dq-import cannot translate:";
  for (auto &[kind, nodes] : found) {
    diag << "\n  " << kind << " at " << describe(nodes.front()->source);
    if (nodes.size() > 1)
      diag << " and " << (nodes.size() - 1) << " more place"
           << (nodes.size() == 2 ? "" : "s");
  }
  if (graph.savedInTrainingMode)
    diag << "\nthe module was saved in training mode: a traced module keeps "
            "the training-mode graph (batch norm updating its running "
            "statistics, active dropout); call model.eval() before "
            "torch.jit.trace and save it again";
  return true;
}

//===----------------------------------------------------------------------===//
// IR helpers
//===----------------------------------------------------------------------===//

std::vector<int64_t> Emitter::storageShape(ArrayRef<int64_t> shape) {
  if (shape.size() == 4)
    return {shape[0], shape[2], shape[3], shape[1]};
  return std::vector<int64_t>(shape.begin(), shape.end());
}

Value Emitter::constant(ArrayRef<int64_t> shape, ArrayRef<float> values,
                        const std::string &name, Location loc) {
  auto type = tensorType(shape);
  bool isSplat = !values.empty() && llvm::all_equal(values);
  ElementsAttr attr;
  if (isSplat) {
    attr = DenseElementsAttr::get(type, values.front());
  } else if (options.resourceThreshold >= 0 &&
             static_cast<int64_t>(values.size()) > options.resourceThreshold) {
    // Big parameters live in the module's resource section (raw bytes), so
    // the op text stays readable and parsing stays fast.
    std::string key;
    for (char c : name)
      key += (isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_')
                 ? c
                 : '_';
    if (key.empty() || isdigit(static_cast<unsigned char>(key[0])))
      key = "w_" + key;
    attr = cast<ElementsAttr>(DenseF32ResourceElementsAttr::get(
        type, key, HeapAsmResourceBlob::allocateAndCopyInferAlign(values)));
  } else {
    attr = DenseElementsAttr::get(type, values);
  }
  return tosa::ConstOp::create(builder, loc, type, attr);
}

Value Emitter::splat(ArrayRef<int64_t> shape, float value, Location loc) {
  auto type = tensorType(shape);
  return tosa::ConstOp::create(builder, loc, type,
                               DenseElementsAttr::get(type, value));
}

Value Emitter::shapeConst(ArrayRef<int64_t> values, Location loc) {
  auto rank = static_cast<int64_t>(values.size());
  auto attr = DenseIntElementsAttr::get(
      RankedTensorType::get({rank}, builder.getIndexType()), values);
  return tosa::ConstShapeOp::create(builder, loc,
                                    tosa::shapeType::get(&ctx, rank), attr);
}

Value Emitter::reshape(Value input, ArrayRef<int64_t> shape, Location loc) {
  if (cast<RankedTensorType>(input.getType()).getShape() == shape)
    return input;
  return tosa::ReshapeOp::create(builder, loc, tensorType(shape), input,
                                 shapeConst(shape, loc));
}

Value Emitter::transpose(Value input, ArrayRef<int32_t> perms, Location loc) {
  auto in = cast<RankedTensorType>(input.getType()).getShape();
  std::vector<int64_t> shape;
  for (int32_t p : perms)
    shape.push_back(in[p]);
  return tosa::TransposeOp::create(builder, loc, tensorType(shape), input,
                                   builder.getDenseI32ArrayAttr(perms));
}

Value Emitter::slice(Value input, ArrayRef<int64_t> start,
                     ArrayRef<int64_t> size, Location loc) {
  if (cast<RankedTensorType>(input.getType()).getShape() == size)
    return input;
  return tosa::SliceOp::create(builder, loc, tensorType(size), input,
                               shapeConst(start, loc), shapeConst(size, loc));
}

Value Emitter::clamp(Value input, float lo, float hi, Location loc) {
  return tosa::ClampOp::create(
      builder, loc, input.getType(), input, builder.getF32FloatAttr(lo),
      builder.getF32FloatAttr(hi), tosa::NanPropagationModeAttr());
}

Value Emitter::logicalValue(const Item &tensor, Location loc) {
  if (tensor.rank() != 4)
    return tensor.value;
  return transpose(tensor.value, {0, 3, 1, 2}, loc);
}

Item Emitter::fromLogical(Value value, ArrayRef<int64_t> shape, Location loc) {
  if (shape.size() == 4)
    value = transpose(value, {0, 2, 3, 1}, loc);
  return tensorItem(value, shape);
}

Value Emitter::avgPool(Value input, ArrayRef<int64_t> kernel,
                       ArrayRef<int64_t> stride, ArrayRef<int64_t> pad,
                       ArrayRef<int64_t> resultShape, Location loc) {
  return tosa::AvgPool2dOp::create(
      builder, loc, tensorType(resultShape), input, zeroPoint, zeroPoint,
      builder.getDenseI64ArrayAttr(kernel),
      builder.getDenseI64ArrayAttr(stride), builder.getDenseI64ArrayAttr(pad),
      TypeAttr::get(builder.getF32Type()));
}

//===----------------------------------------------------------------------===//
// Arguments
//===----------------------------------------------------------------------===//

const Item *Emitter::tensorArg(const GraphNode &node, unsigned index,
                               int64_t rank) {
  if (index >= node.inputs.size()) {
    (void)fail(node, "missing operand " + Twine(index));
    return nullptr;
  }
  const Item &it = item(node.inputs[index]);
  if (!it.isTensor()) {
    (void)fail(node, "operand " + Twine(index) +
                         " must be a computed tensor (got " +
                         graph.values[node.inputs[index]].type + ")");
    return nullptr;
  }
  if (rank >= 0 && it.rank() != rank) {
    (void)fail(node, "operand " + Twine(index) + " must have rank " +
                         Twine(rank) + ", its shape is " + join(it.shape));
    return nullptr;
  }
  return &it;
}

std::optional<int64_t> Emitter::intArg(const GraphNode &node, unsigned index) {
  if (index < node.inputs.size()) {
    const Item &it = item(node.inputs[index]);
    if (it.kind == Item::Kind::Int || it.kind == Item::Kind::Bool)
      return it.i;
  }
  (void)fail(node, "operand " + Twine(index) +
                       " must be an integer known at import time");
  return std::nullopt;
}

std::optional<double> Emitter::numberArg(const GraphNode &node,
                                         unsigned index) {
  if (index < node.inputs.size()) {
    const Item &it = item(node.inputs[index]);
    if (it.kind == Item::Kind::Double)
      return it.d;
    if (it.kind == Item::Kind::Int || it.kind == Item::Kind::Bool)
      return static_cast<double>(it.i);
  }
  (void)fail(node, "operand " + Twine(index) +
                       " must be a number known at import time");
  return std::nullopt;
}

std::optional<bool> Emitter::boolArg(const GraphNode &node, unsigned index) {
  if (index < node.inputs.size()) {
    const Item &it = item(node.inputs[index]);
    if (it.kind == Item::Kind::Bool || it.kind == Item::Kind::Int)
      return it.i != 0;
  }
  (void)fail(node, "operand " + Twine(index) +
                       " must be a boolean known at import time");
  return std::nullopt;
}

/// An int list operand; a single int (or a one-element list) is repeated to
/// `count` entries, as PyTorch's `int[2]` arguments allow.
std::optional<std::vector<int64_t>>
Emitter::intsArg(const GraphNode &node, unsigned index, size_t count) {
  if (index < node.inputs.size()) {
    const Item &it = item(node.inputs[index]);
    std::vector<int64_t> values;
    if (it.kind == Item::Kind::IntList)
      values = it.ints;
    else if (it.kind == Item::Kind::Int)
      values = {it.i};
    else
      values = {-1, -1, -1};
    if (values.size() == 1 && count > 1)
      values.assign(count, values.front());
    if (count == 0 || values.size() == count)
      return values;
  }
  (void)fail(node, "operand " + Twine(index) + " must be a list of " +
                       Twine(count) + " integers known at import time");
  return std::nullopt;
}

const TensorData *Emitter::paramArg(const GraphNode &node, unsigned index,
                                    ArrayRef<int64_t> shape, StringRef what) {
  const Item *it =
      index < node.inputs.size() ? &item(node.inputs[index]) : nullptr;
  if (!it || it->kind != Item::Kind::Param) {
    (void)fail(node, "the " + what +
                         " must be a constant (a parameter or buffer of the "
                         "frozen module)");
    return nullptr;
  }
  if (!shape.empty() && ArrayRef<int64_t>(it->param->shape) != shape) {
    (void)fail(node, "the " + what + " has shape " + join(it->param->shape) +
                         ", expected " + join(shape));
    return nullptr;
  }
  return it->param.get();
}

//===----------------------------------------------------------------------===//
// Op translations
//===----------------------------------------------------------------------===//

LogicalResult Emitter::emitConvolution(const GraphNode &node) {
  bool isGeneric = node.kind == "aten::_convolution";
  // conv2d(input, weight, bias, stride, padding, dilation, groups), also
  // with padding 'same'/'valid' (traced: _convolution_mode)
  // _convolution(input, weight, bias, stride, padding, dilation, transposed,
  //              output_padding, groups, ...)
  const Item *input = tensorArg(node, 0, 4);
  if (!input)
    return failure();
  const Item &weightItem = item(node.inputs[1]);
  if (weightItem.kind != Item::Kind::Param ||
      weightItem.param->shape.size() != 4)
    return fail(node, "the weight must be a constant 4-D tensor");
  const TensorData &weight = *weightItem.param;
  int64_t outChannels = weight.shape[0], kh = weight.shape[2],
          kw = weight.shape[3];
  int64_t n = input->shape[0], inChannels = input->shape[1],
          h = input->shape[2], w = input->shape[3];
  const TensorData *bias = nullptr;
  if (!isNone(node, 2) && !(bias = paramArg(node, 2, {outChannels}, "bias")))
    return failure();
  auto stride = intsArg(node, 3, 2);
  auto dilation = intsArg(node, 5, 2);
  if (!stride || !dilation)
    return failure();
  std::vector<int64_t> pad;
  const Item &padItem = item(node.inputs[4]);
  if (padItem.kind == Item::Kind::String) {
    if (padItem.text == "valid") {
      pad = {0, 0, 0, 0};
    } else if (padItem.text == "same" && (*stride)[0] == 1 &&
               (*stride)[1] == 1) {
      int64_t th = (*dilation)[0] * (kh - 1), tw = (*dilation)[1] * (kw - 1);
      pad = {th / 2, th - th / 2, tw / 2, tw - tw / 2};
    } else {
      return fail(node, "padding '" + padItem.text + "' is not supported");
    }
  } else {
    auto p = intsArg(node, 4, 2);
    if (!p)
      return failure();
    pad = {(*p)[0], (*p)[0], (*p)[1], (*p)[1]};
  }
  int64_t groups = 1;
  if (isGeneric) {
    auto transposed = boolArg(node, 6);
    if (!transposed)
      return failure();
    if (*transposed)
      return fail(node, "transposed convolutions are not supported");
    auto g = intArg(node, 8);
    if (!g)
      return failure();
    groups = *g;
  } else {
    auto g = intArg(node, 6);
    if (!g)
      return failure();
    groups = *g;
  }
  bool depthwise = groups > 1 && groups == inChannels && weight.shape[1] == 1 &&
                   outChannels % inChannels == 0;
  if (groups != 1 && !depthwise)
    return fail(node, "grouped convolution with groups = " + Twine(groups) +
                          " is not supported (only 1 or depthwise)");
  if (!depthwise && weight.shape[1] != inChannels)
    return fail(node, "the weight has " + Twine(weight.shape[1]) +
                          " input channels, the input " + Twine(inChannels));

  auto wh = windowOf(h, (*dilation)[0] * (kh - 1) + 1, (*stride)[0], pad[0],
                     pad[1], /*ceilMode=*/false);
  auto ww = windowOf(w, (*dilation)[1] * (kw - 1) + 1, (*stride)[1], pad[2],
                     pad[3], /*ceilMode=*/false);
  if (!wh || !ww)
    return fail(node, "the kernel " + Twine(kh) + "x" + Twine(kw) +
                          " is larger than the padded input " + Twine(h) + "x" +
                          Twine(w));
  Location loc = locOf(node.source);
  Value x = input->value;
  if (wh->cropAfter || ww->cropAfter)
    x = slice(x, {0, 0, 0, 0},
              {n, h - wh->cropAfter, w - ww->cropAfter, inChannels}, loc);

  std::string name = node.source.modulePath;
  std::vector<float> biasValues =
      bias ? bias->values : std::vector<float>(outChannels, 0.0f);
  Value biasValue = constant({outChannels}, biasValues, name + ".bias", loc);
  std::vector<int64_t> resultShape = {n, wh->output, ww->output, outChannels};
  auto padAttr = builder.getDenseI64ArrayAttr(
      {wh->padBefore, wh->padAfter, ww->padBefore, ww->padAfter});
  auto strideAttr = builder.getDenseI64ArrayAttr(*stride);
  auto dilationAttr = builder.getDenseI64ArrayAttr(*dilation);
  auto accType = TypeAttr::get(builder.getF32Type());
  Value result;
  if (depthwise) {
    // [C*M, 1, KH, KW] -> HWCM [KH, KW, C, M]; output channel c*M + m.
    int64_t multiplier = outChannels / inChannels;
    std::vector<float> hwcm(weight.values.size());
    for (int64_t c = 0; c < inChannels; ++c)
      for (int64_t m = 0; m < multiplier; ++m)
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j)
            hwcm[((i * kw + j) * inChannels + c) * multiplier + m] =
                weight.values[((c * multiplier + m) * kh + i) * kw + j];
    Value filter =
        constant({kh, kw, inChannels, multiplier}, hwcm, name + ".weight", loc);
    result = tosa::DepthwiseConv2DOp::create(
        builder, loc, tensorType(resultShape), x, filter, biasValue, zeroPoint,
        zeroPoint, padAttr, strideAttr, dilationAttr, accType);
  } else {
    // OIHW -> OHWI
    std::vector<float> ohwi(weight.values.size());
    for (int64_t o = 0; o < outChannels; ++o)
      for (int64_t c = 0; c < inChannels; ++c)
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j)
            ohwi[((o * kh + i) * kw + j) * inChannels + c] =
                weight.values[((o * inChannels + c) * kh + i) * kw + j];
    Value filter = constant({outChannels, kh, kw, inChannels}, ohwi,
                            name + ".weight", loc);
    result = tosa::Conv2DOp::create(builder, loc, tensorType(resultShape), x,
                                    filter, biasValue, zeroPoint, zeroPoint,
                                    padAttr, strideAttr, dilationAttr, accType);
  }
  setResult(node, tensorItem(result, {n, outChannels, wh->output, ww->output}));
  return success();
}

LogicalResult Emitter::emitBatchNorm(const GraphNode &node) {
  // batch_norm(input, weight, bias, running_mean, running_var, training,
  //            momentum, eps, cudnn_enabled)
  const Item *input = tensorArg(node, 0);
  if (!input)
    return failure();
  if (input->rank() != 4 && input->rank() != 2)
    return fail(node, "batch norm of a rank-" + Twine(input->rank()) +
                          " tensor is not supported (2 or 4)");
  int64_t channels = input->shape[1];
  auto training = boolArg(node, 5);
  auto eps = numberArg(node, 7);
  if (!training || !eps)
    return failure();
  if (*training)
    return fail(node, "batch norm in training mode (export the model in "
                      "eval mode)");
  Location loc = locOf(node.source);
  std::string name = node.source.modulePath;
  auto param = [&](unsigned index, StringRef what,
                   float absent) -> std::optional<Value> {
    if (isNone(node, index))
      return splat({channels}, absent, loc);
    const TensorData *data = paramArg(node, index, {channels}, what);
    if (!data)
      return std::nullopt;
    return constant({channels}, data->values, name + "." + what.str(), loc);
  };
  auto gamma = param(1, "weight", 1.0f);
  auto beta = param(2, "bias", 0.0f);
  auto mean = param(3, "running_mean", 0.0f);
  auto var = param(4, "running_var", 1.0f);
  if (!gamma || !beta || !mean || !var)
    return failure();
  if (isNone(node, 3) || isNone(node, 4))
    return fail(node, "batch norm without running statistics");
  int64_t axis = input->rank() == 4 ? 3 : 1;
  Value result = mlir::dq::BatchNormOp::create(
      builder, loc, input->value.getType(), input->value, *gamma, *beta, *mean,
      *var, builder.getI64IntegerAttr(axis), builder.getF64FloatAttr(*eps));
  setResult(node, tensorItem(result, input->shape));
  return success();
}

LogicalResult Emitter::emitClamp(const GraphNode &node, float lo, float hi) {
  const Item *input = tensorArg(node, 0);
  if (!input)
    return failure();
  if (node.kind == "aten::hardtanh" || node.kind == "aten::hardtanh_") {
    auto min = numberArg(node, 1), max = numberArg(node, 2);
    if (!min || !max)
      return failure();
    lo = static_cast<float>(*min);
    hi = static_cast<float>(*max);
  }
  setResult(node, tensorItem(clamp(input->value, lo, hi, locOf(node.source)),
                             input->shape));
  return success();
}

LogicalResult Emitter::emitAdd(const GraphNode &node, bool isSub) {
  const Item &a = item(node.inputs[0]);
  const Item &b = item(node.inputs[1]);
  if (a.isScalar() && b.isScalar())
    return emitScalarOp(node);
  const Item *lhs = tensorArg(node, 0);
  if (!lhs)
    return failure();
  if (node.inputs.size() > 2) {
    auto alpha = numberArg(node, 2);
    if (!alpha)
      return failure();
    if (*alpha != 1.0)
      return fail(node,
                  "alpha = " + std::to_string(*alpha) + " is not supported");
  }
  Location loc = locOf(node.source);
  Value rhs;
  if (b.isTensor()) {
    if (b.rank() != lhs->rank())
      return fail(node, "operands of rank " + Twine(lhs->rank()) + " and " +
                            Twine(b.rank()) +
                            " (broadcasting across ranks "
                            "is not supported)");
    for (int64_t d = 0; d < lhs->rank(); ++d)
      if (b.shape[d] != lhs->shape[d] && b.shape[d] != 1)
        return fail(node, "cannot broadcast " + join(b.shape) + " to " +
                              join(lhs->shape));
    rhs = b.value;
  } else if (b.isScalar()) {
    std::vector<int64_t> ones(lhs->rank(), 1);
    rhs = splat(ones,
                static_cast<float>(b.kind == Item::Kind::Double
                                       ? b.d
                                       : static_cast<double>(b.i)),
                loc);
  } else {
    return fail(node, "the second operand must be a computed tensor or a "
                      "number");
  }
  auto type = lhs->value.getType();
  Value result =
      isSub ? Value(tosa::SubOp::create(builder, loc, type, lhs->value, rhs))
            : Value(tosa::AddOp::create(builder, loc, type, lhs->value, rhs));
  setResult(node, tensorItem(result, lhs->shape));
  return success();
}

LogicalResult Emitter::emitPool(const GraphNode &node, bool isMax) {
  // max_pool2d(input, kernel, stride, padding, dilation, ceil_mode)
  // avg_pool2d(input, kernel, stride, padding, ceil_mode, count_include_pad,
  //            divisor_override)
  const Item *input = tensorArg(node, 0, 4);
  if (!input)
    return failure();
  auto kernel = intsArg(node, 1, 2);
  if (!kernel)
    return failure();
  std::vector<int64_t> stride = *kernel;
  const Item &strideItem = item(node.inputs[2]);
  if (!(strideItem.kind == Item::Kind::IntList && strideItem.ints.empty()) &&
      strideItem.kind != Item::Kind::None) {
    auto s = intsArg(node, 2, 2);
    if (!s)
      return failure();
    stride = *s;
  }
  auto pad = intsArg(node, 3, 2);
  if (!pad)
    return failure();
  bool ceilMode = false;
  if (isMax) {
    auto dilation = intsArg(node, 4, 2);
    auto ceil = boolArg(node, 5);
    if (!dilation || !ceil)
      return failure();
    if ((*dilation)[0] != 1 || (*dilation)[1] != 1)
      return fail(node, "dilated max pooling is not supported");
    ceilMode = *ceil;
  } else {
    auto ceil = boolArg(node, 4);
    auto includePad = boolArg(node, 5);
    if (!ceil || !includePad)
      return failure();
    if (!isNone(node, 6))
      return fail(node, "divisor_override is not supported");
    // TOSA divides by the number of input elements in the window, PyTorch
    // by the kernel size when count_include_pad; equal without padding.
    if (*includePad && ((*pad)[0] || (*pad)[1]))
      return fail(node, "average pooling with padding and "
                        "count_include_pad=True is not supported");
    ceilMode = *ceil;
  }
  int64_t n = input->shape[0], c = input->shape[1], h = input->shape[2],
          w = input->shape[3];
  auto wh =
      windowOf(h, (*kernel)[0], stride[0], (*pad)[0], (*pad)[0], ceilMode);
  auto ww =
      windowOf(w, (*kernel)[1], stride[1], (*pad)[1], (*pad)[1], ceilMode);
  if (!wh || !ww)
    return fail(node, "the window " + join(*kernel) +
                          " does not fit the input " + join(input->shape));
  if (!isMax && ceilMode &&
      (wh->padAfter > wh->padBefore || ww->padAfter > ww->padBefore))
    return fail(node, "average pooling with ceil_mode=True whose last window "
                      "runs past the padding is not supported");
  Location loc = locOf(node.source);
  Value x = input->value;
  if (wh->cropAfter || ww->cropAfter)
    x = slice(x, {0, 0, 0, 0}, {n, h - wh->cropAfter, w - ww->cropAfter, c},
              loc);
  std::vector<int64_t> resultShape = {n, wh->output, ww->output, c};
  std::vector<int64_t> padding = {wh->padBefore, wh->padAfter, ww->padBefore,
                                  ww->padAfter};
  Value result;
  if (isMax)
    result = tosa::MaxPool2dOp::create(builder, loc, tensorType(resultShape), x,
                                       builder.getDenseI64ArrayAttr(*kernel),
                                       builder.getDenseI64ArrayAttr(stride),
                                       builder.getDenseI64ArrayAttr(padding));
  else
    result = avgPool(x, *kernel, stride, padding, resultShape, loc);
  setResult(node, tensorItem(result, {n, c, wh->output, ww->output}));
  return success();
}

LogicalResult Emitter::emitAdaptiveAvgPool(const GraphNode &node) {
  const Item *input = tensorArg(node, 0, 4);
  if (!input)
    return failure();
  int64_t n = input->shape[0], c = input->shape[1], h = input->shape[2],
          w = input->shape[3];
  const Item &sizeItem = item(node.inputs[1]);
  std::vector<int64_t> outSize;
  if (sizeItem.kind == Item::Kind::IntList ||
      sizeItem.kind == Item::Kind::Int) {
    auto s = intsArg(node, 1, 2);
    if (!s)
      return failure();
    outSize = *s;
  } else {
    return fail(node, "the output size must be known at import time");
  }
  int64_t oh = outSize[0], ow = outSize[1];
  if (oh < 1 || ow < 1)
    return fail(node, "output size " + join(outSize));
  Location loc = locOf(node.source);
  Value x = input->value;
  if (h % oh == 0 && w % ow == 0) {
    x = avgPool(x, {h / oh, w / ow}, {h / oh, w / ow}, {0, 0, 0, 0},
                {n, oh, ow, c}, loc);
  } else {
    // PyTorch's windows [floor(i*in/out), ceil((i+1)*in/out)) differ in size
    // and may overlap: average each window along one axis at a time and
    // concatenate (a mean over a rectangle is a mean of row means).
    auto poolAxis = [&](Value v, int64_t axis, int64_t in, int64_t out) {
      auto shape = cast<RankedTensorType>(v.getType()).getShape();
      if (in == out)
        return v;
      if (in % out == 0) {
        std::vector<int64_t> kernel = {1, 1},
                             resultShape(shape.begin(), shape.end());
        kernel[axis - 1] = in / out;
        resultShape[axis] = out;
        return avgPool(v, kernel, kernel, {0, 0, 0, 0}, resultShape, loc);
      }
      SmallVector<Value> parts;
      for (int64_t i = 0; i < out; ++i) {
        int64_t start = i * in / out, end = ((i + 1) * in + out - 1) / out;
        std::vector<int64_t> begin(4, 0), size(shape.begin(), shape.end());
        begin[axis] = start;
        size[axis] = end - start;
        Value part = slice(v, begin, size, loc);
        if (end - start > 1) {
          std::vector<int64_t> kernel = {1, 1};
          kernel[axis - 1] = end - start;
          size[axis] = 1;
          part = avgPool(part, kernel, {1, 1}, {0, 0, 0, 0}, size, loc);
        }
        parts.push_back(part);
      }
      std::vector<int64_t> resultShape(shape.begin(), shape.end());
      resultShape[axis] = out;
      return Value(tosa::ConcatOp::create(builder, loc, tensorType(resultShape),
                                          parts,
                                          builder.getI32IntegerAttr(axis)));
    };
    x = poolAxis(x, 1, h, oh);
    x = poolAxis(x, 2, w, ow);
  }
  setResult(node, tensorItem(x, {n, c, oh, ow}));
  return success();
}

LogicalResult Emitter::emitMean(const GraphNode &node) {
  // mean(input, dims, keepdim, dtype): the global average pool x.mean([2, 3])
  const Item *input = tensorArg(node, 0, 4);
  if (!input)
    return failure();
  auto dims = intsArg(node, 1, 0);
  auto keep = boolArg(node, 2);
  if (!dims || !keep)
    return failure();
  std::vector<int64_t> normalized;
  for (int64_t d : *dims)
    normalized.push_back(d < 0 ? d + 4 : d);
  llvm::sort(normalized);
  if (normalized != std::vector<int64_t>{2, 3})
    return fail(node, "mean over dims [" + join(*dims, ", ") +
                          "] is not supported (only the spatial dims 2, 3)");
  int64_t n = input->shape[0], c = input->shape[1], h = input->shape[2],
          w = input->shape[3];
  Location loc = locOf(node.source);
  Value pooled =
      avgPool(input->value, {h, w}, {1, 1}, {0, 0, 0, 0}, {n, 1, 1, c}, loc);
  if (*keep)
    setResult(node, tensorItem(pooled, {n, c, 1, 1}));
  else
    setResult(node, tensorItem(reshape(pooled, {n, c}, loc), {n, c}));
  return success();
}

LogicalResult Emitter::emitReshape(const GraphNode &node,
                                   ArrayRef<int64_t> requested) {
  const Item *input = tensorArg(node, 0);
  if (!input)
    return failure();
  int64_t total = product(input->shape);
  std::vector<int64_t> target(requested.begin(), requested.end());
  int64_t known = 1, inferred = -1;
  for (auto [i, d] : llvm::enumerate(target)) {
    if (d == -1) {
      if (inferred >= 0)
        return fail(node, "more than one -1 in the shape");
      inferred = static_cast<int64_t>(i);
    } else if (d < 0) {
      return fail(node, "negative size in the shape " + join(target));
    } else {
      known *= d;
    }
  }
  if (inferred >= 0 && known > 0)
    target[inferred] = total / known;
  if (product(target) != total)
    return fail(node, "cannot reshape " + join(input->shape) + " to " +
                          join(requested));
  Location loc = locOf(node.source);
  if (target == input->shape) {
    setResult(node, *input);
    return success();
  }
  // Flattening [N, C, 1, 1] needs no transpose: NHWC and NCHW agree.
  bool trivialSpatial = input->rank() == 4 && input->shape[2] == 1 &&
                        input->shape[3] == 1 && target.size() != 4;
  Value logical = trivialSpatial ? input->value : logicalValue(*input, loc);
  Value reshaped = reshape(logical, target, loc);
  setResult(node, fromLogical(reshaped, target, loc));
  return success();
}

LogicalResult Emitter::emitLinear(const GraphNode &node, const Item &input,
                                  const TensorData &weight,
                                  const TensorData *bias, bool weightIsInOut) {
  if (input.rank() != 2)
    return fail(node, "a linear layer on a rank-" + Twine(input.rank()) +
                          " input is not supported (flatten it first)");
  if (weight.shape.size() != 2)
    return fail(node, "the weight must be a 2-D constant");
  int64_t n = input.shape[0], k = input.shape[1];
  int64_t in = weightIsInOut ? weight.shape[0] : weight.shape[1];
  int64_t out = weightIsInOut ? weight.shape[1] : weight.shape[0];
  if (in != k)
    return fail(node, "the weight " + join(weight.shape) +
                          " does not match the input " + join(input.shape));
  if (bias && product(bias->shape) != out)
    return fail(node, "the bias " + join(bias->shape) + " does not match " +
                          Twine(out) + " outputs");
  Location loc = locOf(node.source);
  std::string name = node.source.modulePath;
  // tosa.matmul: [1, N, K] x [1, K, OUT].
  std::vector<float> kByOut(weight.values.size());
  if (weightIsInOut) {
    kByOut = weight.values;
  } else {
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < k; ++i)
        kByOut[i * out + o] = weight.values[o * k + i];
  }
  Value a = reshape(input.value, {1, n, k}, loc);
  Value b = constant({1, k, out}, kByOut, name + ".weight", loc);
  Value product = tosa::MatMulOp::create(builder, loc, tensorType({1, n, out}),
                                         a, b, zeroPoint, zeroPoint);
  if (bias) {
    Value biasValue = constant({1, 1, out}, bias->values, name + ".bias", loc);
    product = tosa::AddOp::create(builder, loc, tensorType({1, n, out}),
                                  product, biasValue);
  }
  setResult(node, tensorItem(reshape(product, {n, out}, loc), {n, out}));
  return success();
}

LogicalResult Emitter::emitCat(const GraphNode &node) {
  const Item &list = item(node.inputs[0]);
  if (list.kind != Item::Kind::TensorList || list.elements.empty())
    return fail(node, "operand 0 must be a list of computed tensors");
  auto dimArg = intArg(node, 1);
  if (!dimArg)
    return failure();
  const Item &first = list.elements.front();
  int64_t rank = first.rank();
  int64_t dim = *dimArg < 0 ? *dimArg + rank : *dimArg;
  if (dim < 0 || dim >= rank)
    return fail(node, "dim " + Twine(*dimArg) + " out of range");
  std::vector<int64_t> shape = first.shape;
  shape[dim] = 0;
  SmallVector<Value> values;
  for (const Item &e : list.elements) {
    if (!e.isTensor() || e.rank() != rank)
      return fail(node,
                  "all inputs must be computed tensors of rank " + Twine(rank));
    for (int64_t d = 0; d < rank; ++d)
      if (d != dim && e.shape[d] != first.shape[d])
        return fail(node, "inputs " + join(first.shape) + " and " +
                              join(e.shape) + " differ outside dim " +
                              Twine(dim));
    shape[dim] += e.shape[dim];
    values.push_back(e.value);
  }
  int64_t axis = rank == 4 ? nhwcAxis(dim) : dim;
  Value result = tosa::ConcatOp::create(
      builder, locOf(node.source), tensorType(storageShape(shape)), values,
      builder.getI32IntegerAttr(static_cast<int32_t>(axis)));
  setResult(node, tensorItem(result, shape));
  return success();
}

/// Integer and boolean arithmetic on values known at import time (sizes,
/// the checks scripted modules make on them).
LogicalResult Emitter::emitScalarOp(const GraphNode &node) {
  auto isNum = [&](unsigned i) {
    return i < node.inputs.size() && item(node.inputs[i]).isScalar();
  };
  auto num = [&](unsigned i) { return item(node.inputs[i]); };
  Item result;
  StringRef kind = node.kind;
  if (kind == "aten::__not__" && isNum(0)) {
    result.kind = Item::Kind::Bool;
    result.i = !num(0).i;
    setResult(node, result);
    return success();
  }
  if (kind == "aten::neg" && isNum(0)) {
    result = num(0);
    result.i = -result.i;
    result.d = -result.d;
    setResult(node, result);
    return success();
  }
  if (!isNum(0) || !isNum(1))
    return fail(node, "operands must be numbers known at import time (this "
                      "op is only supported on sizes)");
  Item a = num(0), b = num(1);
  bool isDouble = a.kind == Item::Kind::Double || b.kind == Item::Kind::Double;
  double x = a.kind == Item::Kind::Double ? a.d : static_cast<double>(a.i);
  double y = b.kind == Item::Kind::Double ? b.d : static_cast<double>(b.i);
  auto setBool = [&](bool v) {
    result.kind = Item::Kind::Bool;
    result.i = v;
  };
  auto setNumber = [&](double v, int64_t iv) {
    result.kind = isDouble ? Item::Kind::Double : Item::Kind::Int;
    result.d = v;
    result.i = iv;
  };
  if (kind == "aten::eq")
    setBool(x == y);
  else if (kind == "aten::ne")
    setBool(x != y);
  else if (kind == "aten::lt")
    setBool(x < y);
  else if (kind == "aten::gt")
    setBool(x > y);
  else if (kind == "aten::le")
    setBool(x <= y);
  else if (kind == "aten::ge")
    setBool(x >= y);
  else if (kind == "aten::add")
    setNumber(x + y, a.i + b.i);
  else if (kind == "aten::sub")
    setNumber(x - y, a.i - b.i);
  else if (kind == "aten::mul")
    setNumber(x * y, a.i * b.i);
  else if (kind == "aten::floordiv") {
    if (y == 0)
      return fail(node, "division by zero");
    int64_t q = 0;
    if (!isDouble) {
      // Python's floor division rounds towards negative infinity.
      q = a.i / b.i;
      if ((a.i % b.i != 0) && ((a.i < 0) != (b.i < 0)))
        --q;
    }
    setNumber(std::floor(x / y), q);
  } else
    return fail(node, "not supported on numbers");
  setResult(node, result);
  return success();
}

//===----------------------------------------------------------------------===//
// Graph walk
//===----------------------------------------------------------------------===//

void Emitter::bindConstants() {
  for (auto [id, value] : llvm::enumerate(graph.values)) {
    if (!value.isConstant)
      continue;
    const ConstantValue &c = value.constant;
    Item &it = items[id];
    switch (c.kind) {
    case CKind::None:
      it.kind = Item::Kind::None;
      break;
    case CKind::Bool:
      it.kind = Item::Kind::Bool;
      it.i = c.intValue;
      break;
    case CKind::Int:
      it.kind = Item::Kind::Int;
      it.i = c.intValue;
      break;
    case CKind::Double:
      it.kind = Item::Kind::Double;
      it.d = c.doubleValue;
      break;
    case CKind::IntList:
      it.kind = Item::Kind::IntList;
      it.ints = c.ints;
      break;
    case CKind::DoubleList:
      it.kind = Item::Kind::DoubleList;
      it.doubles = c.doubles;
      break;
    case CKind::Tensor:
      it.kind = Item::Kind::Param;
      it.param = c.tensor;
      it.shape = c.tensor->shape;
      break;
    case CKind::String:
    case CKind::Device:
      it.kind = Item::Kind::String;
      it.text = c.text;
      break;
    case CKind::Other:
      it.kind = Item::Kind::Unknown;
      break;
    }
  }
}

LogicalResult Emitter::emitBlock(const GraphBlock &block) {
  for (const GraphNode &node : block.nodes)
    if (failed(emitNode(node)))
      return failure();
  return success();
}

LogicalResult Emitter::emitNode(const GraphNode &node) {
  StringRef kind = node.kind;
  auto passThrough = [&]() -> LogicalResult {
    if (node.inputs.empty() || node.outputs.size() != 1)
      return fail(node, "expected one operand and one result");
    setResult(node, item(node.inputs[0]));
    return success();
  };

  if (kind == "aten::conv2d" || kind == "aten::_convolution" ||
      kind == "aten::_convolution_mode")
    return emitConvolution(node);
  if (kind == "aten::batch_norm")
    return emitBatchNorm(node);
  if (kind == "aten::relu" || kind == "aten::relu_")
    return emitClamp(node, 0.0f, std::numeric_limits<float>::max());
  if (kind == "aten::relu6")
    return emitClamp(node, 0.0f, 6.0f);
  if (kind == "aten::hardtanh" || kind == "aten::hardtanh_")
    return emitClamp(node, -1.0f, 1.0f);
  if (kind == "aten::add" || kind == "aten::add_")
    return emitAdd(node, /*isSub=*/false);
  if (kind == "aten::sub") {
    if (item(node.inputs[0]).isScalar())
      return emitScalarOp(node);
    return emitAdd(node, /*isSub=*/true);
  }
  if (kind == "aten::max_pool2d")
    return emitPool(node, /*isMax=*/true);
  if (kind == "aten::avg_pool2d")
    return emitPool(node, /*isMax=*/false);
  if (kind == "aten::adaptive_avg_pool2d")
    return emitAdaptiveAvgPool(node);
  if (kind == "aten::mean")
    return emitMean(node);
  if (kind == "aten::flatten") {
    const Item *input = tensorArg(node, 0);
    auto start = intArg(node, 1), end = intArg(node, 2);
    if (!input || !start || !end)
      return failure();
    int64_t rank = input->rank();
    int64_t s = *start < 0 ? *start + rank : *start;
    int64_t e = *end < 0 ? *end + rank : *end;
    if (rank == 0) {
      s = 0;
      e = 0;
    }
    if (s < 0 || e >= std::max<int64_t>(rank, 1) || s > e)
      return fail(node, "dims " + Twine(*start) + ".." + Twine(*end) +
                            " out of range for rank " + Twine(rank));
    std::vector<int64_t> target;
    for (int64_t d = 0; d < s; ++d)
      target.push_back(input->shape[d]);
    int64_t merged = 1;
    for (int64_t d = s; d <= e && d < rank; ++d)
      merged *= input->shape[d];
    target.push_back(merged);
    for (int64_t d = e + 1; d < rank; ++d)
      target.push_back(input->shape[d]);
    return emitReshape(node, target);
  }
  if (kind == "aten::view" || kind == "aten::reshape") {
    auto shape = intsArg(node, 1, 0);
    if (!shape)
      return failure();
    return emitReshape(node, *shape);
  }
  if (kind == "aten::linear") {
    const Item *input = tensorArg(node, 0);
    const TensorData *weight = paramArg(node, 1, {}, "weight");
    if (!input || !weight)
      return failure();
    const TensorData *bias = nullptr;
    if (!isNone(node, 2) && !(bias = paramArg(node, 2, {}, "bias")))
      return failure();
    return emitLinear(node, *input, *weight, bias, /*weightIsInOut=*/false);
  }
  if (kind == "aten::addmm" || kind == "aten::mm" || kind == "aten::matmul") {
    // addmm(bias, input, mat2, beta, alpha): bias + input @ mat2
    bool isAddmm = kind == "aten::addmm";
    unsigned first = isAddmm ? 1 : 0;
    const Item *input = tensorArg(node, first);
    const TensorData *mat2 = paramArg(node, first + 1, {}, "second matrix");
    if (!input || !mat2)
      return failure();
    const TensorData *bias = nullptr;
    if (isAddmm) {
      if (!(bias = paramArg(node, 0, {}, "bias")))
        return failure();
      auto beta = numberArg(node, 3), alpha = numberArg(node, 4);
      if (!beta || !alpha)
        return failure();
      if (*beta != 1.0 || *alpha != 1.0)
        return fail(node, "beta and alpha other than 1 are not supported");
    }
    return emitLinear(node, *input, *mat2, bias, /*weightIsInOut=*/true);
  }
  if (kind == "aten::t") {
    const Item &in = item(node.inputs[0]);
    if (in.kind != Item::Kind::Param || in.param->shape.size() != 2)
      return fail(node, "only the transpose of a 2-D constant is supported");
    auto data = std::make_shared<TensorData>();
    int64_t r = in.param->shape[0], c = in.param->shape[1];
    data->shape = {c, r};
    data->values.resize(in.param->values.size());
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j)
        data->values[j * r + i] = in.param->values[i * c + j];
    Item out;
    out.kind = Item::Kind::Param;
    out.param = data;
    out.shape = data->shape;
    setResult(node, out);
    return success();
  }
  if (kind == "aten::dropout" || kind == "aten::dropout_" ||
      kind == "aten::feature_dropout" || kind == "aten::feature_dropout_") {
    auto train = boolArg(node, 2);
    if (!train)
      return failure();
    if (*train)
      return fail(node, "dropout in training mode (export in eval mode)");
    return passThrough();
  }
  if (kind == "aten::cat")
    return emitCat(node);
  if (kind == "aten::contiguous" || kind == "aten::detach" ||
      kind == "aten::clone" || kind == "aten::Int" || kind == "aten::Float" ||
      kind == "aten::ScalarImplicit" || kind == "prim::NumToTensor")
    return passThrough();
  if (kind == "aten::size") {
    const Item &in = item(node.inputs[0]);
    if (!in.isTensor() && in.kind != Item::Kind::Param)
      return fail(node, "operand 0 must be a tensor");
    Item out;
    if (node.inputs.size() == 1) {
      out.kind = Item::Kind::IntList;
      out.ints = in.shape;
    } else {
      auto d = intArg(node, 1);
      if (!d)
        return failure();
      int64_t dim = *d < 0 ? *d + in.rank() : *d;
      if (dim < 0 || dim >= in.rank())
        return fail(node, "dim " + Twine(*d) + " out of range");
      out.kind = Item::Kind::Int;
      out.i = in.shape[dim];
    }
    setResult(node, out);
    return success();
  }
  if (kind == "aten::dim" || kind == "aten::len") {
    const Item &in = item(node.inputs[0]);
    Item out;
    out.kind = Item::Kind::Int;
    if (in.isTensor() || in.kind == Item::Kind::Param)
      out.i = in.rank();
    else if (in.kind == Item::Kind::IntList)
      out.i = static_cast<int64_t>(in.ints.size());
    else if (in.kind == Item::Kind::TensorList)
      out.i = static_cast<int64_t>(in.elements.size());
    else
      return fail(node, "operand 0 must be a tensor or a list");
    setResult(node, out);
    return success();
  }
  if (kind == "prim::ListConstruct" || kind == "prim::TupleConstruct") {
    Item out;
    bool allInts = llvm::all_of(node.inputs, [&](int64_t id) {
      return item(id).kind == Item::Kind::Int;
    });
    bool allTensors = llvm::all_of(
        node.inputs, [&](int64_t id) { return item(id).isTensor(); });
    if (allInts) {
      out.kind = Item::Kind::IntList;
      for (int64_t id : node.inputs)
        out.ints.push_back(item(id).i);
    } else if (allTensors && !node.inputs.empty()) {
      out.kind = Item::Kind::TensorList;
      for (int64_t id : node.inputs)
        out.elements.push_back(item(id));
    } else {
      return fail(node, "only lists of integers known at import time or of "
                        "computed tensors are supported");
    }
    setResult(node, out);
    return success();
  }
  if (kind == "prim::ListUnpack" || kind == "prim::TupleUnpack") {
    const Item &in = item(node.inputs[0]);
    if (in.kind == Item::Kind::IntList &&
        in.ints.size() == node.outputs.size()) {
      for (auto [i, id] : llvm::enumerate(node.outputs)) {
        items[id] = Item();
        items[id].kind = Item::Kind::Int;
        items[id].i = in.ints[i];
      }
      return success();
    }
    if (in.kind == Item::Kind::TensorList &&
        in.elements.size() == node.outputs.size()) {
      for (auto [i, id] : llvm::enumerate(node.outputs))
        items[id] = in.elements[i];
      return success();
    }
    return fail(node, "cannot unpack operand 0 into " +
                          Twine(node.outputs.size()) + " values");
  }
  if (kind == "aten::__getitem__") {
    const Item &in = item(node.inputs[0]);
    auto index = intArg(node, 1);
    if (!index)
      return failure();
    int64_t size = in.kind == Item::Kind::IntList
                       ? static_cast<int64_t>(in.ints.size())
                       : static_cast<int64_t>(in.elements.size());
    int64_t i = *index < 0 ? *index + size : *index;
    if (i < 0 || i >= size)
      return fail(node, "index " + Twine(*index) + " out of range");
    if (in.kind == Item::Kind::IntList) {
      Item out;
      out.kind = Item::Kind::Int;
      out.i = in.ints[i];
      setResult(node, out);
    } else if (in.kind == Item::Kind::TensorList) {
      setResult(node, in.elements[i]);
    } else {
      return fail(node, "operand 0 must be a list");
    }
    return success();
  }
  if (kind == "prim::RaiseException") {
    const Item &message = item(node.inputs[0]);
    return fail(node,
                "the model raises an exception for this input" +
                    (message.kind == Item::Kind::String ? ": " + message.text
                                                        : std::string()));
  }
  if (kind == "aten::format") {
    // Only feeds exception messages; the template is message enough.
    Item out = item(node.inputs[0]);
    setResult(node, out);
    return success();
  }
  if (kind == "aten::warn")
    return success();
  if (kind == "prim::Uninitialized") {
    setResult(node, Item());
    return success();
  }
  if (kind == "prim::If") {
    const Item &condition = item(node.inputs[0]);
    if (condition.kind != Item::Kind::Bool && condition.kind != Item::Kind::Int)
      return fail(node, "control flow that depends on tensor values is not "
                        "supported");
    const GraphBlock &taken = node.blocks[condition.i ? 0 : 1];
    if (failed(emitBlock(taken)))
      return failure();
    for (auto [out, inner] : llvm::zip(node.outputs, taken.outputs))
      items[out] = items[inner];
    return success();
  }
  if (kind == "aten::mul" || kind == "aten::floordiv" || kind == "aten::neg" ||
      kind == "aten::eq" || kind == "aten::ne" || kind == "aten::lt" ||
      kind == "aten::gt" || kind == "aten::le" || kind == "aten::ge" ||
      kind == "aten::__not__")
    return emitScalarOp(node);
  return fail(node, "no translation");
}

OwningOpRef<ModuleOp> Emitter::run() {
  if (reportUnsupportedKinds())
    return nullptr;
  const std::vector<int64_t> &inShape = options.inputShape;
  auto tensorInputs =
      llvm::make_filter_range(graph.body.inputs, [&](int64_t id) {
        return graph.values[id].type == "Tensor";
      });
  std::vector<int64_t> inputs(tensorInputs.begin(), tensorInputs.end());
  if (inputs.size() != 1 || graph.body.inputs.size() != 1) {
    emitError(UnknownLoc::get(&ctx))
        << "dq-import: forward must take exactly one tensor argument, it "
           "takes "
        << graph.body.inputs.size() << " argument(s)";
    return nullptr;
  }
  if (graph.body.outputs.size() != 1) {
    emitError(UnknownLoc::get(&ctx))
        << "dq-import: forward must return one tensor";
    return nullptr;
  }
  bindConstants();

  Location fileLoc = UnknownLoc::get(&ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());
  auto argType = tensorType(storageShape(inShape));
  auto funcType = builder.getFunctionType({argType}, {});
  auto func =
      func::FuncOp::create(builder, fileLoc, options.functionName, funcType);
  Block *body = func.addEntryBlock();
  builder.setInsertionPointToStart(body);
  zeroPoint = splat({1}, 0.0f, fileLoc);
  items[inputs[0]] = tensorItem(body->getArgument(0), inShape);

  if (failed(emitBlock(graph.body)))
    return nullptr;
  const Item &result = items[graph.body.outputs[0]];
  if (!result.isTensor()) {
    emitError(fileLoc) << "dq-import: forward must return one computed "
                          "tensor, it returns a "
                       << graph.values[graph.body.outputs[0]].type;
    return nullptr;
  }
  // The result in PyTorch's element order, so outputs compare directly.
  Value returned = logicalValue(result, fileLoc);
  func::ReturnOp::create(builder, fileLoc, returned);
  func.setFunctionType(
      builder.getFunctionType({argType}, {returned.getType()}));
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

} // namespace

namespace dq::import {
OwningOpRef<ModuleOp> importTorchGraph(const TorchGraph &graph,
                                       const ImportOptions &options,
                                       MLIRContext &context) {
  context
      .loadDialect<func::FuncDialect, tosa::TosaDialect, mlir::dq::DQDialect>();
  Emitter emitter(graph, options, context);
  return emitter.run();
}
} // namespace dq::import
