// Data set loading, normalization, epoch order and augmentation; see
// dq/runtime/Dataset.h.
#include "dq/runtime/Dataset.h"

#include "dq/runtime/Error.h"
#include "dq/runtime/Tensor.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

namespace dq {
namespace runtime {

namespace {

//===----------------------------------------------------------------------===//
// Random numbers: splitmix64, fully specified, the same everywhere.
//===----------------------------------------------------------------------===//

/// The splitmix64 finalizer: a bijection on 64 bits with good avalanche.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Key for a (stream, seed, epoch, counter) tuple. The stream tag keeps the
/// shuffle and the augmentation independent although they share the seed.
uint64_t hashKey(uint64_t stream, uint64_t seed, uint64_t epoch,
                 uint64_t counter) {
  uint64_t h = mix64(seed ^ stream);
  h = mix64(h ^ epoch);
  return mix64(h ^ counter);
}

constexpr uint64_t kShuffleStream = 0x53485546464C4531ull; // "SHUFFLE1"
constexpr uint64_t kAugmentStream = 0x4155474D454E5431ull; // "AUGMENT1"

class SplitMix64 {
public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return mix64(state_);
  }
  /// Uniform in [0, bound), bound > 0, without modulo bias: reject the lowest
  /// 2^64 mod bound values so the rest split evenly.
  uint64_t below(uint64_t bound) {
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
      uint64_t r = next();
      if (r >= threshold)
        return r % bound;
    }
  }

private:
  uint64_t state_;
};

//===----------------------------------------------------------------------===//
// File reading
//===----------------------------------------------------------------------===//

/// A file read through zlib, which passes uncompressed files through
/// unchanged. Reads stop where the caller says, so a small compressed file
/// that inflates far beyond what its header declares (a gzip bomb) costs
/// only the declared bytes.
class InflatingReader {
public:
  explicit InflatingReader(const std::string &path) : path_(path) {
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) {
      int err = errno;
      throw Error(path + ": cannot open: " +
                  (err ? std::strerror(err) : "out of memory"));
    }
    gzbuffer(file_, 1 << 17);
  }
  ~InflatingReader() {
    if (file_)
      gzclose(file_);
  }
  InflatingReader(const InflatingReader &) = delete;
  InflatingReader &operator=(const InflatingReader &) = delete;

  /// Appends up to `count` more bytes to `data`; fewer only at the end.
  void readInto(std::vector<uint8_t> &data, uint64_t count) {
    constexpr size_t kChunk = 1 << 20;
    while (count > 0 && !ended_) {
      size_t piece = static_cast<size_t>(std::min<uint64_t>(count, kChunk));
      size_t used = data.size();
      data.resize(used + piece);
      int got = gzread(file_, data.data() + used, static_cast<unsigned>(piece));
      if (got < 0) {
        int code = 0;
        std::string message = gzerror(file_, &code);
        if (code == Z_ERRNO)
          message = std::strerror(errno);
        else
          message += " (corrupt gzip data)";
        throw Error(path_ + ": read error: " + message);
      }
      data.resize(used + static_cast<size_t>(got));
      count -= static_cast<uint64_t>(got);
      if (static_cast<size_t>(got) < piece)
        ended_ = true;
    }
  }

  /// Ends the read; throws when the compressed stream was cut short.
  void close() {
    // zlib treats a gzip stream that ends early as a soft error: gzread
    // returns what it could decompress and only gzclose reports Z_BUF_ERROR.
    int closed = gzclose(std::exchange(file_, nullptr));
    if (closed == Z_BUF_ERROR && ended_)
      throw Error(path_ +
                  ": truncated gzip data (the compressed stream ends early)");
    if (closed != Z_OK && closed != Z_BUF_ERROR)
      throw Error(path_ + ": read error on close");
  }

private:
  std::string path_;
  gzFile file_ = nullptr;
  bool ended_ = false;
};

/// The (decompressed) content of a file with a header: the first
/// `headerBytes` bytes, then as many more as `payloadBytes(header)` says
/// plus one (so that trailing data is still seen), never the whole of a
/// stream that inflates beyond what its header declares. `payloadBytes`
/// sees a complete header only; a file shorter than its header is returned
/// as it is, for the parser to report.
template <typename PayloadBytes>
std::vector<uint8_t> readFileWithHeader(const std::string &path,
                                        size_t headerBytes,
                                        PayloadBytes payloadBytes) {
  InflatingReader reader(path);
  std::vector<uint8_t> data;
  reader.readInto(data, headerBytes);
  if (data.size() == headerBytes)
    reader.readInto(data, payloadBytes(data.data()) + 1);
  reader.close();
  return data;
}

