//===- StaticBuffers.cpp - dq-static-buffers ------------------------------===//
//
// A lowered training step allocates and frees about a thousand buffers per
// call: its activations, gradients and temporaries, all of static size and
// all freed before it returns, and all held until its end (the deallocation
// pipeline frees at the end of the block). Each call then pays a malloc and
// a free per buffer and, for the large ones (which glibc maps and unmaps),
// the kernel's clearing of every page (4.6 % of ResNet-20's step samples).
// Their sizes and lifetimes are known at compile time, so this pass gives
// each buffer a fixed offset in one arena, buffers whose lifetimes do not
// overlap sharing bytes, and keeps the arena across calls.
//
//===----------------------------------------------------------------------===//

#include "dq/Support/Checks.h"
#include "dq/Transforms/StaticBuffers.h"
#include "dq/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQSTATICBUFFERS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

/// Offsets in the arena are multiples of this (a cache line, and what
/// dq's allocations request for vector loads).
constexpr int64_t kArenaAlignment = 64;

/// One buffer that lives between two operations of the function's block.
struct Buffer {
  memref::AllocOp alloc;
  memref::DeallocOp dealloc;
  int64_t first = 0; // position of the alloc in the block
  int64_t last = 0;  // position of the last operation that uses it
  int64_t bytes = 0;
  int64_t offset = 0;
};

/// Bytes of a static, identity-layout buffer of whole-byte elements in the
/// default memory space; 0 when it is not one.
int64_t staticBytes(MemRefType type) {
  if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
      type.getMemorySpace())
    return 0;
  Type element = type.getElementType();
  if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 != 0)
    return 0;
  return type.getNumElements() * (element.getIntOrFloatBitWidth() / 8);
}

/// The buffer of `alloc` with its lifetime: from the alloc to the last
/// operation of the block that uses it or one of its views (the
/// deallocation pipeline frees every buffer at the end of the block, so
/// the deallocation says nothing of when the contents die). Null when a
/// use leaves the function or the block's order (the buffer is returned,
/// yielded, passed to a call, deallocated under a condition or more than
/// once, or reached through an operation this pass does not know).
std::optional<Buffer> boundedLifetime(memref::AllocOp alloc, Block &block,
                                      const DenseMap<Operation *, int64_t> &at) {
  memref::DeallocOp dealloc;
  SmallVector<Value> aliases{alloc.getResult()};
  SmallVector<Operation *> users;
  while (!aliases.empty()) {
    Value alias = aliases.pop_back_val();
    for (OpOperand &use : alias.getUses()) {
      Operation *user = use.getOwner();
      if (auto free = dyn_cast<memref::DeallocOp>(user)) {
        if (dealloc || alias != alloc.getResult() ||
            free->getBlock() != &block)
          return std::nullopt;
        dealloc = free;
        continue;
      }
      if (user->hasTrait<OpTrait::IsTerminator>() ||
          isa<CallOpInterface>(user))
        return std::nullopt;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == alias) {
        for (Value result : user->getResults())
          if (isa<BaseMemRefType>(result.getType()))
            aliases.push_back(result);
      } else if (llvm::any_of(user->getResultTypes(), [](Type type) {
                   return isa<BaseMemRefType>(type);
                 })) {
        return std::nullopt; // an alias this pass cannot follow
      } else if (auto store = dyn_cast<memref::StoreOp>(user);
                 store && store.getValueToStore() == alias) {
        return std::nullopt;
      }
      users.push_back(user);
    }
  }
  if (!dealloc)
    return std::nullopt;
  Buffer buffer;
  buffer.alloc = alloc;
  buffer.dealloc = dealloc;
  buffer.first = buffer.last = at.lookup(alloc);
  for (Operation *user : users) {
    Operation *top = block.findAncestorOpInBlock(*user);
    if (!top)
      return std::nullopt;
    int64_t position = at.lookup(top);
    if (position < buffer.first || position > at.lookup(dealloc))
      return std::nullopt;
    buffer.last = std::max(buffer.last, position);
  }
  return buffer;
}

