// Tests of data set loading, batching and augmentation (dq/runtime/Dataset.h).
#include "dq/runtime/Dataset.h"
#include "dq/runtime/Error.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

using namespace dq::runtime;
namespace fs = std::filesystem;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

using Bytes = std::vector<uint8_t>;

void appendBigEndian32(Bytes &bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<uint8_t>(value >> shift));
}

Bytes idxImages(uint32_t count, uint32_t rows, uint32_t cols,
                const Bytes &pixels, uint32_t magic = 0x803) {
  Bytes bytes;
  appendBigEndian32(bytes, magic);
  appendBigEndian32(bytes, count);
  appendBigEndian32(bytes, rows);
  appendBigEndian32(bytes, cols);
  bytes.insert(bytes.end(), pixels.begin(), pixels.end());
  return bytes;
}

Bytes idxLabels(const Bytes &labels, uint32_t magic = 0x801) {
  Bytes bytes;
  appendBigEndian32(bytes, magic);
  appendBigEndian32(bytes, static_cast<uint32_t>(labels.size()));
  bytes.insert(bytes.end(), labels.begin(), labels.end());
  return bytes;
}

/// Pixels 0, 1, 2, ... (mod 256), so every image differs.
Bytes rampPixels(size_t n) {
  Bytes pixels(n);
  for (size_t i = 0; i < n; ++i)
    pixels[i] = static_cast<uint8_t>(i * 7);
  return pixels;
}

/// A deterministic byte stream for "random" file contents.
Bytes pseudoRandomBytes(size_t n, uint64_t seed) {
  Bytes bytes(n);
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    bytes[i] = static_cast<uint8_t>(seed >> 56);
  }
  return bytes;
}

/// A fresh directory per test, removed afterwards.
class TempDir {
public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("dq-dataset-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string &name) const {
    return (path_ / name).string();
  }
  std::string dir() const { return path_.string(); }

  std::string write(const std::string &name, const Bytes &bytes) const {
    std::string path = file(name);
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char *>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(out.good()) << path;
    return path;
  }
  std::string writeGzip(const std::string &name, const Bytes &bytes) const {
    std::string path = file(name);
    gzFile out = gzopen(path.c_str(), "wb");
    EXPECT_NE(out, nullptr) << path;
    if (!bytes.empty()) {
      EXPECT_EQ(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())),
                static_cast<int>(bytes.size()));
    }
    EXPECT_EQ(gzclose(out), Z_OK);
    return path;
  }

private:
  fs::path path_;
};

/// Runs `load`, expects an Error whose message contains every one of `parts`.
void expectError(const std::function<void()> &load,
                 const std::vector<std::string> &parts) {
  try {
    load();
    ADD_FAILURE() << "no error; expected one mentioning " << parts.front();
  } catch (const Error &error) {
    std::string message = error.what();
    for (const std::string &part : parts)
      EXPECT_NE(message.find(part), std::string::npos)
          << "message \"" << message << "\" lacks \"" << part << "\"";
  }
}

Dataset smallIdx(const TempDir &tmp, uint32_t count, uint32_t side) {
  std::string images = tmp.write(
      "img", idxImages(count, side, side, rampPixels(count * side * side)));
  Bytes labels(count);
  for (uint32_t i = 0; i < count; ++i)
    labels[i] = static_cast<uint8_t>(i % 10);
  return loadIdx(images, tmp.write("lbl", idxLabels(labels)));
}

//===----------------------------------------------------------------------===//
// Fashion-MNIST (the real files, when installed)
//===----------------------------------------------------------------------===//

bool haveFashionMnist() {
  std::error_code ignored;
  return fs::exists(std::string(kDefaultFashionMnistDir) +
                        "/t10k-images-idx3-ubyte.gz",
                    ignored);
}

std::array<int, 10> histogram(const Dataset &data) {
  std::array<int, 10> counts{};
  for (int32_t label : data.labels) {
    EXPECT_GE(label, 0);
    EXPECT_LT(label, 10);
    if (label >= 0 && label < 10)
      ++counts[label];
  }
  return counts;
}