uint32_t readBigEndian32(const uint8_t *p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) |
         (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

constexpr uint32_t kIdxImageMagic = 0x00000803; // unsigned bytes, 3 dims
constexpr uint32_t kIdxLabelMagic = 0x00000801; // unsigned bytes, 1 dim
constexpr int kIdxClasses = 10;
// Bounds that keep count * rows * cols within 64 bits and reject nonsense
// headers before any arithmetic on them.
constexpr uint32_t kMaxIdxSide = 1 << 12;

std::string idxMagicHint(uint32_t magic) {
  if (magic == kIdxImageMagic)
    return " (this is an IDX image file)";
  if (magic == kIdxLabelMagic)
    return " (this is an IDX label file)";
  if (magic == 0x934e554d) // "\x93NUM"
    return " (this is a .npy array; dq reads numpy data as an .npz archive: "
           "np.savez(path, images=x, labels=y))";
  if (magic == 0x504b0304) // "PK\3\4"
    return " (this is a zip archive; an .npz data set is read by dq-run "
           "--images or --dataset npz)";
  return "";
}

struct IdxImages {
  uint32_t count, rows, cols;
  std::vector<uint8_t> pixels;
};

IdxImages parseIdxImages(const std::string &path, std::vector<uint8_t> data) {
  constexpr size_t kHeader = 16;
  // The magic first, so that a wrong kind of file is named as such.
  uint32_t magic = data.size() >= 4 ? readBigEndian32(data.data()) : 0;
  if (data.size() >= 4 && magic != kIdxImageMagic)
    throw Error(path + ": not an IDX image file: magic " + hex32(magic) +
                ", expected " + hex32(kIdxImageMagic) + idxMagicHint(magic));
  if (data.size() < kHeader)
    throw Error(path + ": too short for an IDX image header (" +
                std::to_string(data.size()) + " bytes, need 16)");
  IdxImages result;
  result.count = readBigEndian32(data.data() + 4);
  result.rows = readBigEndian32(data.data() + 8);
  result.cols = readBigEndian32(data.data() + 12);
  if (result.count == 0)
    throw Error(path + ": header promises no images");
  if (result.rows == 0 || result.cols == 0 || result.rows > kMaxIdxSide ||
      result.cols > kMaxIdxSide)
    throw Error(path + ": bad image size " + std::to_string(result.rows) + "x" +
                std::to_string(result.cols) + " in header (1 to " +
                std::to_string(kMaxIdxSide) + " per side)");
  uint64_t promised =
      uint64_t(result.count) * result.rows * result.cols; // < 2^56
  uint64_t present = data.size() - kHeader;
  if (present != promised) {
    // Reading stops one byte past what the header promises.
    std::string what = present < promised ? "truncated" : "trailing data";
    std::string has = present < promised
                          ? "file has " + std::to_string(present)
                          : "file has more than " + std::to_string(promised);
    throw Error(path + ": " + what + ": header promises " +
                std::to_string(result.count) + " images of " +
                std::to_string(result.rows) + "x" +
                std::to_string(result.cols) + " (" + std::to_string(promised) +
                " bytes), " + has + " bytes after the 16-byte header");
  }
  data.erase(data.begin(), data.begin() + kHeader);
  result.pixels = std::move(data);
  return result;
}

std::vector<int32_t> parseIdxLabels(const std::string &path,
                                    const std::vector<uint8_t> &data) {
  constexpr size_t kHeader = 8;
  uint32_t magic = data.size() >= 4 ? readBigEndian32(data.data()) : 0;
  if (data.size() >= 4 && magic != kIdxLabelMagic)
    throw Error(path + ": not an IDX label file: magic " + hex32(magic) +
                ", expected " + hex32(kIdxLabelMagic) + idxMagicHint(magic));
  if (data.size() < kHeader)
    throw Error(path + ": too short for an IDX label header (" +
                std::to_string(data.size()) + " bytes, need 8)");
  uint32_t count = readBigEndian32(data.data() + 4);
  if (count == 0)
    throw Error(path + ": header promises no labels");
  uint64_t present = data.size() - kHeader;
  if (present != count) {
    std::string what = present < count ? "truncated" : "trailing data";
    std::string has = present < count
                          ? "file has " + std::to_string(present)
                          : "file has more than " + std::to_string(count);
    throw Error(path + ": " + what + ": header promises " +
                std::to_string(count) + " labels (" + std::to_string(count) +
                " bytes), " + has + " bytes after the 8-byte header");
  }
  std::vector<int32_t> labels(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t label = data[kHeader + i];
    if (label >= kIdxClasses)
      throw Error(path + ": label " + std::to_string(label) + " of sample " +
                  std::to_string(i) + " is out of range (" +
                  std::to_string(kIdxClasses) + " classes)");
    labels[i] = label;
  }
  return labels;
}

/// An IDX image file, read no further than its header declares.
std::vector<uint8_t> readIdxImageFile(const std::string &path) {
  return readFileWithHeader(path, 16, [](const uint8_t *header) -> uint64_t {
    uint32_t rows = readBigEndian32(header + 8),
             cols = readBigEndian32(header + 12);
    if (readBigEndian32(header) != kIdxImageMagic || rows > kMaxIdxSide ||
        cols > kMaxIdxSide)
      return 0; // parseIdxImages names what is wrong with the header
    return uint64_t(readBigEndian32(header + 4)) * rows * cols;
  });
}

/// An IDX label file, read no further than its header declares.
std::vector<uint8_t> readIdxLabelFile(const std::string &path) {
  return readFileWithHeader(path, 8, [](const uint8_t *header) -> uint64_t {
    if (readBigEndian32(header) != kIdxLabelMagic)
      return 0;
    return readBigEndian32(header + 4);
  });
}

bool isFile(const std::string &path) {
  std::error_code ignored;
  return std::filesystem::is_regular_file(path, ignored);
}

/// `dir/name.gz` if it exists, else `dir/name` if that exists, else "".
std::string findStandardFile(const std::string &dir, const std::string &name) {
  std::string base = dir.empty() ? name : dir + "/" + name;
  if (isFile(base + ".gz"))
    return base + ".gz";
  if (isFile(base))
    return base;
  return "";
}

void checkIndices(const Dataset &data, const size_t *indices, size_t count) {
  for (size_t k = 0; k < count; ++k)
    if (indices[k] >= data.count)
      throw Error("batch index " + std::to_string(indices[k]) +
                  " is out of range (data set of " +
                  std::to_string(data.count) + " samples)");
}

void requireNormalized(const Dataset &data, const char *what) {
  if (!data.isNormalized())
    throw Error(std::string(what) +
                ": data set is not normalized (call Dataset::normalize)");
}

} // namespace

