//===- DeviceBuffers.cpp - dq-gpu-device-buffers --------------------------===//
//
// After outlining, a host function only allocates, views and launches. This
// pass puts all of its buffers in device memory while keeping the CPU
// build's calling convention at the boundary (host memrefs in, freshly
// allocated host memrefs out), so the runtime calls a GPU model exactly as
// it calls a CPU one.
//
//===----------------------------------------------------------------------===//

#include "dq/GPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQGPUDEVICEBUFFERS
#include "dq/GPU/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

class DeviceBufferRewriter {
public:
  explicit DeviceBufferRewriter(func::FuncOp func) : func_(func) {}

  LogicalResult run() {
    Block &entry = func_.getBody().front();
    if (!func_.getBody().hasOneBlock())
      // Function-level errors on the location only: the function as a note
      // would be the whole training step.
      return mlir::emitError(func_.getLoc(),
                             "dq-gpu-device-buffers: host function with "
                             "control flow is not supported");
    for (BlockArgument arg : entry.getArguments())
      if (failed(copyArgumentToDevice(arg)))
        return failure();

    SmallVector<Operation *> ops;
    for (Operation &op : entry)
      ops.push_back(&op);
    for (Operation *op : ops) {
      LogicalResult result =
          llvm::TypeSwitch<Operation *, LogicalResult>(op)
              .Case<memref::AllocOp, memref::AllocaOp>(
                  [&](auto alloc) { return allocateOnDevice(alloc); })
              .Case([&](memref::GetGlobalOp global) {
                return copyGlobalToDevice(global);
              })
              .Case([&](memref::DeallocOp dealloc) {
                // Every device buffer is freed on return.
                dealloc.erase();
                return success();
              })
              .Case([&](memref::LoadOp load) { return loadThroughCopy(load); })
              .Case([&](memref::StoreOp store) {
                return store.emitError("dq-gpu-device-buffers: a store on the "
                                       "host (dq-gpu-map-to-launches moves "
                                       "them into kernels)");
              })
              .Case([&](func::CallOp call) { return stageCallThroughHost(call); })
              .Case([&](func::ReturnOp ret) { return returnHostCopies(ret); })
              .Default([&](Operation *other) { return checkNoHostAccess(other); });
      if (failed(result))
        return failure();
    }
    return success();
  }

private:
  Value deviceAlloc(OpBuilder &b, Location loc, MemRefType type,
                    ValueRange dynamicSizes) {
    Value buffer = gpu::AllocOp::create(b, loc, type, /*asyncToken=*/Type(),
                                        ValueRange{}, dynamicSizes,
                                        ValueRange{}, /*hostShared=*/false)
                       .getMemref();
    deviceBuffers_.push_back(buffer);
    return buffer;
  }