TEST(DatasetFashionMnist, TestSet) {
  if (!haveFashionMnist())
    GTEST_SKIP() << kDefaultFashionMnistDir << " not installed";
  Dataset test = loadFashionMnist(kDefaultFashionMnistDir, /*train=*/false);
  EXPECT_EQ(test.count, 10000u);
  EXPECT_EQ(test.height, 28);
  EXPECT_EQ(test.width, 28);
  EXPECT_EQ(test.channels, 1);
  EXPECT_EQ(test.classes, 10);
  EXPECT_EQ(test.raw.size(), 10000u * 784);
  ASSERT_EQ(test.labels.size(), 10000u);
  for (int count : histogram(test))
    EXPECT_EQ(count, 1000);
  // The first test images are an ankle boot (9) and a pullover (2).
  EXPECT_EQ(test.labels[0], 9);
  EXPECT_EQ(test.labels[1], 2);
}

TEST(DatasetFashionMnist, TrainSetAndNormalization) {
  if (!haveFashionMnist())
    GTEST_SKIP() << kDefaultFashionMnistDir << " not installed";
  Dataset train = loadFashionMnist(kDefaultFashionMnistDir, /*train=*/true);
  EXPECT_EQ(train.count, 60000u);
  EXPECT_EQ(train.height, 28);
  EXPECT_EQ(train.width, 28);
  EXPECT_EQ(train.channels, 1);
  ASSERT_EQ(train.labels.size(), 60000u);
  for (int count : histogram(train))
    EXPECT_EQ(count, 6000);
  EXPECT_EQ(train.labels[0], 9);

  // The protocol's mean/std are the training set's own statistics, so the
  // normalized training set has mean ~0 and standard deviation ~1.
  train.normalize({kFashionMnistMean}, {kFashionMnistStd});
  ASSERT_EQ(train.images.size(), train.raw.size());
  double sum = 0, squares = 0;
  for (float v : train.images) {
    sum += v;
    squares += double(v) * v;
  }
  double n = static_cast<double>(train.images.size());
  double mean = sum / n;
  double stddev = std::sqrt(squares / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.005);
  EXPECT_NEAR(stddev, 1.0, 0.005);
}

TEST(DatasetFashionMnist, MissingDirectoryNamesFileAndPackage) {
  TempDir tmp;
  expectError(
      [&] { loadFashionMnist(tmp.dir(), true); },
      {"train-images-idx3-ubyte.gz", "dataset-fashion-mnist", "--data DIR"});
  // With the images present, the missing labels are named.
  tmp.writeGzip("t10k-images-idx3-ubyte.gz", idxImages(1, 28, 28, Bytes(784)));
  expectError([&] { loadFashionMnist(tmp.dir(), false); },
              {"t10k-labels-idx1-ubyte.gz", "not found"});
}

TEST(DatasetFashionMnist, UncompressedStandardNamesWork) {
  TempDir tmp;
  tmp.write("t10k-images-idx3-ubyte", idxImages(2, 28, 28, Bytes(2 * 784)));
  tmp.write("t10k-labels-idx1-ubyte", idxLabels({3, 4}));
  Dataset data = loadFashionMnist(tmp.dir(), false);
  EXPECT_EQ(data.count, 2u);
  EXPECT_EQ(data.labels, (std::vector<int32_t>{3, 4}));
}

//===----------------------------------------------------------------------===//
// IDX files
//===----------------------------------------------------------------------===//

TEST(DatasetIdx, LoadsGzipAndPlainFiles) {
  TempDir tmp;
  Bytes pixels = rampPixels(3 * 4 * 5);
  Bytes labels = {0, 9, 5};
  for (bool gzip : {false, true}) {
    std::string images = gzip
                             ? tmp.writeGzip("i.gz", idxImages(3, 4, 5, pixels))
                             : tmp.write("i", idxImages(3, 4, 5, pixels));
    std::string labelFile = gzip ? tmp.writeGzip("l.gz", idxLabels(labels))
                                 : tmp.write("l", idxLabels(labels));
    Dataset data = loadIdx(images, labelFile);
    EXPECT_EQ(data.count, 3u);
    EXPECT_EQ(data.height, 4);
    EXPECT_EQ(data.width, 5);
    EXPECT_EQ(data.channels, 1);
    EXPECT_EQ(data.classes, 10);
    EXPECT_EQ(data.raw, pixels);
    EXPECT_EQ(data.labels, (std::vector<int32_t>{0, 9, 5}));
    EXPECT_FALSE(data.isNormalized());
  }
}