//===----------------------------------------------------------------------===//
// Dataset
//===----------------------------------------------------------------------===//

void Dataset::normalize(const std::vector<float> &meanIn,
                        const std::vector<float> &stddevIn) {
  size_t c = static_cast<size_t>(channels);
  auto expand = [&](const std::vector<float> &values, const char *name) {
    if (values.size() == 1)
      return std::vector<float>(c, values[0]);
    if (values.size() != c)
      throw Error(std::string("normalize: ") + std::to_string(values.size()) +
                  " " + name + " values for " + std::to_string(c) +
                  " channels");
    return values;
  };
  std::vector<float> newMean = expand(meanIn, "mean");
  std::vector<float> newStd = expand(stddevIn, "standard deviation");
  for (size_t k = 0; k < c; ++k)
    if (!(newStd[k] > 0) || !std::isfinite(newStd[k]) ||
        !std::isfinite(newMean[k]))
      throw Error("normalize: channel " + std::to_string(k) +
                  " needs a finite mean and a positive standard deviation");

  // 256 possible values per channel: a table is exact and fast.
  std::vector<float> table(256 * c);
  for (size_t k = 0; k < c; ++k)
    for (int v = 0; v < 256; ++v)
      table[k * 256 + v] = (v / 255.0f - newMean[k]) / newStd[k];
  images.resize(raw.size());
  for (size_t i = 0; i < raw.size(); ++i)
    images[i] = table[(i % c) * 256 + raw[i]];
  mean = std::move(newMean);
  stddev = std::move(newStd);
}

