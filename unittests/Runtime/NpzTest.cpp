// Tests of the numpy data set reader (loadNpz, docs/Runtime.md "Numpy data
// sets"): what np.savez and np.savez_compressed write is read exactly, and
// every damaged or unexpected archive is an Error naming the file and what
// is wrong, never a crash; the class-count and shape checks the tools share.
#include "NpzTestWriter.h"

#include "dq/runtime/Dataset.h"
#include "dq/runtime/Error.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

using namespace dq::runtime;
using dq::testing::npy;
using dq::testing::npz;
using dq::testing::NpzMember;
using dq::testing::putLe;
using dq::testing::sampleNpz;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> le64s(const std::vector<int64_t> &values) {
  std::vector<uint8_t> out;
  for (int64_t v : values)
    putLe(out, static_cast<uint64_t>(v), 8);
  return out;
}

class NpzTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = (fs::temp_directory_path() /
           ("dq-npz-test-" + std::to_string(getpid())))
              .string();
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string write(const std::vector<uint8_t> &bytes,
                    const std::string &name = "data.npz") {
    std::string path = dir + "/" + name;
    std::FILE *file = std::fopen(path.c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), file);
    std::fclose(file);
    return path;
  }

  ::testing::AssertionResult fails(const std::vector<uint8_t> &bytes,
                                   std::initializer_list<std::string> parts,
                                   bool requireLabels = true) {
    std::string path = write(bytes);
    try {
      loadNpz(path, requireLabels);
    } catch (const Error &e) {
      std::string message = e.what();
      if (message.find(path) == std::string::npos)
        return ::testing::AssertionFailure()
               << "message '" << message << "' does not name the file";
      for (const std::string &part : parts)
        if (message.find(part) == std::string::npos)
          return ::testing::AssertionFailure()
                 << "message '" << message << "' lacks '" << part << "'";
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "no error";
  }

  /// images [n, 2, 2, 1] (pixel i = i) and the given labels member.
  std::vector<uint8_t> withLabels(const std::vector<uint8_t> &labels,
                                  uint64_t n = 3) {
    std::vector<uint8_t> pixels(n * 4);
    for (size_t i = 0; i < pixels.size(); ++i)
      pixels[i] = static_cast<uint8_t>(i);
    return npz({{"images.npy", npy("|u1", {n, 2, 2, 1}, pixels)},
                {"labels.npy", labels}});
  }

  std::string dir;
};

TEST_F(NpzTest, ReadsWhatNumpyWrites) {
  for (bool deflate : {false, true})
    for (bool zip64Local : {false, true})
      for (bool zip64End : {false, true}) {
        SCOPED_TRACE(std::to_string(deflate) + std::to_string(zip64Local) +
                     std::to_string(zip64End));
        std::vector<uint8_t> pixels(5 * 3 * 2 * 3);
        for (size_t i = 0; i < pixels.size(); ++i)
          pixels[i] = static_cast<uint8_t>(i * 7);
        std::string path = write(npz(
            {{"images.npy", npy("|u1", {5, 3, 2, 3}, pixels), deflate},
             {"labels.npy", npy("<i8", {5}, le64s({0, 3, 1, 3, 2})), deflate}},
            zip64Local, zip64End));
        Dataset data = loadNpz(path);
        EXPECT_EQ(data.count, 5u);
        EXPECT_EQ(data.height, 3);
        EXPECT_EQ(data.width, 2);
        EXPECT_EQ(data.channels, 3);
        EXPECT_EQ(data.raw, pixels);
        EXPECT_EQ(data.labels, (std::vector<int32_t>{0, 3, 1, 3, 2}));
        EXPECT_EQ(data.classes, 4); // the largest label + 1
        EXPECT_EQ(data.source, path);
        EXPECT_FALSE(data.isNormalized());
      }
}