/// Offsets for `buffers`, largest first, each at the lowest aligned offset
/// that no buffer of an overlapping lifetime occupies; returns the arena's
/// size. The order is deterministic (ties by position).
int64_t placeBuffers(MutableArrayRef<Buffer> buffers) {
  SmallVector<Buffer *> order;
  for (Buffer &buffer : buffers)
    order.push_back(&buffer);
  llvm::stable_sort(order, [](const Buffer *a, const Buffer *b) {
    if (a->bytes != b->bytes)
      return a->bytes > b->bytes;
    return a->first < b->first;
  });
  auto alignUp = [](int64_t value) {
    return (value + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
  };
  SmallVector<Buffer *> placed;
  int64_t size = 0;
  for (Buffer *buffer : order) {
    SmallVector<std::pair<int64_t, int64_t>> taken; // [begin, end)
    for (Buffer *other : placed)
      if (other->first <= buffer->last && buffer->first <= other->last)
        taken.emplace_back(other->offset, other->offset + other->bytes);
    llvm::sort(taken);
    int64_t offset = 0;
    for (auto [begin, end] : taken) {
      if (offset + buffer->bytes <= begin)
        break;
      offset = std::max(offset, alignUp(end));
    }
    buffer->offset = offset;
    size = std::max(size, offset + buffer->bytes);
    placed.push_back(buffer);
  }
  return alignUp(size);
}

struct StaticBuffersPass
    : public mlir::dq::impl::DQStaticBuffersBase<StaticBuffersPass> {
  using DQStaticBuffersBase::DQStaticBuffersBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(mlir::dq::checkOption(module.getLoc(), "dq-static-buffers",
                                     "min-bytes", int64_t(minBytes), 0,
                                     std::numeric_limits<int64_t>::max())))
      return signalPassFailure();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
    for (func::FuncOp func : functions)
      if (!func.isExternal() && func.getBody().hasOneBlock())
        placeInArena(func, symbols);
  }

  void placeInArena(func::FuncOp func, SymbolTable &symbols) {
    Block &block = func.getBody().front();
    // The block's operations by position, and the other way round (both
    // taken before the rewrite).
    SmallVector<Operation *> ops;
    DenseMap<Operation *, int64_t> at;
    for (Operation &op : block) {
      at[&op] = ops.size();
      ops.push_back(&op);
    }
    SmallVector<Buffer> buffers;
    for (auto alloc : block.getOps<memref::AllocOp>()) {
      int64_t bytes = staticBytes(alloc.getType());
      if (bytes == 0 || !alloc.getDynamicSizes().empty() ||
          !alloc.getSymbolOperands().empty() ||
          alloc.getAlignment().value_or(1) > kArenaAlignment)
        continue;
      std::optional<Buffer> buffer = boundedLifetime(alloc, block, at);
      if (!buffer)
        continue;
      buffer->bytes = bytes;
      buffers.push_back(*buffer);
    }
    if (buffers.empty())
      return;
    int64_t arenaBytes = placeBuffers(buffers);
    if (arenaBytes < minBytes)
      return;

    MLIRContext *ctx = &getContext();
    Location loc = func.getLoc();
    OpBuilder b(ctx);
    auto arenaType = MemRefType::get({arenaBytes}, b.getI8Type());
    auto flagType = MemRefType::get({}, b.getI32Type());
    b.setInsertionPoint(func);
    auto arenaGlobal = memref::GlobalOp::create(
        b, loc, (func.getName() + ".arena").str(), b.getStringAttr("private"),
        arenaType, b.getUnitAttr(), /*constant=*/false,
        b.getI64IntegerAttr(kArenaAlignment));
    symbols.insert(arenaGlobal);
    auto flagGlobal = memref::GlobalOp::create(
        b, loc, (func.getName() + ".arena_busy").str(),
        b.getStringAttr("private"), flagType,
        DenseElementsAttr::get(RankedTensorType::get({}, b.getI32Type()),
                               b.getI32IntegerAttr(0).getValue()),
        /*constant=*/false, IntegerAttr());
    symbols.insert(flagGlobal);

    // The arena is the global unless another thread's call holds it (two
    // threads calling one loaded model), then a buffer of its own.
    b.setInsertionPointToStart(&block);
    Value flag =
        memref::GetGlobalOp::create(b, loc, flagType, flagGlobal.getSymName());
    Value zero = arith::ConstantIntOp::create(b, loc, 0, 32);
    Value one = arith::ConstantIntOp::create(b, loc, 1, 32);
    Value previous = memref::AtomicRMWOp::create(
        b, loc, arith::AtomicRMWKind::assign, one, flag, ValueRange());
    Value own = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                      previous, zero);
    auto choose = scf::IfOp::create(
        b, loc, TypeRange{arenaType}, own, /*addThenBlock=*/true,
        /*addElseBlock=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(choose.thenBlock());
      Value global = memref::GetGlobalOp::create(b, loc, arenaType,
                                                 arenaGlobal.getSymName());
      scf::YieldOp::create(b, loc, global);
      b.setInsertionPointToStart(choose.elseBlock());
      Value fresh = memref::AllocOp::create(
          b, loc, arenaType, b.getI64IntegerAttr(kArenaAlignment));
      scf::YieldOp::create(b, loc, fresh);
    }
    Value arena = choose.getResult(0);
    for (Operation *op : {previous.getDefiningOp(), own.getDefiningOp(),
                          choose.getOperation()})
      op->setAttr(mlir::dq::kArenaAttr, b.getStringAttr("acquire"));

    // The operation after which no buffer is used.
    int64_t lastUse = 0;
    for (const Buffer &buffer : buffers)
      lastUse = std::max(lastUse, buffer.last);
    Operation *lastUser = ops[lastUse];
    for (Buffer &buffer : buffers) {
      b.setInsertionPoint(buffer.alloc);
      Value shift = arith::ConstantIndexOp::create(b, loc, buffer.offset);
      Value view = memref::ViewOp::create(b, buffer.alloc.getLoc(),
                                          buffer.alloc.getType(), arena, shift,
                                          ValueRange());
      buffer.alloc.replaceAllUsesWith(view);
      if (lastUser == buffer.alloc.getOperation())
        lastUser = view.getDefiningOp();
      buffer.alloc.erase();
      buffer.dealloc.erase();
    }

    // Given back after its last use, not at the return: a call on another
    // thread can take it that much sooner.
    b.setInsertionPointAfter(lastUser);
    auto release = scf::IfOp::create(b, loc, TypeRange(), own,
                                     /*addThenBlock=*/true,
                                     /*addElseBlock=*/true);
    release->setAttr(mlir::dq::kArenaAttr, b.getStringAttr("release"));
    b.setInsertionPointToStart(release.thenBlock());
    memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::assign, zero,
                                flag, ValueRange());
    scf::YieldOp::create(b, loc);
    b.setInsertionPointToStart(release.elseBlock());
    memref::DeallocOp::create(b, loc, arena);
    scf::YieldOp::create(b, loc);
  }
};

} // namespace