TEST(DatasetIdx, ErrorsNameTheFile) {
  TempDir tmp;
  const Bytes pixels = rampPixels(3 * 28 * 28);
  const std::string goodImages =
      tmp.writeGzip("good-images.gz", idxImages(3, 28, 28, pixels));
  const std::string goodLabels =
      tmp.writeGzip("good-labels.gz", idxLabels({1, 2, 3}));

  // Wrong magic numbers, including the two files swapped.
  expectError(
      [&] {
        loadIdx(tmp.write("magic-images", idxImages(3, 28, 28, pixels, 0x804)),
                goodLabels);
      },
      {"magic-images", "magic 0x00000804", "expected 0x00000803"});
  expectError(
      [&] {
        loadIdx(goodImages,
                tmp.write("magic-labels", idxLabels({1, 2, 3}, 0x0802)));
      },
      {"magic-labels", "not an IDX label file"});
  expectError([&] { loadIdx(goodLabels, goodImages); },
              {"good-labels.gz", "this is an IDX label file"});

  // Truncated and trailing pixel data.
  Bytes shortPixels(pixels.begin(), pixels.end() - 1);
  expectError(
      [&] {
        loadIdx(tmp.writeGzip("truncated-images.gz",
                              idxImages(3, 28, 28, shortPixels)),
                goodLabels);
      },
      {"truncated-images.gz", "truncated", "3 images of 28x28", "2352 bytes",
       "file has 2351"});
  Bytes longPixels = pixels;
  longPixels.push_back(0);
  expectError(
      [&] {
        loadIdx(tmp.write("trailing-images", idxImages(3, 28, 28, longPixels)),
                goodLabels);
      },
      {"trailing-images", "trailing data", "file has more than 2352"});
  expectError(
      [&] {
        loadIdx(tmp.write("header-only", Bytes{0, 0, 8, 3, 0, 0}), goodLabels);
      },
      {"header-only", "too short"});
  expectError(
      [&] {
        loadIdx(tmp.write("zero-rows", idxImages(3, 0, 28, Bytes())),
                goodLabels);
      },
      {"zero-rows", "bad image size"});

  // Label files: truncated, trailing, out-of-range values.
  Bytes truncatedLabels = idxLabels({1, 2, 3});
  truncatedLabels.pop_back();
  expectError(
      [&] {
        loadIdx(goodImages, tmp.write("truncated-labels", truncatedLabels));
      },
      {"truncated-labels", "truncated", "3 labels"});
  Bytes trailingLabels = idxLabels({1, 2, 3});
  trailingLabels.push_back(4);
  expectError(
      [&] {
        loadIdx(goodImages, tmp.write("trailing-labels", trailingLabels));
      },
      {"trailing-labels", "trailing data"});
  expectError(
      [&] {
        loadIdx(goodImages, tmp.write("bad-label", idxLabels({1, 10, 3})));
      },
      {"bad-label", "label 10 of sample 1", "out of range"});

  // Image and label counts disagree.
  expectError(
      [&] {
        loadIdx(goodImages, tmp.write("two-labels", idxLabels({1, 2})));
      },
      {"good-images.gz", "two-labels", "3 images", "2 labels"});

  // Missing files.
  expectError([&] { loadIdx(tmp.file("no-such-images"), goodLabels); },
              {"no-such-images", "cannot open", "No such file"});
  expectError([&] { loadIdx(goodImages, tmp.file("no-such-labels")); },
              {"no-such-labels", "cannot open"});
}

TEST(DatasetIdx, RandomBytesAndCorruptGzipAreErrors) {
  TempDir tmp;
  const std::string goodImages =
      tmp.write("images", idxImages(1, 28, 28, Bytes(784)));
  const std::string goodLabels = tmp.write("labels", idxLabels({1}));
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Bytes noise = pseudoRandomBytes(static_cast<size_t>(seed * 37), seed);
    std::string name = "noise" + std::to_string(seed);
    expectError([&] { loadIdx(tmp.write(name, noise), goodLabels); }, {name});
    expectError([&] { loadIdx(goodImages, tmp.write(name, noise)); }, {name});
    // The gzip magic followed by noise: zlib's own errors are reported too.
    Bytes fakeGzip = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    fakeGzip.insert(fakeGzip.end(), noise.begin(), noise.end());
    std::string gzName = name + ".gz";
    expectError([&] { loadIdx(tmp.write(gzName, fakeGzip), goodLabels); },
                {gzName});
  }

  // A valid gzip stream cut short.
  tmp.writeGzip("whole.gz",
                idxImages(50, 28, 28, pseudoRandomBytes(50 * 784, 99)));
  std::ifstream in(tmp.file("whole.gz"), std::ios::binary);
  Bytes whole((std::istreambuf_iterator<char>(in)),
              std::istreambuf_iterator<char>());
  Bytes half(whole.begin(), whole.begin() + whole.size() / 2);
  expectError([&] { loadIdx(tmp.write("half.gz", half), goodLabels); },
              {"half.gz"});
}

