//===- VectorizeGenerics.cpp - dq-vectorize-generics ----------------------===//
//
// Vectorizes the reduction generics of the training graph (conv forward and
// gradients, level-fit histograms) along their innermost parallel loop. The
// recipe (tile all but the innermost loop to 1, fold unit dims, vectorize,
// simplify vector ops) is a transform-dialect script, generated for the loop
// ranks present and applied by the transform interpreter.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"

#include "dialects/dq/DQOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"

#include <set>

namespace mlir::dq {
#define GEN_PASS_DEF_DQVECTORIZEGENERICS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

/// Candidates get a unit attribute dq_vec<kind><rank>: kind 'c' for
/// convolution-like access maps (sums of dims), which are vectorized after
/// unit-dim folding, 'p' otherwise.
std::optional<std::pair<char, unsigned>> classify(linalg::GenericOp op) {
  // A lowering that knows the recipe does not fit its generic says so (the
  // bit packing of dq.pack_bits: its index-dependent shifts over a short
  // word loop blow the vectorizer's IR up instead of speeding it up).
  if (op->hasAttr(dq::kKeepScalarAttr))
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators.empty() || iterators.back() != utils::IteratorType::parallel ||
      llvm::none_of(iterators, [](utils::IteratorType t) {
        return t == utils::IteratorType::reduction;
      }))
    return std::nullopt;
  // Vector stores must walk the output's contiguous dimension: its last
  // access must be the innermost loop (keep-dims reductions whose output
  // ends in a broadcast 0 stay scalar).
  unsigned innermost = iterators.size() - 1;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (map.getNumResults() == 0)
      return std::nullopt;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (!last || last.getPosition() != innermost)
      return std::nullopt;
  }
  if (llvm::any_of(op.getRegion().getOps(),
                   [](Operation &inner) { return inner.getNumRegions() > 0; }))
    return std::nullopt;
  bool convLike = llvm::any_of(op.getIndexingMapsArray(), [](AffineMap map) {
    return llvm::any_of(map.getResults(), [](AffineExpr e) {
      return !isa<AffineDimExpr, AffineConstantExpr>(e);
    });
  });
  bool gathers = llvm::any_of(op.getRegion().getOps(), [](Operation &inner) {
    return isa<tensor::ExtractOp>(inner);
  });
  // Multi-result ops (the level-fit histograms) vectorize before unit-dim
  // folding, which would lose track of them; a gather (tensor.extract of a
  // level table fused into a contraction) only vectorizes in those
  // histograms; window ops with two results (max-pool arg-max) stay scalar.
  bool multiResult = op.getNumDpsInits() > 1;
  if (multiResult ? convLike : gathers)
    return std::nullopt;
  return std::make_pair(convLike ? 'c' : 'p',
                        static_cast<unsigned>(iterators.size()));
}

std::string tagOf(char kind, unsigned rank) {
  return "dq_vec" + std::string(1, kind) + std::to_string(rank);
}

/// The transform script for the tagged ranks.
std::string buildScript(const std::set<std::pair<char, unsigned>> &tags) {
  std::string tiles, vectorizeParallel, vectorizeConv;
  for (auto [kind, rank] : tags) {
    std::string tag = tagOf(kind, rank);
    SmallVector<std::string> sizes(rank - 1, "1");
    sizes.push_back("0");
    SmallVector<std::string> loops(rank - 1, "!transform.any_op");
    tiles += "    %m_" + tag +
             " = transform.structured.match ops{[\"linalg.generic\"]} "
             "attributes {" +
             tag +
             "} in %root : (!transform.any_op) -> !transform.any_op\n"
             "    %t_" +
             tag + " = transform.foreach %m_" + tag +
             " : !transform.any_op -> !transform.any_op {\n"
             "    ^bb0(%op: !transform.any_op):\n"
             "      %tiled, %loops:" +
             std::to_string(rank - 1) +
             " = transform.structured.tile_using_for %op tile_sizes [" +
             llvm::join(sizes, ", ") +
             "] : (!transform.any_op) -> (!transform.any_op, " +
             llvm::join(loops, ", ") +
             ")\n"
             "      transform.yield %tiled : !transform.any_op\n"
             "    }\n";
    std::string vectorize = "    transform.structured.vectorize %t_" + tag +
                            " : !transform.any_op\n";
    (kind == 'p' ? vectorizeParallel : vectorizeConv) += vectorize;
  }
  return "module attributes {transform.with_named_sequence} {\n"
         "  transform.named_sequence @__transform_main(%root: "
         "!transform.any_op {transform.readonly}) {\n" +
         tiles + vectorizeParallel +
         "    %funcs = transform.structured.match ops{[\"func.func\"]} in "
         "%root : (!transform.any_op) -> !transform.any_op\n"
         "    transform.apply_patterns to %funcs {\n"
         "      "
         "transform.apply_patterns.linalg.fold_unit_extent_dims_via_slices\n"
         "      transform.apply_patterns.canonicalization\n"
         "    } : !transform.any_op\n" +
         vectorizeConv +
         "    transform.apply_patterns to %funcs {\n"
         "      transform.apply_patterns.vector.transfer_permutation_patterns\n"
         "      transform.apply_patterns.vector.lower_multi_reduction "
         "lowering_strategy = \"innerparallel\"\n"
         "      transform.apply_patterns.vector.lower_contraction "
         "lowering_strategy = \"outerproduct\"\n"
         "      transform.apply_patterns.vector.lower_outerproduct\n"
         "      transform.apply_patterns.vector.lower_broadcast\n"
         "      "
         "transform.apply_patterns.vector.cast_away_vector_leading_one_dim\n"
         "      transform.apply_patterns.canonicalization\n"
         "    } : !transform.any_op\n"
         "    transform.yield\n"
         "  }\n"
         "}\n";
}

struct VectorizeGenericsPass
    : public mlir::dq::impl::DQVectorizeGenericsBase<VectorizeGenericsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::set<std::pair<char, unsigned>> tags;
    module.walk([&](linalg::GenericOp op) {
      if (auto tag = classify(op)) {
        op->setAttr(tagOf(tag->first, tag->second),
                    UnitAttr::get(&getContext()));
        tags.insert(*tag);
      }
    });
    if (tags.empty())
      return;
    std::string script = buildScript(tags);
    OwningOpRef<ModuleOp> transforms =
        parseSourceString<ModuleOp>(script, ParserConfig(&getContext()));
    if (!transforms) {
      mlir::emitError(module.getLoc(),
                      "dq-vectorize-generics: internal transform script "
                      "does not parse");
      return signalPassFailure();
    }
    Operation *entry = transform::detail::findTransformEntryPoint(
        *transforms, *transforms, "__transform_main");
    if (!entry ||
        failed(transform::applyTransformNamedSequence(
            module, entry, *transforms,
            transform::TransformOptions().enableExpensiveChecks(false))))
      return signalPassFailure();
    // Tags are scaffolding for the script only.
    module.walk([&](linalg::GenericOp op) {
      for (auto [kind, rank] : tags)
        op->removeAttr(tagOf(kind, rank));
    });
  }
};
} // namespace