float Dataset::blackValue(int channel) const {
  return (0.0f - mean[channel]) / stddev[channel];
}

//===----------------------------------------------------------------------===//
// Loaders
//===----------------------------------------------------------------------===//

Dataset loadIdxImages(const std::string &imagesPath) {
  IdxImages images = parseIdxImages(imagesPath, readIdxImageFile(imagesPath));
  Dataset data;
  data.count = images.count;
  data.height = static_cast<int>(images.rows);
  data.width = static_cast<int>(images.cols);
  data.channels = 1;
  data.classes = kIdxClasses;
  data.source = imagesPath;
  data.raw = std::move(images.pixels);
  return data;
}

Dataset loadIdx(const std::string &imagesPath, const std::string &labelsPath) {
  Dataset data = loadIdxImages(imagesPath);
  std::vector<int32_t> labels =
      parseIdxLabels(labelsPath, readIdxLabelFile(labelsPath));
  if (labels.size() != data.count)
    throw Error(imagesPath + " has " + std::to_string(data.count) +
                " images but " + labelsPath + " has " +
                std::to_string(labels.size()) + " labels");
  data.labels = std::move(labels);
  return data;
}

Dataset loadFashionMnist(const std::string &dir, bool train) {
  std::string prefix = train ? "train" : "t10k";
  std::string paths[2];
  const char *kinds[2] = {"-images-idx3-ubyte", "-labels-idx1-ubyte"};
  for (int k = 0; k < 2; ++k) {
    std::string name = prefix + kinds[k];
    paths[k] = findStandardFile(dir, name);
    if (paths[k].empty())
      throw Error((dir.empty() ? "" : dir + "/") + name +
                  ".gz: not found (Fashion-MNIST " +
                  (train ? "training" : "test") +
                  " set); install the Debian package dataset-fashion-mnist "
                  "(which puts it in " +
                  kDefaultFashionMnistDir +
                  ") or pass --data DIR with the standard file names");
  }
  Dataset data = loadIdx(paths[0], paths[1]);
  if (data.height != 28 || data.width != 28)
    throw Error(paths[0] + ": Fashion-MNIST images are 28x28, file has " +
                std::to_string(data.height) + "x" + std::to_string(data.width));
  return data;
}

Dataset loadCifar10Binary(const std::vector<std::string> &batchFiles) {
  constexpr int kSide = 32, kChannels = 3, kClasses = 10;
  constexpr size_t kPlane = kSide * kSide;
  constexpr size_t kPixels = kPlane * kChannels;
  constexpr size_t kRecord = 1 + kPixels;
  if (batchFiles.empty())
    throw Error("loadCifar10Binary: no batch files given");

  Dataset data;
  data.height = kSide;
  data.width = kSide;
  data.channels = kChannels;
  data.classes = kClasses;
  data.source = batchFiles.size() == 1 ? batchFiles[0]
                                       : batchFiles[0] + " and " +
                                             std::to_string(
                                                 batchFiles.size() - 1) +
                                             " more";
  // The largest batch file read: the whole training set in one file.
  constexpr uint64_t kMaxRecords = 60000;
  for (const std::string &path : batchFiles) {
    std::vector<uint8_t> bytes = readFileWithHeader(
        path, 0, [&](const uint8_t *) { return kMaxRecords * kRecord; });
    if (bytes.size() > kMaxRecords * kRecord)
      throw Error(path + ": more than " + std::to_string(kMaxRecords) +
                  " CIFAR-10 records (" +
                  std::to_string(kMaxRecords * kRecord) +
                  " bytes); not a CIFAR-10 batch file");
    if (bytes.empty())
      throw Error(path + ": empty file (expected CIFAR-10 records of " +
                  std::to_string(kRecord) + " bytes)");
    if (bytes.size() % kRecord != 0)
      throw Error(path + ": " + std::to_string(bytes.size()) +
                  " bytes is not a whole number of " + std::to_string(kRecord) +
                  "-byte CIFAR-10 records (" +
                  std::to_string(bytes.size() / kRecord) + " records + " +
                  std::to_string(bytes.size() % kRecord) + " bytes)");
    size_t records = bytes.size() / kRecord;
    size_t first = data.count;
    data.raw.resize((first + records) * kPixels);
    data.labels.resize(first + records);
    for (size_t r = 0; r < records; ++r) {
      const uint8_t *record = bytes.data() + r * kRecord;
      if (record[0] >= kClasses)
        throw Error(path + ": label " + std::to_string(record[0]) +
                    " of record " + std::to_string(r) +
                    " is out of range (10 classes)");
      data.labels[first + r] = record[0];
      // CHW planes -> HWC.
      const uint8_t *planes = record + 1;
      uint8_t *out = data.raw.data() + (first + r) * kPixels;
      for (size_t p = 0; p < kPlane; ++p)
        for (int c = 0; c < kChannels; ++c)
          out[p * kChannels + c] = planes[c * kPlane + p];
    }
    data.count += records;
  }
  return data;
}