//===----------------------------------------------------------------------===//
// CIFAR-10 binary
//===----------------------------------------------------------------------===//

/// One record: label, then R, G, B planes; pixel (y, x, c) = y + 2x + 100c + r.
Bytes cifarRecord(uint8_t label, int recordSalt) {
  Bytes record = {label};
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        record.push_back(
            static_cast<uint8_t>(y + 2 * x + 100 * c + recordSalt));
  return record;
}

TEST(DatasetCifar, RoundTripToNhwc) {
  TempDir tmp;
  Bytes first = cifarRecord(3, 0);
  Bytes second = cifarRecord(9, 1);
  first.insert(first.end(), second.begin(), second.end());
  std::string a = tmp.write("data_batch_1.bin", first);
  std::string b = tmp.writeGzip("data_batch_2.bin.gz", cifarRecord(0, 2));
  Dataset data = loadCifar10Binary({a, b});
  EXPECT_EQ(data.count, 3u);
  EXPECT_EQ(data.height, 32);
  EXPECT_EQ(data.width, 32);
  EXPECT_EQ(data.channels, 3);
  EXPECT_EQ(data.classes, 10);
  EXPECT_EQ(data.labels, (std::vector<int32_t>{3, 9, 0}));
  ASSERT_EQ(data.raw.size(), 3u * 3072);
  for (int r = 0; r < 3; ++r)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        for (int c = 0; c < 3; ++c)
          ASSERT_EQ(data.raw[r * 3072 + (y * 32 + x) * 3 + c],
                    static_cast<uint8_t>(y + 2 * x + 100 * c + r))
              << r << " " << y << " " << x << " " << c;

  data.normalize({0.5f, 0.25f, 0.0f}, {0.5f, 1.0f, 2.0f});
  EXPECT_FLOAT_EQ(data.images[0], (0 / 255.0f - 0.5f) / 0.5f);
  EXPECT_FLOAT_EQ(data.images[1], (100 / 255.0f - 0.25f) / 1.0f);
  EXPECT_FLOAT_EQ(data.images[2], (200 / 255.0f) / 2.0f);
  EXPECT_FLOAT_EQ(data.blackValue(0), -1.0f);
  EXPECT_FLOAT_EQ(data.blackValue(2), 0.0f);
}

TEST(DatasetCifar, Errors) {
  TempDir tmp;
  Bytes record = cifarRecord(1, 0);
  Bytes extraByte = record;
  extraByte.push_back(0);
  expectError([&] { loadCifar10Binary({tmp.write("ragged.bin", extraByte)}); },
              {"ragged.bin", "3074 bytes", "3073-byte"});
  Bytes bad = record;
  bad.insert(bad.end(), record.begin(), record.end());
  bad[3073] = 10;
  expectError([&] { loadCifar10Binary({tmp.write("badlabel.bin", bad)}); },
              {"badlabel.bin", "label 10 of record 1"});
  expectError([&] { loadCifar10Binary({tmp.write("empty.bin", Bytes())}); },
              {"empty.bin", "empty"});
  std::string good = tmp.write("good.bin", record);
  expectError(
      [&] {
        loadCifar10Binary({good, tmp.file("missing.bin")});
      },
      {"missing.bin", "cannot open"});
  expectError([&] { loadCifar10Binary({}); }, {"no batch files"});
}

TEST(DatasetNormalize, ChecksArguments) {
  TempDir tmp;
  Dataset data = smallIdx(tmp, 2, 4);
  expectError(
      [&] {
        data.normalize({0.1f, 0.2f}, {1.0f, 1.0f});
      },
      {"2 mean values for 1 channels"});
  expectError([&] { data.normalize({0.1f}, {0.0f}); },
              {"positive standard deviation"});
  EXPECT_FALSE(data.isNormalized());
  data.normalize({kFashionMnistMean}, {kFashionMnistStd});
  EXPECT_TRUE(data.isNormalized());
  EXPECT_FLOAT_EQ(data.images[1], (7 / 255.0f - 0.2860f) / 0.3530f);
  EXPECT_FLOAT_EQ(data.blackValue(0), -0.2860f / 0.3530f);
}

