// Tests of the image-folder data set (loadImageFolder, decodePnm): binary
// PGM/PPM images are read exactly (comments, maximum values below 255
// scaled), every damaged header or pixel block is an Error naming the file,
// and the folder's classes, sizes and files are checked.
#include "dq/runtime/Dataset.h"
#include "dq/runtime/Error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

using namespace dq::runtime;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> bytes(const std::string &text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

PnmImage decode(const std::string &text) {
  std::vector<uint8_t> data = bytes(text);
  return decodePnm(data.data(), data.size(), "img");
}

std::string errorOf(const std::string &text) {
  try {
    decode(text);
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Pnm, ReadsPgmAndPpm) {
  PnmImage gray = decode(std::string("P5\n# a comment\n3 2\n255\n") +
                         std::string("\x00\x01\x02\x03\x04\xff", 6));
  EXPECT_EQ(gray.width, 3);
  EXPECT_EQ(gray.height, 2);
  EXPECT_EQ(gray.channels, 1);
  EXPECT_EQ(gray.pixels, (std::vector<uint8_t>{0, 1, 2, 3, 4, 255}));
  PnmImage color = decode("P6 1 2 255\tabcdef");
  EXPECT_EQ(color.channels, 3);
  EXPECT_EQ(color.pixels, bytes("abcdef"));
}

TEST(Pnm, ScalesSmallerMaximumValues) {
  PnmImage image = decode(std::string("P5 4 1 3\n") +
                          std::string("\x00\x01\x02\x03", 4));
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 85, 170, 255}));
}

TEST(Pnm, RefusesWhatItDoesNotRead) {
  EXPECT_NE(errorOf("\x89PNG\r\n\x1a\n....").find("img: a PNG image"),
            std::string::npos);
  EXPECT_NE(errorOf("\xff\xd8\xff\xe0").find("a JPEG image"),
            std::string::npos);
  EXPECT_NE(errorOf("P2 1 1 255 7").find("plain (ASCII) or 1-bit"),
            std::string::npos);
  EXPECT_NE(errorOf("GIF89a").find("not a binary PGM (P5) or PPM (P6)"),
            std::string::npos);
  EXPECT_NE(errorOf("").find("not a binary PGM"), std::string::npos);
}

TEST(Pnm, ChecksEveryHeaderField) {
  EXPECT_NE(errorOf("P5").find("the header ends before its width"),
            std::string::npos);
  EXPECT_NE(errorOf("P5x").find("no whitespace after the magic"),
            std::string::npos);
  EXPECT_NE(errorOf("P5 -1 1 255 ").find("width is not a decimal"),
            std::string::npos);
  EXPECT_NE(errorOf("P5 1x 1 255 ").find("followed by an unexpected byte"),
            std::string::npos);
  EXPECT_NE(errorOf("P5 4097 1 255 ").find("width is larger than 4096"),
            std::string::npos);
  EXPECT_NE(errorOf("P5 99999999999999999999 1 255 ").find("larger than"),
            std::string::npos);
  EXPECT_NE(errorOf("P5 0 1 255 ").find("empty image"), std::string::npos);
  EXPECT_NE(errorOf("P5 1 1 0 x").find("maximum value 0"),
            std::string::npos);
  EXPECT_NE(errorOf("P5 1 1 65535 xx").find("16-bit samples"),
            std::string::npos);
  EXPECT_NE(errorOf("P5 1 1 255").find("without the byte before the pixels"),
            std::string::npos);
}

TEST(Pnm, ChecksThePixels) {
  EXPECT_NE(errorOf("P5 2 2 255 abc")
                .find("3 bytes of pixels, expected 4 for 2x2x1"),
            std::string::npos);
  EXPECT_NE(errorOf("P6 1 1 255 abcd").find("1 bytes after the image"),
            std::string::npos);
  EXPECT_NE(errorOf(std::string("P5 2 1 15 \x0f\x10", 12))
                .find("sample 1 is 16, above the maximum value 15"),
            std::string::npos);
}