TEST_F(NpzTest, OneChannelImagesAndEveryIntegerLabelType) {
  struct Case {
    const char *descr;
    std::vector<uint8_t> bytes; // labels 1, 0, 2
  };
  std::vector<Case> cases = {
      {"|u1", {1, 0, 2}},
      {"|i1", {1, 0, 2}},
      {"<i2", {1, 0, 0, 0, 2, 0}},
      {">u2", {0, 1, 0, 0, 0, 2}},
      {"<u4", {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0}},
      {">i4", {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2}},
      {"<u8", le64s({1, 0, 2})},
      {"<i8", le64s({1, 0, 2})},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.descr);
    std::string path = write(npz(
        {{"images.npy", npy("|u1", {3, 2, 2}, std::vector<uint8_t>(12, 9))},
         {"labels.npy", npy(c.descr, {3}, c.bytes)}}));
    Dataset data = loadNpz(path);
    EXPECT_EQ(data.channels, 1);
    EXPECT_EQ(data.labels, (std::vector<int32_t>{1, 0, 2}));
  }
  // Version 2 headers too.
  std::string path = write(npz(
      {{"images.npy", npy("|u1", {1, 1, 1, 1}, {200}, 2)},
       {"labels.npy", npy("<i8", {1}, le64s({0}), 2)}}));
  EXPECT_EQ(loadNpz(path).raw, std::vector<uint8_t>{200});
}

TEST_F(NpzTest, ClassesMember) {
  std::vector<uint8_t> pixels(12, 1);
  auto archive = [&](const std::vector<uint8_t> &classes) {
    return npz({{"images.npy", npy("|u1", {3, 2, 2}, pixels)},
                {"labels.npy", npy("<i8", {3}, le64s({0, 1, 1}))},
                {"classes.npy", classes}});
  };
  Dataset data = loadNpz(write(archive(npy("<i8", {}, le64s({100})))));
  EXPECT_EQ(data.classes, 100);
  EXPECT_TRUE(fails(archive(npy("<i8", {}, le64s({1}))),
                    {"labels: label 1 of image 1 is out of range (1 classes, "
                     "from the archive's 'classes')"}));
  EXPECT_TRUE(fails(archive(npy("<i8", {}, le64s({0}))),
                    {"classes: expected an integer scalar from 1"}));
  EXPECT_TRUE(fails(archive(npy("<i8", {1}, le64s({10}))),
                    {"classes: expected an integer scalar", "shape (1,)"}));
  EXPECT_TRUE(fails(archive(npy("<i8", {}, le64s({int64_t(1) << 40}))),
                    {"classes: expected an integer scalar"}));
}

TEST_F(NpzTest, LabelsAreOptionalOnlyWhenAskedSo) {
  std::vector<uint8_t> images =
      npz({{"images.npy", npy("|u1", {2, 1, 1}, {3, 4})}});
  EXPECT_TRUE(fails(images, {"no 'labels' array"}));
  Dataset data = loadNpz(write(images), /*requireLabels=*/false);
  EXPECT_EQ(data.count, 2u);
  EXPECT_TRUE(data.labels.empty());
  EXPECT_TRUE(fails(npz({{"labels.npy", npy("<i8", {1}, le64s({0}))}}),
                    {"no 'images' array"}, false));
}

TEST_F(NpzTest, MembersAreStrict) {
  std::vector<uint8_t> images = npy("|u1", {1, 1, 1}, {3});
  std::vector<uint8_t> labels = npy("<i8", {1}, le64s({0}));
  EXPECT_TRUE(fails(npz({{"images.npy", images},
                         {"labels.npy", labels},
                         {"mean.npy", labels}}),
                    {"unexpected member 'mean.npy'"}));
  EXPECT_TRUE(fails(npz({{"images.npy", images},
                         {"labels.npy", labels},
                         {"images.npy", images}}),
                    {"member 'images.npy' appears twice"}));
  std::vector<NpzMember> many;
  for (int i = 0; i < 17; ++i)
    many.push_back({"images.npy", images});
  EXPECT_TRUE(fails(npz(many), {"17 members"}));
  EXPECT_TRUE(fails(npz({}), {"an empty archive"}));
}