//===----------------------------------------------------------------------===//
// BatchSampler
//===----------------------------------------------------------------------===//

bool isPermutation(std::vector<size_t> order, size_t n) {
  std::sort(order.begin(), order.end());
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i] != i)
      return false;
  return order.size() == n;
}

TEST(BatchSampler, OrderIsADeterministicPermutation) {
  BatchSampler sampler(1000, 128, 42);
  std::vector<size_t> epoch0 = sampler.order(0);
  EXPECT_TRUE(isPermutation(epoch0, 1000));
  EXPECT_EQ(epoch0, sampler.order(0));
  EXPECT_EQ(epoch0, BatchSampler(1000, 64, 42).order(0))
      << "the order does not depend on the batch size";
  EXPECT_NE(epoch0, sampler.order(1));
  EXPECT_NE(epoch0, BatchSampler(1000, 128, 43).order(0));
  for (uint64_t epoch = 1; epoch < 20; ++epoch)
    EXPECT_TRUE(isPermutation(sampler.order(epoch), 1000));
  EXPECT_EQ(BatchSampler(1, 1, 7).order(3), std::vector<size_t>{0});
}

TEST(BatchSampler, OrderIsPinned) {
  // The generator is ours (splitmix64 + Fisher-Yates), so these values hold
  // on every platform; a change here breaks resuming old checkpoints.
  EXPECT_EQ(BatchSampler(10, 4, 2024).order(0),
            (std::vector<size_t>{0, 5, 2, 9, 3, 8, 6, 7, 1, 4}));
  EXPECT_EQ(BatchSampler(10, 4, 2024).order(5),
            (std::vector<size_t>{4, 6, 8, 1, 3, 0, 7, 9, 2, 5}));
}

TEST(BatchSampler, OrderIsUniform) {
  // All 24 orders of 4 items, over 24000 epochs: about 1000 each.
  BatchSampler sampler(4, 4, 1);
  std::map<std::vector<size_t>, int> counts;
  for (uint64_t epoch = 0; epoch < 24000; ++epoch)
    ++counts[sampler.order(epoch)];
  EXPECT_EQ(counts.size(), 24u);
  for (const auto &entry : counts) {
    EXPECT_GT(entry.second, 850);
    EXPECT_LT(entry.second, 1150);
  }
}

TEST(BatchSampler, TrainingBatchesDropTheRemainder) {
  BatchSampler sampler(10, 3, 5);
  EXPECT_EQ(sampler.batchesPerEpoch(), 3u);
  std::vector<size_t> order = sampler.order(2);
  std::vector<Batch> batches = sampler.batches(2);
  ASSERT_EQ(batches.size(), 3u);
  std::set<size_t> seen;
  for (size_t b = 0; b < batches.size(); ++b) {
    EXPECT_EQ(batches[b].valid, 3u);
    ASSERT_EQ(batches[b].indices.size(), 3u);
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(batches[b].indices[k], order[b * 3 + k]);
      seen.insert(batches[b].indices[k]);
    }
  }
  EXPECT_EQ(seen.size(), 9u); // distinct; order[9] is dropped this epoch
  EXPECT_TRUE(BatchSampler(5, 8, 0).batches(0).empty());
  expectError([] { BatchSampler(0, 8, 0); }, {"no samples"});
  expectError([] { BatchSampler(8, 0, 0); }, {"batch size"});
}

TEST(BatchSampler, EvaluationBatchesCountEverySampleOnce) {
  for (size_t n : {1u, 7u, 8u, 9u, 10000u}) {
    BatchSampler sampler(n, 8, 3);
    std::vector<Batch> batches = sampler.evalBatches();
    EXPECT_EQ(batches.size(), sampler.evalBatchCount());
    std::vector<int> counted(n, 0);
    for (const Batch &batch : batches) {
      ASSERT_EQ(batch.indices.size(), 8u);
      ASSERT_GE(batch.valid, 1u);
      ASSERT_LE(batch.valid, 8u);
      for (size_t k = 0; k < 8; ++k) {
        ASSERT_LT(batch.indices[k], n);
        if (k < batch.valid)
          ++counted[batch.indices[k]];
      }
    }
    for (size_t i = 0; i < n; ++i)
      ASSERT_EQ(counted[i], 1) << "sample " << i << " of " << n;
  }
  std::vector<Batch> tail = BatchSampler(10, 4, 0).evalBatches();
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail[2].valid, 2u);
  EXPECT_EQ(tail[2].indices, (std::vector<size_t>{8, 9, 8, 9}));
}

