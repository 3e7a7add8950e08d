//===- ManifestFuzzer.cpp - fuzz the manifest parser ----------------------===//
//
// Input: manifest JSON text. parseManifest must throw dq::runtime::Error or
// return a manifest that toJson prints as text parseManifest reads back to
// the same manifest (and prints identically).
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "dq/runtime/Error.h"
#include "dq/runtime/Manifest.h"

using namespace dq::runtime;

static bool sameSpec(const TensorSpec &a, const TensorSpec &b) {
  return a.name == b.name && a.role == b.role && a.dtype == b.dtype &&
         a.shape == b.shape;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  Manifest manifest;
  try {
    manifest = parseManifest(text, "fuzz.manifest.json");
  } catch (const Error &e) {
    dq::fuzz::rejected(e.what(), size);
    return 0;
  }
  for (const std::string &name : requiredEntryPoints(manifest.kind))
    if (!manifest.entryPoints.count(name))
      dq::fuzz::fail("accepted a manifest without entry point " + name);
  if (manifest.isInference() && !manifest.state.empty())
    dq::fuzz::fail("accepted an inference manifest with state tensors");
  for (const TensorSpec &spec : manifest.state) {
    if (manifest.findState(spec.name) == nullptr)
      dq::fuzz::fail("findState misses '" + spec.name + "'");
    // What the tools do with a validated spec: size and allocate its data.
    std::optional<uint64_t> bytes = checkedByteSize(spec.dtype, spec.shape);
    if (!bytes || spec.bytes() != *bytes)
      dq::fuzz::fail("state tensor '" + spec.name + "' " + spec.typeString() +
                     ": bytes() disagrees with checkedByteSize");
  }

  std::string printed = toJson(manifest);
  Manifest again;
  try {
    again = parseManifest(printed, "printed manifest");
  } catch (const Error &e) {
    dq::fuzz::fail(std::string("toJson printed a manifest parseManifest "
                               "rejects: ") +
                   e.what() + "\n" + printed);
  }
  bool same = again.kind == manifest.kind &&
              again.moduleHash == manifest.moduleHash &&
              again.library.bytes == manifest.library.bytes &&
              again.library.hash == manifest.library.hash &&
              again.batch == manifest.batch &&
              again.imageShape == manifest.imageShape &&
              again.classes == manifest.classes &&
              again.device == manifest.device &&
              again.preprocess.has_value() == manifest.preprocess.has_value() &&
              (!manifest.preprocess ||
               (again.preprocess->mean == manifest.preprocess->mean &&
                again.preprocess->stddev == manifest.preprocess->stddev)) &&
              again.state.size() == manifest.state.size() &&
              again.entryPoints.size() == manifest.entryPoints.size();
  for (size_t i = 0; same && i < manifest.state.size(); ++i)
    same = sameSpec(again.state[i], manifest.state[i]);
  for (const auto &[name, entry] : manifest.entryPoints) {
    auto found = again.entryPoints.find(name);
    same = same && found != again.entryPoints.end() &&
           found->second.symbol == entry.symbol &&
           found->second.inputs == entry.inputs &&
           found->second.outputs == entry.outputs;
  }
  if (!same)
    dq::fuzz::fail("manifest round trip through toJson changed it:\n" + printed);
  if (toJson(again) != printed)
    dq::fuzz::fail("toJson is not stable over a round trip");
  return 0;
}