TEST_F(NpzTest, ImagesAreUint8NHWC) {
  std::vector<uint8_t> labels = npy("<i8", {1}, le64s({0}));
  auto with = [&](const std::vector<uint8_t> &images) {
    return npz({{"images.npy", images}, {"labels.npy", labels}});
  };
  EXPECT_TRUE(fails(with(npy("<f4", {1, 1, 1}, {0, 0, 0, 0})),
                    {"images: dtype '<f4' is a floating-point type"}));
  EXPECT_TRUE(fails(with(npy("|i1", {1, 1, 1}, {0})),
                    {"images: dtype int8; dq reads 8-bit pixels (uint8"}));
  EXPECT_TRUE(fails(with(npy("<u2", {1, 1, 1}, {0, 0})),
                    {"images: dtype uint16"}));
  EXPECT_TRUE(fails(with(npy("|u1", {1, 4}, {0, 0, 0, 0})),
                    {"images: shape (1, 4); expected (N, H, W, C)"}));
  EXPECT_TRUE(fails(with(npy("|u1", {0, 2, 2}, {})), {"images: no images"}));
  EXPECT_TRUE(fails(with(npy("|u1", {1, 5000, 1}, std::vector<uint8_t>(5000))),
                    {"images: shape (1, 5000, 1) is out of range"}));
  EXPECT_TRUE(fails(with(npy("|u1", {1, 2, 0}, {})),
                    {"is out of range"}));
  EXPECT_TRUE(fails(with(npy("|u1", {1, 2, 2}, {1, 2, 3, 4}, 1, true)),
                    {"images: saved in Fortran order"}));
  EXPECT_TRUE(fails(with(npy("|b1", {1, 1, 1}, {1})),
                    {"images: dtype '|b1' is a boolean type"}));
  EXPECT_TRUE(fails(with(npy("<U4", {1, 1, 1}, std::vector<uint8_t>(16))),
                    {"strings or Python objects"}));
}

TEST_F(NpzTest, LabelsAreCheckedOneByOne) {
  EXPECT_TRUE(fails(withLabels(npy("<i8", {2}, le64s({0, 1}))),
                    {"labels: shape (2,), expected (3,): one label per image"}));
  EXPECT_TRUE(fails(withLabels(npy("<i8", {3, 1}, le64s({0, 1, 2}))),
                    {"labels: shape (3, 1), expected (3,)"}));
  EXPECT_TRUE(fails(withLabels(npy("<i8", {3}, le64s({0, -1, 2}))),
                    {"labels: label -1 of image 1 is out of range"}));
  EXPECT_TRUE(fails(withLabels(npy("|i1", {3}, {0, 0xFF, 2})),
                    {"label -1 of image 1"}));
  EXPECT_TRUE(fails(withLabels(npy("<i8", {3}, le64s({0, 1, int64_t(1) << 31}))),
                    {"label 2147483648 of image 2 is out of range"}));
  EXPECT_TRUE(fails(withLabels(npy("<u8", {3}, le64s({0, -1, 0}))),
                    {"label > 2^63 of image 1"}));
  EXPECT_TRUE(fails(withLabels(npy("<f8", {3}, le64s({0, 0, 0}))),
                    {"labels: dtype '<f8' is a floating-point type"}));
  EXPECT_TRUE(fails(withLabels(npy("|u2", {3}, std::vector<uint8_t>(6))),
                    {"labels: dtype '|u2'"}));
  // Fortran order is the same bytes for one dimension.
  std::string path = write(withLabels(npy("|u1", {3}, {2, 0, 1}, 1, true)));
  EXPECT_EQ(loadNpz(path).labels, (std::vector<int32_t>{2, 0, 1}));
}

