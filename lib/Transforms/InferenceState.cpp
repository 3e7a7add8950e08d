//===- InferenceState.cpp - trained state for the inference graph ---------===//
//
// Compiled with exceptions: the runtime's readers throw dq::runtime::Error.
//
//===----------------------------------------------------------------------===//

#include "InferenceState.h"

#include "dq/runtime/Error.h"
#include "dq/runtime/Export.h"
#include "dq/runtime/Manifest.h"

#include <cstring>
#include <exception>

namespace rt = dq::runtime;

std::optional<std::string> mlir::dq::readTrainedState(
    const std::string &path, uint64_t moduleHash,
    const std::vector<StateTensorInfo> &tensors,
    std::vector<std::vector<char>> &data) {
  try {
    rt::Manifest manifest;
    manifest.moduleHash = moduleHash;
    for (const StateTensorInfo &info : tensors) {
      rt::TensorSpec spec;
      spec.name = info.name;
      spec.role = info.role;
      std::optional<rt::DType> dtype = rt::parseDType(info.dtype);
      if (!dtype)
        return "state tensor '" + info.name + "' has the unsupported type " +
               info.dtype;
      spec.dtype = *dtype;
      spec.shape = info.shape;
      manifest.state.push_back(spec);
    }
    std::vector<rt::HostTensor> state = rt::readInferenceState(path, manifest);
    data.clear();
    for (const rt::HostTensor &tensor : state) {
      const char *bytes = reinterpret_cast<const char *>(tensor.data.data());
      data.emplace_back(bytes, bytes + tensor.spec.bytes());
    }
    return std::nullopt;
  } catch (const std::exception &error) {
    return std::string(error.what());
  }
}

std::optional<std::string> mlir::dq::readStateOfModel(
    const std::string &manifestPath, const std::string &statePath,
    std::vector<StateTensorInfo> &tensors,
    std::vector<std::vector<char>> &data) {
  try {
    rt::Manifest manifest = rt::loadManifest(manifestPath);
    if (manifest.isInference())
      return manifestPath + ": an inference model has no state to start from";
    std::vector<rt::HostTensor> state =
        rt::readInferenceState(statePath, manifest);
    tensors.clear();
    data.clear();
    for (const rt::HostTensor &tensor : state) {
      const rt::TensorSpec &spec = tensor.spec;
      tensors.push_back({spec.name, spec.role, rt::dtypeName(spec.dtype),
                         spec.shape});
      const char *bytes = reinterpret_cast<const char *>(tensor.data.data());
      data.emplace_back(bytes, bytes + spec.bytes());
    }
    return std::nullopt;
  } catch (const std::exception &error) {
    return std::string(error.what());
  }
}

uint64_t mlir::dq::moduleTextHash(const std::string &text) {
  return rt::fnv1a64(text.data(), text.size());
}