//===----------------------------------------------------------------------===//
// Augmentation
//===----------------------------------------------------------------------===//

/// count images of side x side, 1 channel, all raw `value`, normalized.
Dataset constantDataset(size_t count, int side, uint8_t value) {
  Dataset data;
  data.count = count;
  data.height = side;
  data.width = side;
  data.channels = 1;
  data.classes = 10;
  data.raw.assign(count * side * side, value);
  data.labels.assign(count, 0);
  data.normalize({kFashionMnistMean}, {kFashionMnistStd});
  return data;
}

TEST(Augment, ChoicesAreInRangeAndBalanced) {
  std::set<int> offsetsY, offsetsX;
  int flips = 0;
  const int samples = 20000;
  for (int i = 0; i < samples; ++i) {
    AugmentChoice choice = augmentChoice(7, 3, i);
    ASSERT_GE(choice.offsetY, 0);
    ASSERT_LE(choice.offsetY, 4);
    ASSERT_GE(choice.offsetX, 0);
    ASSERT_LE(choice.offsetX, 4);
    offsetsY.insert(choice.offsetY);
    offsetsX.insert(choice.offsetX);
    flips += choice.flip;
  }
  EXPECT_EQ(offsetsY.size(), 5u);
  EXPECT_EQ(offsetsX.size(), 5u);
  EXPECT_NEAR(flips / double(samples), 0.5, 0.02);

  AugmentOptions noFlip;
  noFlip.flip = false;
  for (int i = 0; i < 100; ++i)
    EXPECT_FALSE(augmentChoice(7, 3, i, noFlip).flip);

  // Depends on every input.
  int sameAsOtherEpoch = 0, sameAsOtherSeed = 0;
  for (int i = 0; i < 100; ++i) {
    AugmentChoice a = augmentChoice(7, 3, i), b = augmentChoice(7, 4, i),
                  c = augmentChoice(8, 3, i);
    sameAsOtherEpoch +=
        a.offsetY == b.offsetY && a.offsetX == b.offsetX && a.flip == b.flip;
    sameAsOtherSeed +=
        a.offsetY == c.offsetY && a.offsetX == c.offsetX && a.flip == c.flip;
  }
  EXPECT_LT(sameAsOtherEpoch, 20);
  EXPECT_LT(sameAsOtherSeed, 20);
}

TEST(Augment, ConstantImageGivesConstantOrPadding) {
  Dataset data = constantDataset(64, 28, 200);
  const float inside = data.images[0];
  const float padding = data.blackValue(0);
  std::vector<size_t> indices(64);
  for (size_t i = 0; i < 64; ++i)
    indices[i] = i;
  std::vector<float> out(64 * 784);
  augment(data, indices, 0, 11, out.data());
  int padded = 0;
  for (float v : out) {
    ASSERT_TRUE(v == inside || v == padding) << v;
    padded += v == padding;
  }
  EXPECT_GT(padded, 0);
  // At most 2 rows and 2 columns of padding per image.
  EXPECT_LE(padded, 64 * (2 * 28 + 2 * 28));
}