TEST_F(NpzTest, NpyHeaders) {
  std::vector<uint8_t> good = npy("<i8", {3}, le64s({0, 1, 2}));
  auto header = [&](const std::string &dict, int version = 1) {
    std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y',
                                static_cast<uint8_t>(version), 0};
    putLe(out, dict.size(), version == 1 ? 2 : 4);
    out.insert(out.end(), dict.begin(), dict.end());
    std::vector<uint8_t> data = le64s({0, 1, 2});
    out.insert(out.end(), data.begin(), data.end());
    return out;
  };
  std::string shape = "'shape': (3,)";
  EXPECT_TRUE(fails(withLabels(header("{'descr': '<i8', 'fortran_order': "
                                      "False, " + shape + "}\n", 4)),
                    {"labels: .npy format version 4"}));
  EXPECT_TRUE(fails(withLabels(header("{'descr': '<i8', " + shape + "}")),
                    {"bad .npy header (descr, fortran_order and shape are "
                     "required)"}));
  EXPECT_TRUE(fails(withLabels(header("{'descr': '<i8', 'descr': '<i8', "
                                      "'fortran_order': False, " + shape +
                                      "}")),
                    {"unexpected or repeated key 'descr'"}));
  EXPECT_TRUE(fails(withLabels(header("{'descr': '<i8', 'fortran_order': "
                                      "Maybe, " + shape + "}")),
                    {"fortran_order is neither True nor False"}));
  EXPECT_TRUE(fails(withLabels(header("{'descr': '<i8', 'fortran_order': "
                                      "False, 'shape': (-3,)}")),
                    {"a dimension is not a non-negative integer"}));
  EXPECT_TRUE(fails(withLabels(header("{'descr': '<i8', 'fortran_order': "
                                      "False, 'shape': "
                                      "(99999999999999999999,)}")),
                    {"a dimension overflows 64 bits"}));
  EXPECT_TRUE(fails(withLabels(header("{'descr': '<i8', 'fortran_order': "
                                      "False, 'shape': (4294967296, "
                                      "4294967296, 4294967296)}")),
                    {"element count overflows 64 bits"}));
  EXPECT_TRUE(fails(withLabels(header("{'descr': '<i8', 'fortran_order': "
                                      "False, " + shape + "} x")),
                    {"text after the dictionary"}));
  EXPECT_TRUE(fails(withLabels(header("{'descr': '<i8', 'fortran_order': "
                                      "False, " + shape + "\xff}")),
                    {"not printable ASCII"}));
  EXPECT_TRUE(fails(withLabels(header("{'descr': [('a', '<i8')], "
                                      "'fortran_order': False, " + shape +
                                      "}")),
                    {"expected a quoted string"}));
  // Truncated and trailing data.
  std::vector<uint8_t> cut(good.begin(), good.end() - 1);
  EXPECT_TRUE(fails(withLabels(cut), {"labels: truncated: the header's shape "
                                      "needs 3 elements of 8 bytes, the array "
                                      "has 23 bytes"}));
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_TRUE(fails(withLabels(longer), {"labels: trailing data"}));
  std::vector<uint8_t> noMagic = good;
  noMagic[1] = 'X';
  EXPECT_TRUE(fails(withLabels(noMagic), {"labels: not an .npy array"}));
  std::vector<uint8_t> longHeader = good;
  longHeader[8] = 0xFF;
  longHeader[9] = 0xFF;
  EXPECT_TRUE(fails(withLabels(longHeader), {"runs past the array"}));
}

