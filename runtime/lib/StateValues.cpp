// The value contract of a state (StateFile.h): what the compiled code may
// assume of the numbers it is given.
#include "dq/runtime/StateFile.h"

#include "dq/Contract/Roles.h"
#include "dq/runtime/Error.h"
#include "dq/runtime/Export.h"

#include <cmath>
#include <cstdio>

namespace dq {
namespace runtime {

using contract::isRole;
using contract::Role;

namespace {

std::string countText(size_t count, const char *what, size_t first) {
  return std::to_string(count) + " " + what + (count == 1 ? "" : "s") +
         " (the first at element " + std::to_string(first) + ")";
}

} // namespace

std::vector<StateValueProblem>
findStateValueProblems(const std::vector<HostTensor> &state,
                       const Manifest &manifest) {
  std::vector<StateValueProblem> problems;
  for (size_t t = 0; t < state.size() && t < manifest.state.size(); ++t) {
    const TensorSpec &spec = manifest.state[t];
    const HostTensor &tensor = state[t];
    if (tensor.spec.dtype != spec.dtype || tensor.spec.shape != spec.shape)
      continue; // the structural checks report these
    size_t count = spec.numElements();
    if (isRole(spec.role, Role::Codes) && spec.dtype == DType::I8) {
      int bits;
      try {
        bits = codeBits(manifest, spec);
      } catch (const Error &e) {
        problems.push_back({spec.name, e.what(), true});
        continue;
      }
      // Unsigned: an 8-bit code reaches 255 (decoding casts with
      // index_castui, packing with uint8_t).
      const uint8_t *codes =
          reinterpret_cast<const uint8_t *>(tensor.as<int8_t>());
      size_t bad = 0, first = 0;
      for (size_t i = 0; i < count; ++i)
        if (codes[i] >= (1u << bits)) {
          if (bad++ == 0)
            first = i;
        }
      if (bad)
        problems.push_back(
            {spec.name,
             countText(bad, "code", first) + " outside [0, " +
                 std::to_string(1 << bits) + ") for " + std::to_string(bits) +
                 "-bit codes, e.g. " +
                 std::to_string(static_cast<int>(codes[first])),
             true});
      continue;
    }
    if (spec.dtype != DType::F32)
      continue;
    const float *values = tensor.as<float>();
    size_t nonFinite = 0, firstNonFinite = 0, negative = 0, firstNegative = 0;
    bool variance = isRole(spec.role, Role::RunningVar);
    for (size_t i = 0; i < count; ++i) {
      float v = values[i];
      if (!std::isfinite(v)) {
        if (nonFinite++ == 0)
          firstNonFinite = i;
      } else if (variance && v < 0) {
        if (negative++ == 0)
          firstNegative = i;
      }
    }
    if (nonFinite)
      problems.push_back(
          {spec.name, countText(nonFinite, "non-finite value", firstNonFinite),
           false});
    if (negative)
      problems.push_back(
          {spec.name,
           countText(negative, "negative running variance", firstNegative),
           false});
  }
  return problems;
}

void checkStateValues(const std::vector<HostTensor> &state,
                      const Manifest &manifest, const std::string &path,
                      bool allowInvalidValues) {
  std::vector<StateValueProblem> problems =
      findStateValueProblems(state, manifest);
  if (problems.empty())
    return;
  bool unsafe = false;
  for (const StateValueProblem &p : problems)
    unsafe |= p.unsafe;
  std::string list;
  size_t shown = 0;
  for (const StateValueProblem &p : problems) {
    if (allowInvalidValues && !unsafe && !p.unsafe)
      std::fprintf(stderr, "warning: %s: tensor '%s': %s\n", path.c_str(),
                   p.tensor.c_str(), p.what.c_str());
    if (shown++ < 4)
      list += "\n  tensor '" + p.tensor + "': " + p.what;
  }
  if (problems.size() > 4)
    list += "\n  and " + std::to_string(problems.size() - 4) + " more";
  if (unsafe)
    throw Error(path + ": state values the compiled code cannot run with:" +
                list);
  if (!allowInvalidValues)
    throw Error(path + ": state values outside the model's contract:" + list +
                "\n(dq-run --allow-invalid-state loads such a state anyway, "
                "for inspection)");
}

} // namespace runtime
} // namespace dq