const std::vector<std::string> &datasetNames() {
  static const std::vector<std::string> names = {"fashion-mnist", "cifar10",
                                                 "npz", "folder"};
  return names;
}

Dataset loadNamedDataset(const std::string &name, const std::string &dir,
                         bool train) {
  if (name == "fashion-mnist")
    return loadFashionMnist(dir, train);
  if (name == "npz")
    return loadNpzDataset(dir, train);
  if (name == "folder")
    return loadImageFolder(dir, train);
  if (name != "cifar10")
    throw Error("unknown data set '" + name +
                "' (expected fashion-mnist, cifar10, npz or folder)");
  std::string prefix = dir.empty() ? "" : dir + "/";
  std::vector<std::string> files;
  if (train)
    for (int i = 1; i <= 5; ++i)
      files.push_back(prefix + "data_batch_" + std::to_string(i) + ".bin");
  else
    files.push_back(prefix + "test_batch.bin");
  for (const std::string &file : files)
    if (!isFile(file))
      throw Error(file + ": not found (CIFAR-10 " +
                  (train ? "training" : "test") +
                  " set, binary version: data_batch_1.bin to "
                  "data_batch_5.bin and test_batch.bin in --data DIR)");
  return loadCifar10Binary(files);
}

bool looksLikeZip(const std::string &path) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return false;
  unsigned char head[4] = {0, 0, 0, 0};
  size_t got = std::fread(head, 1, 4, file);
  std::fclose(file);
  return got == 4 && head[0] == 'P' && head[1] == 'K' &&
         ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6));
}

std::string checkClassCount(int dataClasses, int64_t modelClasses,
                            const std::string &what) {
  // A label is an index into the logits: a larger one would be read past
  // them by the compiled loss.
  if (dataClasses > modelClasses)
    throw Error(what + " has " + std::to_string(dataClasses) +
                " classes but the model predicts " +
                std::to_string(modelClasses) +
                "; its labels would index past the logits");
  if (dataClasses < modelClasses)
    return "the model predicts " + std::to_string(modelClasses) +
           " classes, " + what + " has " + std::to_string(dataClasses) +
           "; the others are never a label";
  return "";
}

std::string imageShapeMismatch(const std::vector<int64_t> &dataShape,
                               const std::vector<int64_t> &modelShape,
                               const std::string &what) {
  std::string message = what + " are " + shapeString(dataShape) +
                        " but the model takes " + shapeString(modelShape);
  if (dataShape.size() == 3 && modelShape.size() == 3 &&
      dataShape[0] == modelShape[2] && dataShape[1] == modelShape[0] &&
      dataShape[2] == modelShape[1])
    message += " (the images look NCHW, PyTorch's layout; dq reads NHWC: "
               "save images.transpose(0, 2, 3, 1))";
  return message;
}

//===----------------------------------------------------------------------===//
// BatchSampler
//===----------------------------------------------------------------------===//

BatchSampler::BatchSampler(size_t n, size_t batch, uint64_t seed)
    : n_(n), batch_(batch), seed_(seed) {
  if (n == 0)
    throw Error("BatchSampler: no samples");
  if (batch == 0)
    throw Error("BatchSampler: batch size must be positive");
}

std::vector<size_t> BatchSampler::order(uint64_t epoch) const {
  std::vector<size_t> permutation(n_);
  for (size_t i = 0; i < n_; ++i)
    permutation[i] = i;
  SplitMix64 rng(hashKey(kShuffleStream, seed_, epoch, 0));
  for (size_t i = n_ - 1; i > 0; --i)
    std::swap(permutation[i], permutation[rng.below(uint64_t(i) + 1)]);
  return permutation;
}