TEST_F(NpzTest, ZipStructure) {
  std::vector<uint8_t> good = sampleNpz(4, 2, 2, 1, 3);
  EXPECT_TRUE(fails({}, {"not an .npz archive (no zip end-of-directory "
                         "record)"}));
  EXPECT_TRUE(fails(std::vector<uint8_t>(good.begin(), good.end() - 1),
                    {"not an .npz archive"}));
  EXPECT_TRUE(fails(npy("|u1", {1, 1, 1}, {0}),
                    {"this is a single .npy array"}));
  // A comment after the end record is fine; bytes after the comment are not.
  std::vector<uint8_t> commented = good;
  commented[commented.size() - 2] = 3;
  for (char c : std::string("abc"))
    commented.push_back(static_cast<uint8_t>(c));
  EXPECT_EQ(loadNpz(write(commented)).count, 4u);
  commented.push_back('!');
  EXPECT_TRUE(fails(commented, {"not an .npz archive"}));

  // The CRC of every member.
  std::vector<uint8_t> flipped = good;
  flipped[100] ^= 1; // inside images.npy's pixels
  EXPECT_TRUE(fails(flipped, {"member 'images.npy': CRC-32 mismatch"}));

  // Method, flags, disk fields, offsets.
  size_t end = good.size() - 22;
  size_t directory = good[end + 16] | good[end + 17] << 8;
  auto patched = [&](size_t at, uint8_t value) {
    std::vector<uint8_t> bytes = good;
    bytes[at] = value;
    return bytes;
  };
  EXPECT_TRUE(fails(patched(directory + 10, 12),
                    {"member 'images.npy': compression method 12"}));
  EXPECT_TRUE(fails(patched(directory + 8, 1), {"member 'images.npy': encrypted"}));
  EXPECT_TRUE(fails(patched(end + 4, 1), {"a multi-disk zip archive"}));
  EXPECT_TRUE(fails(patched(end + 8, 1), {"a multi-disk zip archive"}));
  EXPECT_TRUE(fails(patched(end + 19, 0x7F),
                    {"the central directory", "lies outside the file"}));
  EXPECT_TRUE(fails(patched(directory, 'X'),
                    {"directory entry 0: truncated or not a directory entry"}));
  EXPECT_TRUE(fails(patched(directory + 45, 0x7F),
                    {"member 'images.npy': its local header lies outside"}));
  EXPECT_TRUE(fails(patched(0, 'X'), {"member 'images.npy': bad local header"}));
  EXPECT_TRUE(fails(patched(30, 'X'),
                    {"the local header does not match the directory"}));
  EXPECT_TRUE(fails(patched(directory + 23, 0x7F),
                    {"member 'images.npy': its data", "runs past the start "
                     "of the central directory"}));
  // A directory entry whose name runs past the directory.
  EXPECT_TRUE(fails(patched(directory + 29, 0x7F),
                    {"directory entry 0: name, extra field or comment runs "
                     "past"}));
  // Stored sizes that disagree.
  std::vector<uint8_t> sizes = good;
  sizes[directory + 24] ^= 1;
  EXPECT_TRUE(fails(sizes, {"member 'images.npy': stored with"}));
}

TEST_F(NpzTest, Zip64Fields) {
  std::vector<uint8_t> good =
      npz({{"images.npy", npy("|u1", {1, 1, 1}, {5})},
           {"labels.npy", npy("<i8", {1}, le64s({0}))}},
          true, true);
  EXPECT_EQ(loadNpz(write(good)).raw, std::vector<uint8_t>{5});
  size_t end = good.size() - 22;
  size_t locator = end - 20;
  std::vector<uint8_t> bad = good;
  bad[locator] = 'X';
  EXPECT_TRUE(fails(bad, {"the zip64 end-of-directory locator is missing"}));
  bad = good;
  bad[locator + 15] = 0x7F; // the record's offset
  EXPECT_TRUE(fails(bad, {"the zip64 end-of-directory record lies outside"}));
  bad = good;
  bad[locator + 16] = 2; // disks
  EXPECT_TRUE(fails(bad, {"a multi-disk zip archive"}));
  bad = good;
  bad[locator - 56 + 47] = 0x7F; // the directory's size
  EXPECT_TRUE(fails(bad, {"the central directory"}));
  // A directory entry that says 0xFFFFFFFF without the extra field.
  std::vector<uint8_t> classic = sampleNpz(1, 1, 1, 1, 1);
  size_t directory = classic[classic.size() - 6] |
                     classic[classic.size() - 5] << 8;
  for (int i = 0; i < 4; ++i)
    classic[directory + 24 + i] = 0xFF;
  EXPECT_TRUE(fails(classic, {"sizes or offset need a zip64 extra field"}));
}

TEST_F(NpzTest, DeflateIsBoundedByTheDeclaredSize) {
  std::vector<uint8_t> good = sampleNpz(50, 4, 4, 1, 2, /*deflate=*/true);
  size_t end = good.size() - 22;
  size_t directory = good[end + 16] | good[end + 17] << 8;
  // Declared smaller than the stream inflates to: stops there.
  std::vector<uint8_t> smaller = good;
  smaller[directory + 24] -= 1;
  EXPECT_TRUE(fails(smaller, {"member 'images.npy': inflates to more than "
                              "its declared"}));
  // Declared larger: the stream ends first.
  std::vector<uint8_t> larger = good;
  larger[directory + 24] += 1;
  EXPECT_TRUE(fails(larger, {"member 'images.npy': inflates to"}));
  // Declared far beyond what deflate can give from its bytes.
  std::vector<uint8_t> huge = good;
  huge[directory + 27] = 0x7F;
  EXPECT_TRUE(fails(huge, {"more than deflate can give"}));
  // Damaged stream: an error, whatever the damage.
  for (size_t at = 30 + 10; at < 30 + 10 + 20; ++at) {
    std::vector<uint8_t> damaged = good;
    damaged[at] ^= 0x55;
    EXPECT_TRUE(fails(damaged, {"member 'images.npy'"})) << at;
  }
  // Compressed size too short: truncated.
  std::vector<uint8_t> cut = good;
  cut[directory + 20] -= 8;
  EXPECT_TRUE(fails(cut, {"member 'images.npy'"}));
}