class ImageFolderTest : public ::testing::Test {
protected:
  void SetUp() override {
    root = fs::temp_directory_path() /
           ("dq-folder-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root);
  }
  void TearDown() override { fs::remove_all(root); }

  void write(const std::string &relative, const std::string &contents) {
    fs::path path = root / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << contents;
  }
  static std::string pgm(uint8_t value) {
    return "P5 2 2 255\n" + std::string(4, static_cast<char>(value));
  }
  std::string errorOf(bool train) {
    try {
      loadImageFolder(root.string(), train);
    } catch (const Error &e) {
      return e.what();
    }
    return "(no error)";
  }

  fs::path root;
};

TEST_F(ImageFolderTest, LabelsAreTheSortedTrainingClasses) {
  write("train/b/1.pgm", pgm(1));
  write("train/a/2.PGM", pgm(2));
  write("train/a/1.pgm", pgm(3));
  write("train/.hidden", "ignored");
  write("train/a/.DS_Store", "ignored");
  write("test/b/x.pnm", pgm(4));
  Dataset train = loadImageFolder(root.string(), true);
  EXPECT_EQ(train.count, 3u);
  EXPECT_EQ(train.classes, 2);
  EXPECT_EQ(train.height, 2);
  EXPECT_EQ(train.width, 2);
  EXPECT_EQ(train.channels, 1);
  EXPECT_EQ(train.labels, (std::vector<int32_t>{0, 0, 1}));
  // a/1.pgm, a/2.PGM, b/1.pgm: bytewise order within a class
  EXPECT_EQ(train.raw[0], 3);
  EXPECT_EQ(train.raw[4], 2);
  EXPECT_EQ(train.raw[8], 1);
  Dataset test = loadImageFolder(root.string(), false);
  EXPECT_EQ(test.count, 1u);
  EXPECT_EQ(test.classes, 2); // the training set's, though test lacks 'a'
  EXPECT_EQ(test.labels, (std::vector<int32_t>{1}));
}

TEST_F(ImageFolderTest, ChecksTheFolder) {
  EXPECT_NE(errorOf(true).find("train: not found (an image-folder data set"),
            std::string::npos);
  write("train/a/1.pgm", pgm(1));
  EXPECT_NE(errorOf(false).find("test: not found"), std::string::npos);
  write("test/c/1.pgm", pgm(1));
  EXPECT_NE(errorOf(false).find(
                "test/c: a class the training set ("),
            std::string::npos);
  write("train/b/1.ppm", "P6 2 2 255\n" + std::string(12, 'x'));
  EXPECT_NE(errorOf(true).find("b/1.ppm: 2x2x3 (HxWxC), but"),
            std::string::npos);
  write("train/b/1.ppm", "P5 2 2 255\n" + std::string(3, 'x'));
  EXPECT_NE(errorOf(true).find("3 bytes of pixels, expected 4"),
            std::string::npos);
  fs::remove(root / "train/b/1.ppm");
  write("train/b/cat.png", "\x89PNG\r\n\x1a\n");
  EXPECT_NE(errorOf(true).find("cat.png: a PNG file"), std::string::npos);
  fs::remove(root / "train/b/cat.png");
  write("train/b/notes.txt", "hello");
  EXPECT_NE(errorOf(true).find("notes.txt: not a .pgm, .ppm or .pnm image"),
            std::string::npos);
  fs::remove(root / "train/b/notes.txt");
  write("train/b/sub/1.pgm", pgm(1));
  EXPECT_NE(errorOf(true).find("b/sub: a directory inside a class"),
            std::string::npos);
  fs::remove_all(root / "train/b");
  write("train/loose.pgm", pgm(1));
  EXPECT_NE(errorOf(true).find("loose.pgm: not a directory"),
            std::string::npos);
  fs::remove(root / "train/loose.pgm");
  fs::create_directories(root / "train/empty");
  fs::remove_all(root / "train/a");
  EXPECT_NE(errorOf(true).find("no images in its class directories"),
            std::string::npos);
}

} // namespace
