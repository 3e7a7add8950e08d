//===- ExportFuzzer.cpp - fuzz the export (.dqm) reader -------------------===//
//
// Input: the bytes of an export or a state file. readInferenceState must
// throw dq::runtime::Error or return the fixed manifest's state; an export
// it accepts, written again with writeExport, must read back to the same
// tensors. The mutator repairs checksums (FuzzSupport.h).
//
//===----------------------------------------------------------------------===//

#include "FixedManifest.h"
#include "FuzzSupport.h"

#include "dq/runtime/Error.h"
#include "dq/runtime/Export.h"
#include "dq/runtime/Manifest.h"


using namespace dq::runtime;

static const Manifest *manifest;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  manifest = &dq::fuzz::fixedManifest();
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size,
                                          size_t maxSize, unsigned seed) {
  return dq::fuzz::mutateStateFile(data, size, maxSize, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = dq::fuzz::writeTempFile("export", data, size);
  std::vector<HostTensor> state;
  try {
    state = readInferenceState(path, *manifest);
  } catch (const Error &e) {
    dq::fuzz::rejected(e.what(), size);
    return 0;
  }
  if (state.size() != manifest->state.size())
    dq::fuzz::fail("readInferenceState returned " +
                   std::to_string(state.size()) + " tensors for " +
                   std::to_string(manifest->state.size()));
  for (size_t i = 0; i < state.size(); ++i)
    if (state[i].spec.name != manifest->state[i].name ||
        state[i].spec.dtype != manifest->state[i].dtype ||
        state[i].spec.shape != manifest->state[i].shape ||
        state[i].data.size() != manifest->state[i].bytes())
      dq::fuzz::fail("readInferenceState: tensor " + std::to_string(i) +
                     " does not match the manifest");

  // What inference reads survives writeExport -> readInferenceState. Codes
  // that do not fit their bit width are rejected by writeExport: only codes
  // an export can hold (unpacked from one) are expected to round-trip.
  static const std::string copyPath = path + ".copy.dqm";
  try {
    writeExport(copyPath, *manifest, state);
  } catch (const Error &) {
    // A full state file may hold codes out of range; an unpacked export
    // never does, and then it is a bug.
    return 0;
  }
  std::vector<HostTensor> again;
  try {
    again = readInferenceState(copyPath, *manifest);
  } catch (const Error &e) {
    dq::fuzz::fail(std::string("readInferenceState rejects what writeExport "
                               "wrote: ") +
                   e.what());
  }
  std::remove(copyPath.c_str());
  for (size_t i = 0; i < state.size(); ++i)
    if (isInferenceRole(manifest->state[i].role) &&
        !(again[i].data == state[i].data))
      dq::fuzz::fail("export round trip changed tensor '" +
                     manifest->state[i].name + "'");
  return 0;
}
