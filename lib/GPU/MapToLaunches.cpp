//===- MapToLaunches.cpp - dq-gpu-map-to-launches -------------------------===//
//
// One kernel per linalg op: its parallel loops are flattened into a linear
// index space (any number of dims, no per-dim block shape to choose), and
// each thread computes one output element, running the op's reduction loops
// sequentially. Ops without parallel loops run in a single thread.
//
//===----------------------------------------------------------------------===//

#include "dq/GPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQGPUMAPTOLAUNCHES
#include "dq/GPU/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// Replaces `loop` (an scf.parallel without reductions at host level) by a
/// gpu.launch over its flattened iteration space.
LogicalResult mapParallelLoop(scf::ParallelOp loop, int64_t blockSize) {
  if (!loop.getInitVals().empty())
    return loop.emitError("dq-gpu-map-to-launches: scf.parallel with "
                          "reductions is not supported");
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Value one = indexConstant(b, loc, 1);
  // Trip count of every dim and of the whole space, on the host.
  SmallVector<Value> tripCounts;
  std::optional<int64_t> staticTotal = 1;
  Value total = one;
  for (auto [lower, upper, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value span = arith::SubIOp::create(b, loc, upper, lower);
    Value trips = arith::CeilDivUIOp::create(b, loc, span, step);
    tripCounts.push_back(trips);
    total = arith::MulIOp::create(b, loc, total, trips);
    std::optional<int64_t> lo = getConstantIntValue(lower);
    std::optional<int64_t> hi = getConstantIntValue(upper);
    std::optional<int64_t> st = getConstantIntValue(step);
    if (staticTotal && lo && hi && st && *st > 0)
      staticTotal = *staticTotal * llvm::divideCeil(*hi - *lo, *st);
    else
      staticTotal = std::nullopt;
  }
  if (staticTotal && *staticTotal == 0) {
    loop.erase();
    return success();
  }
  Value threads = indexConstant(b, loc, blockSize);
  Value blocks = arith::CeilDivUIOp::create(b, loc, total, threads);
  auto launch =
      gpu::LaunchOp::create(b, loc, blocks, one, one, threads, one, one);

  b.setInsertionPointToStart(&launch.getBody().front());
  Value linear = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, launch.getBlockIds().x, threads),
      launch.getThreadIds().x);
  Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                       linear, total);
  auto guard = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
  gpu::TerminatorOp::create(b, loc);

  b.setInsertionPointToStart(guard.thenBlock());
  // 64-bit division is emulated on NVIDIA GPUs; delinearize in 32 bits when
  // the whole space fits.
  bool narrow = staticTotal && *staticTotal < (int64_t(1) << 31);
  Type i32 = b.getI32Type();
  auto toNarrow = [&](Value v) -> Value {
    return narrow ? arith::IndexCastUIOp::create(b, loc, i32, v).getResult()
                  : v;
  };
  auto toIndex = [&](Value v) -> Value {
    return narrow ? arith::IndexCastUIOp::create(b, loc, b.getIndexType(), v)
                        .getResult()
                  : v;
  };
  Value remaining = toNarrow(linear);
  SmallVector<Value> ivs(tripCounts.size());
  for (size_t d = tripCounts.size(); d-- > 0;) {
    Value trips = toNarrow(tripCounts[d]);
    Value position = toIndex(arith::RemUIOp::create(b, loc, remaining, trips));
    if (d > 0)
      remaining = arith::DivUIOp::create(b, loc, remaining, trips);
    ivs[d] = arith::AddIOp::create(
        b, loc, loop.getLowerBound()[d],
        arith::MulIOp::create(b, loc, position, loop.getStep()[d]));
  }
  IRMapping mapping;
  mapping.map(loop.getInductionVars(), ivs);
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, mapping);
  loop.erase();
  return success();
}

/// Lowers `op` to loops inside a single-thread launch.
LogicalResult mapToSingleThread(RewriterBase &rewriter, linalg::LinalgOp op) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Value one = indexConstant(rewriter, loc, 1);
  auto launch =
      gpu::LaunchOp::create(rewriter, loc, one, one, one, one, one, one);
  rewriter.setInsertionPointToStart(&launch.getBody().front());
  auto terminator = gpu::TerminatorOp::create(rewriter, loc);
  op->moveBefore(terminator);
  rewriter.setInsertionPoint(op);
  if (failed(linalg::linalgOpToLoops(rewriter, op)))
    return op.emitError("dq-gpu-map-to-launches: cannot lower to loops");
  rewriter.eraseOp(op);
  return success();
}

struct MapToLaunchesPass
    : public mlir::dq::impl::DQGPUMapToLaunchesBase<MapToLaunchesPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (blockSize <= 0 || blockSize > 1024) {
      func.emitError("dq-gpu-map-to-launches: block-size must be in [1, 1024]");
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    // Copies between buffers become kernels like any other op.
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) {
      if (!copy->getParentOfType<gpu::LaunchOp>())
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    }

    SmallVector<linalg::LinalgOp> ops;
    for (Block &block : func.getBody())
      for (Operation &op : block)
        if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
          ops.push_back(linalgOp);
    for (linalg::LinalgOp op : ops) {
      if (!op.hasPureBufferSemantics()) {
        op.emitError("dq-gpu-map-to-launches: expected a linalg op on buffers "
                     "(run after bufferization)");
        return signalPassFailure();
      }
      if (op.getNumParallelLoops() == 0) {
        if (failed(mapToSingleThread(rewriter, op)))
          return signalPassFailure();
        continue;
      }
      Operation *before = op->getPrevNode();
      Block *block = op->getBlock();
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToParallelLoops(rewriter, op))) {
        op.emitError("dq-gpu-map-to-launches: cannot lower to parallel loops");
        return signalPassFailure();
      }
      Operation *after = op->getNextNode();
      rewriter.eraseOp(op);
      SmallVector<scf::ParallelOp> loops;
      for (auto it = before ? std::next(before->getIterator()) : block->begin();
           &*it != after; ++it)
        if (auto loop = dyn_cast<scf::ParallelOp>(*it))
          loops.push_back(loop);
      for (scf::ParallelOp loop : loops)
        if (failed(mapParallelLoop(loop, blockSize)))
          return signalPassFailure();
    }

    // Scalar stores left on the host (a tensor.from_elements, a 0-d
    // result) run in a single thread too: the host never writes device
    // memory and need not wait for the queued kernels.
    SmallVector<memref::StoreOp> stores;
    for (Block &block : func.getBody())
      for (Operation &op : block)
        if (auto store = dyn_cast<memref::StoreOp>(op))
          stores.push_back(store);
    for (memref::StoreOp store : stores) {
      rewriter.setInsertionPoint(store);
      Location loc = store.getLoc();
      Value one = indexConstant(rewriter, loc, 1);
      auto launch =
          gpu::LaunchOp::create(rewriter, loc, one, one, one, one, one, one);
      rewriter.setInsertionPointToStart(&launch.getBody().front());
      auto terminator = gpu::TerminatorOp::create(rewriter, loc);
      store->moveBefore(terminator);
    }
  }
};
} // namespace
