//===- DatasetFuzzer.cpp - fuzz the IDX and CIFAR-10 readers --------------===//
//
// Input: an IDX image file (raw or gzip), or an image file and a label file
// joined by the 8 bytes "DQFZSPLT". Every input is also read as a CIFAR-10
// binary batch. Readers must throw dq::runtime::Error or return a data set
// whose sizes agree; small ones are then normalized, augmented and
// gathered as dq-train does. DQ_FUZZ_DATASET_READERS=idx (or cifar) runs
// only those readers.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "dq/runtime/Dataset.h"
#include "dq/runtime/Error.h"

#include <cstdlib>
#include <cstring>

using namespace dq::runtime;

static void check(const Dataset &data, bool labels, const char *what) {
  size_t elements = data.imageElements();
  if (data.height <= 0 || data.width <= 0 || data.channels <= 0)
    dq::fuzz::fail(std::string(what) + ": accepted a non-positive image size");
  if (data.raw.size() != data.count * elements)
    dq::fuzz::fail(std::string(what) + ": raw holds " +
                   std::to_string(data.raw.size()) + " bytes for " +
                   std::to_string(data.count) + " images of " +
                   std::to_string(elements));
  if (labels) {
    if (data.labels.size() != data.count)
      dq::fuzz::fail(std::string(what) + ": label count differs from images");
    for (int32_t label : data.labels)
      if (label < 0 || label >= data.classes)
        dq::fuzz::fail(std::string(what) + ": accepted label " +
                       std::to_string(label));
  }
}

/// What dq-train and dq-run do with a loaded set, on small sets only.
static void exercise(Dataset &data) {
  if (data.count == 0 || data.raw.size() > (1u << 16))
    return;
  data.normalize({0.5f}, {0.25f});
  size_t batch = data.count < 3 ? data.count : 3;
  BatchSampler sampler(data.count, batch, /*seed=*/7);
  std::vector<float> out(batch * data.imageElements());
  for (const Batch &b : sampler.batches(1))
    augment(data, b.indices, 1, 7, out.data());
  for (const Batch &b : sampler.evalBatches()) {
    gatherBatch(data, b.indices, out.data());
    if (!data.labels.empty()) {
      std::vector<int32_t> labels(batch);
      gatherLabels(data, b.indices, labels.data());
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char kSplit[8] = {'D', 'Q', 'F', 'Z', 'S', 'P', 'L', 'T'};
  const uint8_t *split = nullptr;
  if (size >= sizeof(kSplit))
    for (size_t i = 0; i + sizeof(kSplit) <= size; ++i)
      if (std::memcmp(data + i, kSplit, sizeof(kSplit)) == 0) {
        split = data + i;
        break;
      }

  static const char *only = std::getenv("DQ_FUZZ_DATASET_READERS");
  static const bool runIdx = !only || std::strcmp(only, "cifar") != 0;
  static const bool runCifar = !only || std::strcmp(only, "idx") != 0;
  bool accepted = false; // by one of the readers
  std::string why;
  if (!runIdx) {
    // CIFAR-10 only.
  } else if (split) {
    std::string images = dq::fuzz::writeTempFile("images", data, split - data);
    const uint8_t *rest = split + sizeof(kSplit);
    std::string labels =
        dq::fuzz::writeTempFile("labels", rest, data + size - rest);
    try {
      Dataset set = loadIdx(images, labels);
      check(set, true, "loadIdx");
      exercise(set);
      accepted = true;
    } catch (const Error &e) {
      why += std::string(e.what()) + "; ";
    }
  } else {
    std::string images = dq::fuzz::writeTempFile("images", data, size);
    try {
      Dataset set = loadIdxImages(images);
      check(set, false, "loadIdxImages");
      exercise(set);
      accepted = true;
    } catch (const Error &e) {
      why += std::string(e.what()) + "; ";
    }
  }

  if (runCifar) {
    std::string batch = dq::fuzz::writeTempFile("cifar", data, size);
    try {
      Dataset set = loadCifar10Binary({batch});
      check(set, true, "loadCifar10Binary");
      exercise(set);
      accepted = true;
    } catch (const Error &e) {
      why += e.what();
    }
  }
  if (!accepted)
    dq::fuzz::rejected(why, size);
  return 0;
}