TEST(Augment, BrightPixelMovesAtMostPadAndMirrors) {
  const int side = 28;
  Dataset data = constantDataset(200, side, 0);
  // Image i has one bright pixel at a position that depends on i.
  auto bright = [&](size_t i) {
    return std::pair<int, int>(i % side, (i * 11) % side);
  };
  for (size_t i = 0; i < data.count; ++i) {
    auto [y, x] = bright(i);
    data.raw[i * side * side + y * side + x] = 255;
  }
  data.normalize({kFashionMnistMean}, {kFashionMnistStd});
  const float black = data.blackValue(0);
  const float white = (1.0f - kFashionMnistMean) / kFashionMnistStd;

  std::vector<size_t> indices(data.count);
  for (size_t i = 0; i < data.count; ++i)
    indices[i] = i;
  std::vector<float> out(data.count * side * side);
  const uint64_t seed = 5, epoch = 9;
  augment(data, indices, epoch, seed, out.data());

  int flipped = 0, lost = 0;
  for (size_t i = 0; i < data.count; ++i) {
    const float *image = out.data() + i * side * side;
    std::vector<std::pair<int, int>> found;
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) {
        float v = image[y * side + x];
        ASSERT_TRUE(v == black || v == white);
        if (v == white)
          found.push_back({y, x});
      }
    AugmentChoice choice = augmentChoice(seed, epoch, i);
    auto [y0, x0] = bright(i);
    int expectY = y0 - (choice.offsetY - 2);
    int unflippedX = x0 - (choice.offsetX - 2);
    int expectX = choice.flip ? side - 1 - unflippedX : unflippedX;
    bool visible =
        expectY >= 0 && expectY < side && unflippedX >= 0 && unflippedX < side;
    if (!visible) {
      EXPECT_TRUE(found.empty()) << "image " << i;
      ++lost;
      continue;
    }
    ASSERT_EQ(found.size(), 1u) << "image " << i;
    EXPECT_EQ(found[0].first, expectY) << "image " << i;
    EXPECT_EQ(found[0].second, expectX) << "image " << i;
    // Within 2 pixels of where it was, or of its mirror image.
    EXPECT_LE(std::abs(found[0].first - y0), 2);
    int reference = choice.flip ? side - 1 - x0 : x0;
    EXPECT_LE(std::abs(found[0].second - reference), 2);
    flipped += choice.flip;
  }
  EXPECT_GT(flipped, 50);
  EXPECT_LT(lost, 100);
}

TEST(Augment, DependsOnlyOnSeedEpochAndSample) {
  TempDir tmp;
  Dataset data = smallIdx(tmp, 50, 28);
  data.normalize({kFashionMnistMean}, {kFashionMnistStd});
  const size_t pixels = data.imageElements();

  std::vector<size_t> batchA = {3, 17, 42, 8};
  std::vector<size_t> batchB = {42, 0, 3};
  std::vector<float> outA(batchA.size() * pixels), outA2(outA.size()),
      outB(batchB.size() * pixels), outOtherEpoch(outA.size());
  augment(data, batchA, 4, 99, outA.data());
  augment(data, batchA, 4, 99, outA2.data());
  augment(data, batchB, 4, 99, outB.data());
  augment(data, batchA, 5, 99, outOtherEpoch.data());
  EXPECT_EQ(outA, outA2);
  // Sample 42 and 3 come out the same wherever they are in the batch, as
  // when a resumed run recomputes a batch.
  EXPECT_TRUE(std::equal(outA.begin() + 2 * pixels, outA.begin() + 3 * pixels,
                         outB.begin()));
  EXPECT_TRUE(std::equal(outA.begin(), outA.begin() + pixels,
                         outB.begin() + 2 * pixels));
  EXPECT_NE(outA, outOtherEpoch);

  // No padding and no flip is the identity, the same as gatherBatch.
  AugmentOptions none;
  none.pad = 0;
  none.flip = false;
  std::vector<float> identity(outA.size()), gathered(outA.size());
  augment(data, batchA, 4, 99, identity.data(), none);
  gatherBatch(data, batchA, gathered.data());
  EXPECT_EQ(identity, gathered);
  for (size_t k = 0; k < batchA.size(); ++k)
    EXPECT_TRUE(std::equal(gathered.begin() + k * pixels,
                           gathered.begin() + (k + 1) * pixels,
                           data.image(batchA[k])));
  std::vector<int32_t> labels(batchA.size());
  gatherLabels(data, batchA, labels.data());
  EXPECT_EQ(labels, (std::vector<int32_t>{3, 7, 2, 8}));
}

TEST(Augment, RejectsBadInput) {
  TempDir tmp;
  Dataset data = smallIdx(tmp, 4, 8);
  std::vector<float> out(64 * 4);
  expectError([&] { augment(data, {0}, 0, 0, out.data()); },
              {"not normalized"});
  expectError([&] { gatherBatch(data, {0}, out.data()); }, {"not normalized"});
  data.normalize({0.5f}, {0.5f});
  expectError(
      [&] {
        augment(data, {0, 4}, 0, 0, out.data());
      },
      {"batch index 4", "4 samples"});
  std::vector<int32_t> labels(2);
  expectError([&] { gatherLabels(data, {9}, labels.data()); },
              {"batch index 9"});
}

} // namespace
