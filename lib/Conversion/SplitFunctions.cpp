//===- SplitFunctions.cpp - dq-split-functions ----------------------------===//
//
// LLVM compiles a function on one thread, in time that grows faster than
// its size; a training step lowered whole is one function of tens of
// thousands of instructions and bounds the compile. Cutting it into
// consecutive pieces, each outlined into a noinline function, keeps every
// function LLVM sees small and lets dq-compile's partitions spread them
// over the cores. The computation, and its order, stay the same.
//
//===----------------------------------------------------------------------===//

#include "dq/Conversion/Passes.h"
#include "dq/Support/Checks.h"
#include "dq/Transforms/StaticBuffers.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

#include <functional>

namespace mlir::dq {
#define GEN_PASS_DEF_DQSPLITFUNCTIONS
#include "dq/Conversion/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

/// The operation and everything nested in it.
int64_t sizeOf(Operation *op) {
  int64_t size = 0;
  op->walk([&](Operation *) { ++size; });
  return size;
}

/// Values without operands or memory effects (constants, memref.get_global,
/// ub.poison): cloned into a piece rather than passed to it, so that LLVM
/// still sees them as constants.
bool isClonedIntoPieces(Operation *op) {
  return op->getNumOperands() == 0 && op->getNumRegions() == 0 &&
         op->getNumResults() > 0 && isMemoryEffectFree(op);
}

/// A view computed from its source and operand-free constants only (the
/// views of dq-static-buffers' arena, reshapes of buffers): cloned into a
/// piece, which then takes the source instead of the view's descriptor.
bool isViewClonedIntoPieces(Operation *op) {
  auto view = dyn_cast<ViewLikeOpInterface>(op);
  if (!view || op->getNumRegions() != 0 || op->getNumResults() != 1 ||
      !isMemoryEffectFree(op))
    return false;
  return llvm::all_of(op->getOperands(), [&](Value operand) {
    if (operand == view.getViewSource())
      return true;
    Operation *def = operand.getDefiningOp();
    return def && isClonedIntoPieces(def);
  });
}

/// Whether `value` is, through views, a buffer on the stack of an
/// operation in `piece` (it would not outlive the piece's call).
bool isStackBufferOf(Value value, const llvm::DenseSet<Operation *> &piece) {
  while (value) {
    Operation *def = value.getDefiningOp();
    if (!def)
      return false;
    if (isa<memref::AllocaOp>(def))
      return piece.contains(def);
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      return false;
    value = view.getViewSource();
  }
  return false;
}

/// One run of consecutive operations of a block, outlined into a callee.
struct Piece {
  SmallVector<Operation *> ops;
  llvm::DenseSet<Operation *> members;
  llvm::SetVector<Value> inputs;  // used inside, defined outside
  llvm::SetVector<Value> cloned;  // constants and views rebuilt inside
  llvm::SetVector<Value> outputs; // defined inside, used after
};

/// Fills the inputs and outputs of `piece`, whose operations lie in `block`.
void analyze(Piece &piece, Block &block) {
  auto inside = [&](Operation *op) {
    Operation *ancestor = block.findAncestorOpInBlock(*op);
    return ancestor && piece.members.contains(ancestor);
  };
  // Operands before the ops that use them: `cloned` is the clone order.
  std::function<void(Value)> useFromOutside = [&](Value operand) {
    Operation *def = operand.getDefiningOp();
    if (def && isClonedIntoPieces(def)) {
      piece.cloned.insert(operand);
    } else if (def && isViewClonedIntoPieces(def)) {
      if (piece.cloned.contains(operand))
        return;
      for (Value viewOperand : def->getOperands())
        useFromOutside(viewOperand);
      piece.cloned.insert(operand);
    } else {
      piece.inputs.insert(operand);
    }
  };
  for (Operation *top : piece.ops) {
    top->walk<WalkOrder::PreOrder>([&](Operation *op) {
      for (Value operand : op->getOperands()) {
        bool local;
        Operation *def = operand.getDefiningOp();
        if (def)
          local = inside(def);
        else
          local =
              inside(cast<BlockArgument>(operand).getOwner()->getParentOp());
        if (!local)
          useFromOutside(operand);
      }
    });
    for (Value result : top->getResults())
      if (llvm::any_of(result.getUsers(),
                       [&](Operation *user) { return !inside(user); }))
        piece.outputs.insert(result);
  }
}

/// Moves the operations of `piece` into a new private function, placed
/// after the function `after`, and calls it after `callPoint` (the last
/// operation of the piece's run); returns the call.
func::CallOp outline(Piece &piece, func::FuncOp parent, Operation *&after,
                     Operation *callPoint, SymbolTable &symbols,
                     unsigned index) {
  MLIRContext *ctx = parent.getContext();
  Location loc = piece.ops.front()->getLoc();
  SmallVector<Type> inputTypes, outputTypes;
  for (Value v : piece.inputs)
    inputTypes.push_back(v.getType());
  for (Value v : piece.outputs)
    outputTypes.push_back(v.getType());

  OpBuilder b(ctx);
  b.setInsertionPointAfter(after);
  auto callee = func::FuncOp::create(
      b, loc, (parent.getName() + ".part" + Twine(index)).str(),
      FunctionType::get(ctx, inputTypes, outputTypes));
  callee.setPrivate();
  // Kept a function of its own through LLVM's inliner, and not exported.
  callee->setAttr("passthrough", b.getArrayAttr({b.getStringAttr("noinline")}));
  callee->setAttr("llvm.linkage",
                  LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
  symbols.insert(callee); // renames it if the name is taken

  Block *body = callee.addEntryBlock();
  IRMapping mapping;
  for (auto [value, argument] :
       llvm::zip_equal(piece.inputs, body->getArguments()))
    mapping.map(value, argument);
  b.setInsertionPointToStart(body);
  for (Value constant : piece.cloned)
    b.clone(*constant.getDefiningOp(), mapping);
  for (Operation *op : piece.ops)
    b.clone(*op, mapping);
  SmallVector<Value> returned;
  for (Value v : piece.outputs)
    returned.push_back(mapping.lookup(v));
  func::ReturnOp::create(b, loc, returned);

  b.setInsertionPointAfter(callPoint);
  auto call = func::CallOp::create(b, loc, callee, piece.inputs.getArrayRef());
  for (auto [value, result] : llvm::zip_equal(piece.outputs, call.getResults()))
    Value(value).replaceAllUsesWith(result);
  for (Operation *op : llvm::reverse(piece.ops))
    op->erase();
  after = callee;
  return call;
}

struct SplitFunctionsPass
    : public mlir::dq::impl::DQSplitFunctionsBase<SplitFunctionsPass> {
  using DQSplitFunctionsBase::DQSplitFunctionsBase;

  void runOnOperation() override {
    // On the module's location, without the module as a note.
    if (failed(mlir::dq::checkOption(
            getOperation().getLoc(), "dq-split-functions", "ops-per-function",
            int64_t(opsPerFunction), 1, std::numeric_limits<int64_t>::max())))
      return signalPassFailure();
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
    for (func::FuncOp func : functions) {
      if (func.isExternal() || sizeOf(func) <= opsPerFunction)
        continue;
      unsigned index = 0;
      Operation *last = func; // the last callee, after which the next goes
      for (Block &block : func.getBody())
        split(block, func, symbols, index, last);
      if (index > 0)
        func->setAttr(
            mlir::dq::kSplitPiecesAttr,
            IntegerAttr::get(IntegerType::get(&getContext(), 64), index));
    }
  }

  /// Outlines the block's operations (its terminator aside) in runs of
  /// about ops-per-function operations, each as soon as it is complete (the
  /// next run's inputs are then the call's results).
  void split(Block &block, func::FuncOp func, SymbolTable &symbols,
             unsigned &index, Operation *&last) {
    SmallVector<Operation *> run;
    int64_t size = 0;
    for (Operation &op :
         llvm::make_early_inc_range(block.without_terminator())) {
      run.push_back(&op);
      if (!staysInParent(&op))
        size += sizeOf(&op);
      if (size >= opsPerFunction) {
        outlineRun(run, block, func, symbols, index, last);
        run.clear();
        size = 0;
      }
    }
    if (size > 0)
      outlineRun(run, block, func, symbols, index, last);
  }

  /// Buffers, their views and constants stay in the parent (what it
  /// passes between pieces is then the buffers the pieces use, not every
  /// buffer that lives across them), unless they depend on the piece; so
  /// do the taking and the giving back of dq-static-buffers' arena.
  static bool staysInParent(Operation *op) {
    if (op->hasAttr(mlir::dq::kArenaAttr))
      return true;
    if (op->getNumRegions() != 0)
      return false;
    if (isClonedIntoPieces(op) || isa<memref::AllocOp, memref::DeallocOp>(op))
      return true;
    return isa<ViewLikeOpInterface>(op) && isMemoryEffectFree(op);
  }

  static bool isArenaRelease(Operation *op) {
    auto mark = op->getAttrOfType<StringAttr>(mlir::dq::kArenaAttr);
    return mark && mark.getValue() == "release";
  }

  /// Outlines `run`'s computation; its allocations, views and constants
  /// stay before the call, its deallocations move after it.
  void outlineRun(ArrayRef<Operation *> run, Block &block, func::FuncOp func,
                  SymbolTable &symbols, unsigned &index, Operation *&last) {
    Piece piece;
    SmallVector<Operation *> sunk;
    for (Operation *op : run) {
      bool usesPiece = llvm::any_of(op->getOperands(), [&](Value v) {
        return v.getDefiningOp() && piece.members.contains(v.getDefiningOp());
      });
      if (!usesPiece && staysInParent(op)) {
        if (isa<memref::DeallocOp>(op) || isArenaRelease(op))
          sunk.push_back(op);
        continue;
      }
      piece.ops.push_back(op);
      piece.members.insert(op);
    }
    if (piece.ops.empty())
      return;
    analyze(piece, block);
    if (llvm::any_of(piece.outputs, [&](Value v) {
          return isStackBufferOf(v, piece.members);
        }))
      return;
    Operation *callPoint = run.back();
    func::CallOp call = outline(piece, func, last, callPoint, symbols, index++);
    Operation *previous = call;
    for (Operation *dealloc : sunk) {
      dealloc->moveAfter(previous);
      previous = dealloc;
    }
  }
};

} // namespace