  LogicalResult copyArgumentToDevice(BlockArgument arg) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type || arg.use_empty())
      return success();
    if (!type.getLayout().isIdentity() || !type.hasStaticShape())
      return mlir::emitError(func_.getLoc(),
                             "dq-gpu-device-buffers: argument ")
             << arg.getArgNumber() << " has type " << type
             << "; expected a static shape with the identity layout";
    OpBuilder b = OpBuilder::atBlockBegin(arg.getOwner());
    Location loc = func_.getLoc();
    Value device = deviceAlloc(b, loc, type, {});
    auto copy = gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, device, arg);
    arg.replaceAllUsesExcept(device, copy);
    return success();
  }

  template <typename AllocLike> LogicalResult allocateOnDevice(AllocLike alloc) {
    if (!alloc.getSymbolOperands().empty())
      return alloc.emitError("dq-gpu-device-buffers: allocation with symbol "
                             "operands is not supported");
    OpBuilder b(alloc);
    Value device =
        deviceAlloc(b, alloc.getLoc(), alloc.getType(), alloc.getDynamicSizes());
    alloc.getResult().replaceAllUsesWith(device);
    alloc.erase();
    return success();
  }

  LogicalResult copyGlobalToDevice(memref::GetGlobalOp global) {
    OpBuilder b(global);
    b.setInsertionPointAfter(global);
    Location loc = global.getLoc();
    Value device = deviceAlloc(b, loc, global.getType(), {});
    // A splat of 16 or 32 bits (the zeros that padding and initial
    // accumulators start from, often megabytes) is set on the device, not
    // copied from the host.
    auto definition = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
        global, global.getNameAttr());
    auto splat = definition ? dyn_cast_or_null<SplatElementsAttr>(
                                  definition.getInitialValueAttr())
                            : SplatElementsAttr();
    Type elementType = global.getType().getElementType();
    if (splat && elementType.isIntOrFloat() &&
        (elementType.getIntOrFloatBitWidth() == 32 ||
         elementType.getIntOrFloatBitWidth() == 16)) {
      Value value = arith::ConstantOp::create(
          b, loc, cast<TypedAttr>(splat.getSplatValue<Attribute>()));
      gpu::MemsetOp::create(b, loc, Type(), ValueRange{}, device, value);
      global.getResult().replaceAllUsesWith(device);
      global.erase();
      return success();
    }
    auto copy = gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, device,
                                      global.getResult());
    global.getResult().replaceAllUsesExcept(device, copy);
    return success();
  }

  /// A one-element view of `memref` at `indices` (for a copy).
  Value elementView(OpBuilder &b, Location loc, Value memref,
                    ValueRange indices) {
    auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, memref);
    Value offset = metadata.getOffset();
    for (auto [index, stride] : llvm::zip(indices, metadata.getStrides()))
      offset = arith::AddIOp::create(
          b, loc, offset, arith::MulIOp::create(b, loc, index, stride));
    auto elementType = cast<MemRefType>(memref.getType()).getElementType();
    auto viewType = MemRefType::get(
        {1}, elementType,
        StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, {1}));
    return memref::ReinterpretCastOp::create(
        b, loc, viewType, metadata.getBaseBuffer(), OpFoldResult(offset),
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  }

  /// A scalar read on the host (what is left of a 0-d op) copies the element
  /// to the stack first.
  LogicalResult loadThroughCopy(memref::LoadOp load) {
    Location loc = load.getLoc();
    Type elementType = load.getType();
    // Host allocations are side effects that gpu-async-region would wait
    // for; keep them at the entry, before any work is queued.
    OpBuilder b = OpBuilder::atBlockBegin(load->getBlock());
    Value stage =
        memref::AllocaOp::create(b, loc, MemRefType::get({1}, elementType));
    b.setInsertionPoint(load);
    gpu::MemcpyOp::create(
        b, loc, Type(), ValueRange{}, stage,
        elementView(b, loc, load.getMemref(), load.getIndices()));
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value value = memref::LoadOp::create(b, loc, stage, ValueRange{zero});
    load.getResult().replaceAllUsesWith(value);
    load.erase();
    return success();
  }

  LogicalResult returnHostCopies(func::ReturnOp ret) {
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    for (OpOperand &operand : ret->getOpOperands()) {
      auto type = dyn_cast<MemRefType>(operand.get().getType());
      if (!type)
        continue;
      if (!type.getLayout().isIdentity() || !type.hasStaticShape())
        return ret.emitError("dq-gpu-device-buffers: result ")
               << operand.getOperandNumber() << " has type " << type
               << "; expected a static shape with the identity layout";
      // memref.alloc lowers to malloc: the caller frees results with free().
      // Allocated at the entry so that gpu-async-region does not wait for
      // the queued work before each allocation.
      OpBuilder entry = OpBuilder::atBlockBegin(ret->getBlock());
      Value host = memref::AllocOp::create(entry, loc, type);
      gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, host, operand.get());
      operand.set(host);
    }
    for (Value buffer : deviceBuffers_)
      gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, buffer);
    for (Value stage : hostStages_)
      memref::DeallocOp::create(b, loc, stage);
    return success();
  }

  /// A call of a host function (the model library's collectives,
  /// dq.all_reduce's lowering) reads and writes its buffers on the host:
  /// each is copied into a host buffer before the call and back after it.
  /// gpu-async-region makes the host wait for the queued work before the
  /// call (it has side effects), so the copy in is complete when it runs.
  LogicalResult stageCallThroughHost(func::CallOp call) {
    auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
        call, call.getCalleeAttr());
    if (!callee || !callee.isExternal())
      return success();
    Location loc = call.getLoc();
    OpBuilder entry = OpBuilder::atBlockBegin(call->getBlock());
    OpBuilder b(call);
    SmallVector<std::pair<Value, Value>> copiesBack; // (device, host)
    for (OpOperand &operand : call->getOpOperands()) {
      auto type = dyn_cast<MemRefType>(operand.get().getType());
      if (!type)
        continue;
      // The buffer behind a cast to a dynamic size (the callee's
      // memref<?xT>): its static type sizes the host buffer.
      Value device = operand.get();
      auto dynamicView = device.getDefiningOp<memref::CastOp>();
      if (dynamicView)
        device = dynamicView.getSource();
      auto deviceType = cast<MemRefType>(device.getType());
      if (!deviceType.hasStaticShape() || !deviceType.getLayout().isIdentity())
        return call.emitError("dq-gpu-device-buffers: operand ")
               << operand.getOperandNumber() << " of the host call to '"
               << call.getCallee() << "' has type " << deviceType
               << "; staging it through host memory needs a static shape "
                  "with the identity layout";
      // Allocated at the entry, like the results' host buffers, so that
      // nothing waits for queued work before the allocation.
      Value host = memref::AllocOp::create(entry, loc, deviceType);
      hostStages_.push_back(host);
      gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, host, device);
      operand.set(dynamicView
                      ? memref::CastOp::create(b, loc, type, host).getResult()
                      : host);
      copiesBack.push_back({device, host});
    }
    b.setInsertionPointAfter(call);
    for (auto [device, host] : copiesBack)
      gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, device, host);
    return success();
  }

  /// Anything else on the host must not touch memory inside nested regions
  /// (a launch is the only place where buffers are read or written).
  LogicalResult checkNoHostAccess(Operation *op) {
    if (isa<gpu::LaunchFuncOp, gpu::LaunchOp>(op) || op->getNumRegions() == 0)
      return success();
    WalkResult walk = op->walk([&](Operation *inner) {
      if (isa<memref::LoadOp, memref::StoreOp, memref::AllocOp,
              memref::AllocaOp, memref::CopyOp>(inner)) {
        inner->emitError("dq-gpu-device-buffers: host code accesses memory "
                         "inside '")
            << op->getName() << "'; only launches may read or write buffers";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    return failure(walk.wasInterrupted());
  }

  func::FuncOp func_;
  SmallVector<Value> deviceBuffers_;
  // Host copies of the buffers that host calls read and write.
  SmallVector<Value> hostStages_;
};

struct DeviceBuffersPass
    : public mlir::dq::impl::DQGPUDeviceBuffersBase<DeviceBuffersPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      if (failed(DeviceBufferRewriter(func).run()))
        return signalPassFailure();
    }
  }
};
} // namespace
