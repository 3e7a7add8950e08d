//===- Roles.h - the training-module contract's names -----------*- C++ -*-===//
//
// The names shared by the passes, dq-compile, the runtime and the tools:
// the roles of state tensors, the attributes that tag them and the name
// suffixes that pair a quantized weight's tensors. Plain C++17 (no LLVM or
// MLIR): the runtime includes it as the compiler does. docs/TrainingGraph.md
// says what each role means; include/dq/Contract/TrainingModule.h reads
// and verifies a module against them.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_CONTRACT_ROLES_H
#define DQ_CONTRACT_ROLES_H

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace dq::contract {

/// What a state tensor is to the training step. Order = kRoleNames.
enum class Role {
  Codes,       // i8 codes of a quantized weight (unsigned, below 2^K)
  Basis,       // per-output-channel basis [channels x K] of those codes
  Latent,      // full-precision latent weight of the dq / lqnets schemes
  Momentum,    // SGD momentum (Adam's first moment) of a trained tensor
  SecondMoment, // Adam's second moment (exp_avg_sq) of a trained tensor
  ActBasis,    // basis [K] of an activation quantizer
  Param,       // a full-precision trained tensor (weights, biases, BN affine)
  RunningMean, // batch norm's running statistics
  RunningVar,
};

inline constexpr std::array<std::string_view, 9> kRoleNames = {
    "codes",     "basis", "latent",       "momentum",   "second_moment",
    "act_basis", "param", "running_mean", "running_var"};

constexpr std::string_view roleName(Role role) {
  return kRoleNames[static_cast<size_t>(role)];
}

constexpr std::optional<Role> roleFromName(std::string_view name) {
  for (size_t i = 0; i < kRoleNames.size(); ++i)
    if (kRoleNames[i] == name)
      return static_cast<Role>(i);
  return std::nullopt;
}

/// True if `name` is the name of `role` (runtime specs keep roles as text).
constexpr bool isRole(std::string_view name, Role role) {
  return name == roleName(role);
}

/// The element type a role's tensors have: codes are i8, all else f32.
enum class ElementType { I8, F32 };
constexpr ElementType elementTypeOf(Role role) {
  return role == Role::Codes ? ElementType::I8 : ElementType::F32;
}

/// The roles an export (and the inference graph) keeps: what predict needs.
/// Latent weights and the optimizer's moments only serve training.
constexpr bool isInferenceRole(Role role) {
  return role != Role::Latent && role != Role::Momentum &&
         role != Role::SecondMoment;
}

/// Attributes of the contract. `dq.state` / `dq.role` tag the state
/// arguments and results of the entry points; `dq.name` is the layer name an
/// op carries (it survives printing without locations); `dq.kind` says
/// whether a module is a training or an inference module.
/// (Character arrays: they compare with std::string and llvm::StringRef.)
inline constexpr char kStateAttr[] = "dq.state";
inline constexpr char kRoleAttr[] = "dq.role";
inline constexpr char kLayerNameAttr[] = "dq.name";
inline constexpr char kModuleKindAttr[] = "dq.kind";
/// On a `dq.decode_weights` of constant codes: the fp32 weights the codes
/// were fitted to (`--dq-quantize latent-init=fp32`), which the training
/// graph takes as the initial latent weights instead of the decoded ones,
/// and drops from the module.
inline constexpr char kLatentInitAttr[] = "dq.latent_init";

/// A quantized weight `<layer>.weight` is stored as `<layer>.weight.codes`
/// and `<layer>.weight.basis`.
inline constexpr char kCodesSuffix[] = ".codes";
inline constexpr char kBasisSuffix[] = ".basis";

} // namespace dq::contract

#endif // DQ_CONTRACT_ROLES_H
