#include "dq/runtime/Export.h"

#include "dq/Contract/Roles.h"
#include "dq/runtime/Error.h"
#include "dq/runtime/StateFile.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <map>

namespace dq {
namespace runtime {

using json = nlohmann::json;
using ::dq::contract::isRole;
using ::dq::contract::Role;

static const char *const kExportKind = "dq-export";

bool isInferenceRole(const std::string &role) {
  std::optional<Role> known = ::dq::contract::roleFromName(role);
  return known && ::dq::contract::isInferenceRole(*known);
}

static std::string basisNameOf(const std::string &codesName) {
  const std::string suffix = ::dq::contract::kCodesSuffix;
  if (codesName.size() <= suffix.size() ||
      codesName.compare(codesName.size() - suffix.size(), suffix.size(),
                        suffix) != 0)
    return {};
  return codesName.substr(0, codesName.size() - suffix.size()) +
         ::dq::contract::kBasisSuffix;
}

int codeBits(const Manifest &manifest, const TensorSpec &codes) {
  std::string basisName = basisNameOf(codes.name);
  const TensorSpec *basis =
      basisName.empty() ? nullptr : manifest.findState(basisName);
  if (!basis || !isRole(basis->role, Role::Basis) || basis->shape.empty())
    throw Error("codes tensor '" + codes.name +
                "' has no basis tensor '<layer>.basis' in the manifest");
  int64_t bits = basis->shape.back();
  if (bits < 1 || bits > 8)
    throw Error("basis '" + basisName + "' has " + std::to_string(bits) +
                " levels per channel; codes are 1 to 8 bits");
  return static_cast<int>(bits);
}

std::vector<uint8_t> packCodes(const int8_t *codes, size_t count, int bits,
                               const std::string &name) {
  std::vector<uint8_t> packed((count * bits + 7) / 8, 0);
  const unsigned limit = 1u << bits;
  for (size_t i = 0; i < count; ++i) {
    unsigned code = static_cast<uint8_t>(codes[i]);
    if (code >= limit)
      throw Error("codes tensor '" + name + "': element " + std::to_string(i) +
                  " is " + std::to_string(static_cast<int>(codes[i])) +
                  ", not a " + std::to_string(bits) + "-bit code");
    for (int b = 0; b < bits; ++b)
      if (code >> b & 1u) {
        size_t bit = i * bits + b;
        packed[bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
      }
  }
  return packed;
}

void unpackCodes(const uint8_t *packed, size_t count, int bits,
                 int8_t *codes) {
  for (size_t i = 0; i < count; ++i) {
    unsigned code = 0;
    for (int b = 0; b < bits; ++b) {
      size_t bit = i * bits + b;
      code |= (packed[bit / 8] >> (bit % 8) & 1u) << b;
    }
    codes[i] = static_cast<int8_t>(code);
  }
}

void writeExport(const std::string &path, const Manifest &manifest,
                 const std::vector<HostTensor> &state) {
  if (state.size() != manifest.state.size())
    throw Error("export: the state has " + std::to_string(state.size()) +
                " tensors, the manifest " +
                std::to_string(manifest.state.size()));
  json packed = json::object();
  std::vector<HostTensor> kept;
  for (size_t i = 0; i < state.size(); ++i) {
    const TensorSpec &spec = manifest.state[i];
    if (!isInferenceRole(spec.role))
      continue;
    if (!isRole(spec.role, Role::Codes)) {
      kept.push_back(state[i]);
      continue;
    }
    if (spec.dtype != DType::I8)
      throw Error("codes tensor '" + spec.name + "' is " + spec.typeString() +
                  ", expected i8");
    int bits = codeBits(manifest, spec);
    std::vector<uint8_t> bytes =
        packCodes(state[i].as<int8_t>(), state[i].numElements(), bits,
                  spec.name);
    TensorSpec packedSpec{spec.name, spec.role, DType::I8,
                          {static_cast<int64_t>(bytes.size())}};
    HostTensor tensor(packedSpec);
    std::memcpy(tensor.data.data(), bytes.data(), bytes.size());
    kept.push_back(std::move(tensor));
    packed[spec.name] = {{"bits", bits}, {"shape", spec.shape}};
  }
  // What the inputs of the trained model are (dq-run checks it against the
  // manifest it is run with).
  json preprocess =
      json::parse(preprocessToJson(effectivePreprocess(manifest)));
  json metadata = {
      {"kind", kExportKind}, {"packed", packed}, {"preprocess", preprocess}};
  writeStateFile(path, manifest.moduleHash, kept, metadata.dump());
}

/// readInferenceState without the value checks.
static std::vector<HostTensor> readExportOrState(const std::string &path,
                                                 const Manifest &manifest,
                                                 std::string *metadataJson) {
  StateFileContents contents = readStateFile(path);
  if (metadataJson)
    *metadataJson = contents.metadataJson;
  json metadata = json::parse(contents.metadataJson, nullptr,
                              /*allow_exceptions=*/false);
  const json *kind = metadata.is_object() && metadata.contains("kind")
                         ? &metadata["kind"]
                         : nullptr;
  if (!kind || *kind != kExportKind)
    return stateForManifest(std::move(contents), path, manifest);

  checkManifestHash(path, contents.manifestHash, manifest, "export");
  const json *packed = metadata.contains("packed") ? &metadata["packed"]
                                                   : nullptr;
  if (!packed || !packed->is_object())
    throw Error(path + ": export metadata has no \"packed\" object");
  std::map<std::string, HostTensor *> inFile;
  for (HostTensor &tensor : contents.tensors)
    inFile[tensor.spec.name] = &tensor;

  std::vector<HostTensor> state;
  state.reserve(manifest.state.size());
  size_t used = 0;
  for (const TensorSpec &spec : manifest.state) {
    HostTensor tensor(spec);
    auto found = inFile.find(spec.name);
    if (!isInferenceRole(spec.role)) {
      if (found != inFile.end())
        throw Error(path + ": export holds training-only tensor '" +
                    spec.name + "' (" + spec.role + ")");
      state.push_back(std::move(tensor));
      continue;
    }
    if (found == inFile.end())
      throw Error(path + ": export misses tensor '" + spec.name + "' (" +
                  spec.role + ")");
    ++used;
    const HostTensor &stored = *found->second;
    if (isRole(spec.role, Role::Codes)) {
      int bits = codeBits(manifest, spec);
      auto entry = packed->find(spec.name);
      size_t bytes = (static_cast<size_t>(spec.numElements()) * bits + 7) / 8;
      // Compared as JSON: a field of another type is a mismatch, not an
      // exception of the JSON library.
      if (entry == packed->end() || !entry->is_object() ||
          !entry->contains("bits") || (*entry)["bits"] != json(bits) ||
          !entry->contains("shape") || (*entry)["shape"] != json(spec.shape) ||
          stored.spec.dtype != DType::I8 ||
          stored.spec.shape != std::vector<int64_t>{static_cast<int64_t>(bytes)})
        throw Error(path + ": packed codes '" + spec.name +
                    "' do not match the manifest's " + spec.typeString() +
                    " at " + std::to_string(bits) + " bits");
      unpackCodes(reinterpret_cast<const uint8_t *>(stored.data.data()),
                  spec.numElements(), bits, tensor.as<int8_t>());
    } else {
      if (stored.spec.dtype != spec.dtype || stored.spec.shape != spec.shape)
        throw Error(path + ": tensor '" + spec.name + "' is " +
                    stored.spec.typeString() + ", but the manifest says " +
                    spec.typeString());
      std::memcpy(tensor.data.data(), stored.data.data(), spec.bytes());
    }
    state.push_back(std::move(tensor));
  }
  if (used != contents.tensors.size())
    throw Error(path + ": export holds tensors the manifest does not list");
  return state;
}

std::vector<HostTensor> readInferenceState(const std::string &path,
                                           const Manifest &manifest,
                                           bool allowInvalidValues,
                                           std::string *metadataJson) {
  std::vector<HostTensor> state =
      readExportOrState(path, manifest, metadataJson);
  checkStateValues(state, manifest, path, allowInvalidValues);
  return state;
}

bool isExportMetadata(const std::string &metadataJson) {
  json metadata = json::parse(metadataJson, nullptr,
                              /*allow_exceptions=*/false);
  return metadata.is_object() && metadata.contains("kind") &&
         metadata["kind"] == kExportKind;
}

std::optional<Preprocess> recordedPreprocess(const std::string &path,
                                             const std::string &metadataJson,
                                             const Manifest &manifest) {
  json metadata = json::parse(metadataJson, nullptr,
                              /*allow_exceptions=*/false);
  if (!metadata.is_object() || !metadata.contains("preprocess"))
    return std::nullopt;
  if (manifest.imageShape.size() != 3)
    throw Error(path + ": metadata.preprocess: layout NHWC needs images "
                       "[H, W, C], the model's are " +
                shapeString(manifest.imageShape));
  return preprocessFromJson(metadata["preprocess"].dump(), path,
                            "metadata.preprocess", manifest.imageShape.back());
}

void checkRecordedPreprocess(const std::string &path,
                             const std::string &metadataJson,
                             const Manifest &manifest) {
  std::optional<Preprocess> recorded =
      recordedPreprocess(path, metadataJson, manifest);
  if (!recorded)
    return;
  Preprocess expected = effectivePreprocess(manifest);
  if (*recorded == expected)
    return;
  auto list = [](const std::vector<double> &values) {
    std::string text;
    for (double v : values)
      text += (text.empty() ? "" : ",") + json(v).dump();
    return text;
  };
  throw Error(path + ": trained on inputs normalized with " +
              describePreprocess(*recorded) + ", but the model's manifest " +
              (manifest.preprocess ? "records " : "records none (") +
              describePreprocess(expected) +
              (manifest.preprocess ? "" : " is the default)") +
              "; compile the model with --input-mean " +
              list(recorded->mean) + " --input-std " + list(recorded->stddev) +
              " (or use the manifest it was trained with)");
}

} // namespace runtime
} // namespace dq
