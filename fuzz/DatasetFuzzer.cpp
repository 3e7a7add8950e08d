//===- DatasetFuzzer.cpp - fuzz the IDX and CIFAR-10 readers --------------===//
//
// Input: an IDX image file (raw or gzip), or an image file and a label file
// joined by the 8 bytes "DQFZSPLT". Every input is also read as a CIFAR-10
// binary batch and as an .npz numpy data set. Readers must throw
// dq::runtime::Error or return a data set whose sizes agree; small ones are
// then normalized, augmented and gathered as dq-train does.
// DQ_FUZZ_DATASET_READERS=idx (or cifar, or npz) runs only those readers.
// The mutator repairs the CRC-32 of the stored members of most zip-shaped
// mutants, so mutations reach the .npy parser behind the check.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "dq/runtime/Dataset.h"
#include "dq/runtime/Error.h"

#include <zlib.h>

#include <cstdlib>
#include <cstring>

using namespace dq::runtime;

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

namespace {

uint32_t le32(const uint8_t *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
         uint32_t(p[3]) << 24;
}
uint16_t le16(const uint8_t *p) { return uint16_t(p[0] | p[1] << 8); }
void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}

/// Recomputes the CRC-32 of every stored member of a zip archive (in its
/// directory entry and local header) as far as the structure can be
/// walked; classic end record only.
void fixZipChecksums(uint8_t *data, size_t size) {
  if (size < 22)
    return;
  size_t end = size - 22;
  if (le32(data + end) != 0x06054b50)
    return;
  size_t entries = le16(data + end + 10);
  size_t at = le32(data + end + 16);
  for (size_t i = 0; i < entries && at + 46 <= size; ++i) {
    uint8_t *entry = data + at;
    if (le32(entry) != 0x02014b50)
      return;
    size_t stored = le32(entry + 20), local = le32(entry + 42);
    size_t variable = size_t(le16(entry + 28)) + le16(entry + 30) +
                      le16(entry + 32);
    if (le16(entry + 10) == 0 && local + 30 <= size &&
        le32(data + local) == 0x04034b50) {
      size_t start = local + 30 + size_t(le16(data + local + 26)) +
                     le16(data + local + 28);
      if (start <= size && stored <= size - start) {
        uint32_t crc = static_cast<uint32_t>(
            crc32(0, data + start, static_cast<uInt>(stored)));
        put32(entry + 16, crc);
        put32(data + local + 14, crc);
      }
    }
    at += 46 + variable;
  }
}

} // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size,
                                          size_t maxSize, unsigned seed) {
  size = LLVMFuzzerMutate(data, size, maxSize);
  // One mutation in eight keeps its (now usually wrong) checksums.
  if (seed % 8 != 0)
    fixZipChecksums(data, size);
  return size;
}

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
  static const bool runIdx = !only || std::strcmp(only, "idx") == 0;
  static const bool runCifar = !only || std::strcmp(only, "cifar") == 0;
  static const bool runNpz = !only || std::strcmp(only, "npz") == 0;
  static const bool runPnm = !only || std::strcmp(only, "pnm") == 0;
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
  if (runNpz) {
    std::string archive = dq::fuzz::writeTempFile("npz", data, size);
    try {
      Dataset set = loadNpz(archive, /*requireLabels=*/false);
      check(set, !set.labels.empty(), "loadNpz");
      if (set.labels.empty() && set.count == 0)
        dq::fuzz::fail("loadNpz: accepted an archive without images");
      exercise(set);
      accepted = true;
    } catch (const Error &e) {
      why += std::string("; ") + e.what();
    }
  }
  if (runPnm) {
    // One image of an image-folder data set (decodePnm).
    try {
      PnmImage image = decodePnm(data, size, "pnm");
      size_t expected = static_cast<size_t>(image.width) * image.height *
                        static_cast<size_t>(image.channels);
      if (image.width < 1 || image.height < 1 || image.width > kMaxPnmSide ||
          image.height > kMaxPnmSide ||
          (image.channels != 1 && image.channels != 3) ||
          image.pixels.size() != expected || expected > size)
        dq::fuzz::fail("decodePnm: accepted an inconsistent image");
      accepted = true;
    } catch (const Error &e) {
      why += std::string("; ") + e.what();
    }
  }
  if (!accepted)
    dq::fuzz::rejected(why, size);
  return 0;
}
