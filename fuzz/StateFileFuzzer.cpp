//===- StateFileFuzzer.cpp - fuzz the state-file reader -------------------===//
//
// Input: the bytes of a state file. readStateFile must either throw
// dq::runtime::Error or return contents that writeStateFile turns back into
// exactly the same bytes (the format has one encoding per contents);
// readStateFileFor then checks them against a small fixed manifest.
// The mutator repairs the checksums of most mutants (FuzzSupport.h).
//
//===----------------------------------------------------------------------===//

#include "FixedManifest.h"
#include "FuzzSupport.h"

#include "dq/runtime/Error.h"
#include "dq/runtime/Manifest.h"
#include "dq/runtime/StateFile.h"

#include <cstring>
#include <fstream>
#include <iterator>

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

static std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = dq::fuzz::writeTempFile("state", data, size);
  StateFileContents contents;
  try {
    contents = readStateFile(path);
  } catch (const Error &e) {
    dq::fuzz::rejected(e.what(), size);
    return 0;
  }

  for (const HostTensor &tensor : contents.tensors)
    if (tensor.data.size() != tensor.spec.bytes())
      dq::fuzz::fail("tensor '" + tensor.spec.name + "' holds " +
                     std::to_string(tensor.data.size()) + " bytes, its spec " +
                     std::to_string(tensor.spec.bytes()));

  // Round trip: the accepted contents written again give the input's bytes.
  static const std::string copyPath = path + ".copy";
  try {
    writeStateFile(copyPath, contents.manifestHash, contents.tensors,
                   contents.metadataJson);
  } catch (const Error &e) {
    dq::fuzz::fail(std::string("readStateFile accepted what writeStateFile "
                               "rejects: ") +
                   e.what());
  }
  std::string copy = readAll(copyPath);
  std::remove(copyPath.c_str());
  if (copy.size() != size || std::memcmp(copy.data(), data, size) != 0)
    dq::fuzz::fail("state file round trip changed the bytes (" +
                   std::to_string(size) + " in, " +
                   std::to_string(copy.size()) + " out)");

  try {
    std::string metadata;
    std::vector<HostTensor> state = readStateFileFor(path, *manifest, &metadata);
    if (state.size() != manifest->state.size())
      dq::fuzz::fail("readStateFileFor returned " +
                     std::to_string(state.size()) + " tensors for " +
                     std::to_string(manifest->state.size()));
    for (size_t i = 0; i < state.size(); ++i)
      if (state[i].spec.name != manifest->state[i].name ||
          state[i].spec.role != manifest->state[i].role ||
          state[i].data.size() != manifest->state[i].bytes())
        dq::fuzz::fail("readStateFileFor: tensor " + std::to_string(i) +
                       " does not match the manifest");
    if (metadata != contents.metadataJson)
      dq::fuzz::fail("readStateFileFor: metadata differs from readStateFile's");
  } catch (const Error &) {
  }
  return 0;
}