std::vector<Batch> BatchSampler::batches(uint64_t epoch) const {
  std::vector<size_t> permutation = order(epoch);
  std::vector<Batch> result(batchesPerEpoch());
  for (size_t b = 0; b < result.size(); ++b) {
    auto begin = permutation.begin() + b * batch_;
    result[b].indices.assign(begin, begin + batch_);
    result[b].valid = batch_;
  }
  return result;
}

std::vector<Batch> BatchSampler::evalBatches() const {
  std::vector<Batch> result(evalBatchCount());
  for (size_t b = 0; b < result.size(); ++b) {
    size_t first = b * batch_;
    size_t valid = std::min(batch_, n_ - first);
    Batch &batch = result[b];
    batch.valid = valid;
    batch.indices.resize(batch_);
    // Filler repeats this batch's own samples; `valid` excludes it.
    for (size_t k = 0; k < batch_; ++k)
      batch.indices[k] = first + k % valid;
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Augmentation
//===----------------------------------------------------------------------===//

AugmentChoice augmentChoice(uint64_t seed, uint64_t epoch, size_t index,
                            const AugmentOptions &options) {
  if (options.pad < 0)
    throw Error("augment: padding must not be negative");
  SplitMix64 rng(hashKey(kAugmentStream, seed, epoch, index));
  uint64_t positions = 2 * uint64_t(options.pad) + 1;
  AugmentChoice choice;
  choice.offsetY = static_cast<int>(rng.below(positions));
  choice.offsetX = static_cast<int>(rng.below(positions));
  bool flip = rng.next() >> 63;
  choice.flip = options.flip && flip;
  return choice;
}

void augment(const Dataset &data, const size_t *indices, size_t count,
             uint64_t epoch, uint64_t seed, float *out,
             const AugmentOptions &options) {
  requireNormalized(data, "augment");
  checkIndices(data, indices, count);
  const int height = data.height, width = data.width, channels = data.channels;
  const size_t pixels = data.imageElements();
  std::vector<float> black(channels);
  for (int c = 0; c < channels; ++c)
    black[c] = data.blackValue(c);

  for (size_t k = 0; k < count; ++k) {
    AugmentChoice choice = augmentChoice(seed, epoch, indices[k], options);
    const float *src = data.image(indices[k]);
    float *dst = out + k * pixels;
    // Output (y, x) shows padded (y + offsetY, x' + offsetX) with x' = x or
    // its mirror, i.e. source (y + offsetY - pad, x' + offsetX - pad).
    const int shiftY = choice.offsetY - options.pad;
    const int shiftX = choice.offsetX - options.pad;
    for (int y = 0; y < height; ++y) {
      const int sy = y + shiftY;
      for (int x = 0; x < width; ++x) {
        const int cx = choice.flip ? width - 1 - x : x;
        const int sx = cx + shiftX;
        float *pixel = dst + (size_t(y) * width + x) * channels;
        if (sy < 0 || sy >= height || sx < 0 || sx >= width) {
          for (int c = 0; c < channels; ++c)
            pixel[c] = black[c];
        } else {
          const float *from = src + (size_t(sy) * width + sx) * channels;
          for (int c = 0; c < channels; ++c)
            pixel[c] = from[c];
        }
      }
    }
  }
}

void augment(const Dataset &data, const std::vector<size_t> &indices,
             uint64_t epoch, uint64_t seed, float *out,
             const AugmentOptions &options) {
  augment(data, indices.data(), indices.size(), epoch, seed, out, options);
}

void gatherBatch(const Dataset &data, const std::vector<size_t> &indices,
                 float *out) {
  requireNormalized(data, "gatherBatch");
  checkIndices(data, indices.data(), indices.size());
  const size_t pixels = data.imageElements();
  for (size_t k = 0; k < indices.size(); ++k)
    std::copy_n(data.image(indices[k]), pixels, out + k * pixels);
}

void gatherLabels(const Dataset &data, const std::vector<size_t> &indices,
                  int32_t *out) {
  checkIndices(data, indices.data(), indices.size());
  for (size_t k = 0; k < indices.size(); ++k)
    out[k] = data.labels[indices[k]];
}

} // namespace runtime
} // namespace dq