TEST_F(NpzTest, NoCrashOnAnyTruncationOrFlip) {
  for (bool deflate : {false, true}) {
    std::vector<uint8_t> good = sampleNpz(3, 2, 2, 2, 3, deflate);
    for (size_t n = 0; n < good.size(); ++n) {
      std::vector<uint8_t> cut(good.begin(), good.begin() + n);
      EXPECT_TRUE(fails(cut, {}, false)) << n;
    }
    std::mt19937 rng(5);
    for (size_t at = 0; at < good.size(); ++at) {
      std::vector<uint8_t> flipped = good;
      flipped[at] ^= static_cast<uint8_t>(1 + rng() % 255);
      std::string path = write(flipped);
      try {
        Dataset data = loadNpz(path, false);
        // Accepted (a byte the format does not check, such as a time
        // stamp): the result is consistent.
        EXPECT_EQ(data.raw.size(), data.count * data.imageElements()) << at;
        for (int32_t label : data.labels)
          EXPECT_TRUE(label >= 0 && label < data.classes) << at;
      } catch (const Error &) {
      }
    }
  }
}

TEST_F(NpzTest, NotARegularFile) {
  EXPECT_TRUE(fails({}, {"not an .npz archive"}));
  try {
    loadNpz(dir, true);
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"),
              std::string::npos)
        << e.what();
  }
  try {
    loadNpz(dir + "/missing.npz", true);
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("missing.npz: cannot open"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(NpzTest, NamedDataSets) {
  write(sampleNpz(6, 2, 2, 1, 3), "train.npz");
  write(sampleNpz(2, 2, 2, 1, 2, true), "test.npz");
  EXPECT_EQ(loadNamedDataset("npz", dir, true).count, 6u);
  Dataset test = loadNamedDataset("npz", dir, false);
  EXPECT_EQ(test.count, 2u);
  EXPECT_EQ(test.classes, 2);
  fs::remove(dir + "/test.npz");
  try {
    loadNamedDataset("npz", dir, false);
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("test.npz: not found (a numpy data "
                                         "set is a directory with train.npz "
                                         "and test.npz"),
              std::string::npos)
        << e.what();
  }
  try {
    loadNamedDataset("cifar10", dir, false);
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("test_batch.bin: not found (CIFAR-10 "
                                         "test set"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(loadNamedDataset("mnist", dir, true), Error);
  EXPECT_TRUE(looksLikeZip(write(sampleNpz(1, 1, 1, 1, 1))));
  EXPECT_TRUE(looksLikeZip(write(npz({}))));
  EXPECT_FALSE(looksLikeZip(write(npy("|u1", {1}, {0}))));
  EXPECT_FALSE(looksLikeZip(dir + "/nothing"));
}

TEST(DatasetChecks, ClassCountAndShape) {
  EXPECT_EQ(checkClassCount(10, 10, "d"), "");
  EXPECT_EQ(checkClassCount(5, 10, "the data"),
            "the model predicts 10 classes, the data has 5; the others are "
            "never a label");
  try {
    checkClassCount(12, 10, "the training set (x.npz)");
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()),
              "the training set (x.npz) has 12 classes but the model predicts "
              "10; its labels would index past the logits");
  }
  EXPECT_EQ(imageShapeMismatch({28, 28, 1}, {32, 32, 3}, "the images of d"),
            "the images of d are [28,28,1] but the model takes [32,32,3]");
  EXPECT_NE(imageShapeMismatch({3, 32, 32}, {32, 32, 3}, "the images")
                .find("the images look NCHW"),
            std::string::npos);
}

} // namespace
