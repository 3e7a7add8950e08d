// Tests of the runtime's manifests and state files: round trips, atomic
// writes, and the rejection (with a message naming what) of every kind of
// damaged or mismatched file.
#include "dq/runtime/StateFile.h"
#include "dq/runtime/Error.h"
#include "dq/runtime/Files.h"
#include "dq/runtime/Manifest.h"
#include "dq/runtime/Tensor.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace dq::runtime;
namespace fs = std::filesystem;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Succeeds when `fn` throws dq::runtime::Error whose message contains every
/// one of `parts`.
::testing::AssertionResult failsWith(const std::function<void()> &fn,
                                     std::initializer_list<std::string> parts) {
  try {
    fn();
  } catch (const Error &e) {
    std::string message = e.what();
    for (const std::string &part : parts)
      if (message.find(part) == std::string::npos)
        return ::testing::AssertionFailure()
               << "message \"" << message << "\" does not contain \"" << part
               << "\"";
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception &e) {
    return ::testing::AssertionFailure()
           << "threw a non-runtime error: " << e.what();
  }
  return ::testing::AssertionFailure() << "nothing was thrown";
}

std::vector<uint8_t> readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void writeBytes(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
}

void putU32(std::vector<uint8_t> &bytes, size_t offset, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    bytes[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

/// Recomputes the trailer CRC, so a test can damage one field behind the
/// checksum's back and see that field's own check.
void fixTrailer(std::vector<uint8_t> &bytes) {
  putU32(bytes, bytes.size() - 4, crc32Ieee(bytes.data(), bytes.size() - 4));
}

/// A tensor filled with a pattern that differs per tensor and per byte.
HostTensor makeTensor(const std::string &name, DType dtype,
                      std::vector<int64_t> shape,
                      const std::string &role = "") {
  HostTensor tensor(TensorSpec{name, role, dtype, std::move(shape)});
  std::mt19937 random(static_cast<uint32_t>(std::hash<std::string>()(name)));
  for (uint8_t &byte : tensor.data)
    byte = static_cast<uint8_t>(random());
  return tensor;
}

/// Every dtype, a scalar and an empty tensor.
std::vector<HostTensor> sampleTensors() {
  std::vector<HostTensor> tensors;
  tensors.push_back(
      makeTensor("stem.conv.weight", DType::F32, {2, 3, 3, 1}, "param"));
  tensors.push_back(makeTensor("stem.conv.codes", DType::I8, {5, 7}, "index"));
  tensors.push_back(makeTensor("bn.count", DType::I32, {3}, "stat"));
  tensors.push_back(makeTensor("step", DType::I64, {}, "step"));
  tensors.push_back(makeTensor("fc.unused", DType::F32, {0, 4}, "param"));
  return tensors;
}

constexpr uint64_t kHash = 0x0123456789abcdefULL;
const std::string kMetadata =
    R"({"step":120,"epoch":2,"seed":7,"lr":{"base":0.1}})";

Manifest sampleManifest() {
  Manifest manifest;
  manifest.moduleHash = kHash;
  manifest.library = {123456, 0xfedcba9876543210ULL};
  manifest.batch = 128;
  manifest.imageShape = {28, 28, 1};
  manifest.classes = 10;
  for (const HostTensor &tensor : sampleTensors())
    manifest.state.push_back(tensor.spec);
  manifest.entryPoints["train_step"] = {
      "_mlir_ciface_train_step",
      {"state...", "images f32[128,28,28,1]", "labels i32[128]", "lr f32",
       "step i64"},
      {"state...", "loss f32[]", "correct i32[]"}};
  manifest.entryPoints["predict"] = {"_mlir_ciface_predict",
                                     {"state...", "images f32[128,28,28,1]"},
                                     {"logits f32[128,10]"}};
  manifest.entryPoints["init_state"] = {
      "_mlir_ciface_init_state", {}, {"state..."}};
  return manifest;
}

void expectSameTensors(const std::vector<HostTensor> &actual,
                       const std::vector<HostTensor> &expected,
                       bool withRoles) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    SCOPED_TRACE(expected[i].spec.name);
    EXPECT_EQ(actual[i].spec.name, expected[i].spec.name);
    EXPECT_EQ(actual[i].spec.dtype, expected[i].spec.dtype);
    EXPECT_EQ(actual[i].spec.shape, expected[i].spec.shape);
    EXPECT_EQ(actual[i].spec.role, withRoles ? expected[i].spec.role : "");
    EXPECT_TRUE(actual[i].data == expected[i].data);
  }
}

/// Byte offsets of one tensor record's fields in a state file.
struct RecordLayout {
  size_t nameLength, name, dtype, rank, dims, byteSize, crc, data, end;
};

std::vector<RecordLayout> layoutOf(const std::vector<HostTensor> &tensors,
                                   size_t metadataBytes) {
  std::vector<RecordLayout> layout;
  size_t offset = kStateFileHeaderSize + metadataBytes;
  for (const HostTensor &tensor : tensors) {
    RecordLayout r;
    r.nameLength = offset;
    r.name = r.nameLength + 4;
    r.dtype = r.name + tensor.spec.name.size();
    r.rank = r.dtype + 4;
    r.dims = r.rank + 4;
    r.byteSize = r.dims + 8 * tensor.spec.shape.size();
    r.crc = r.byteSize + 8;
    r.data = r.crc + 4;
    r.end = r.data + tensor.data.size();
    layout.push_back(r);
    offset = r.end;
  }
  return layout;
}

/// Each test gets a fresh directory, removed afterwards.
class StateFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "dq-statefile-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
    path = dir + "/model.state";
  }
  void TearDown() override {
    ::chmod(dir.c_str(), 0700);
    fs::remove_all(dir);
  }

  std::set<std::string> dirEntries() const {
    std::set<std::string> names;
    for (const auto &entry : fs::directory_iterator(dir))
      names.insert(entry.path().filename().string());
    return names;
  }

  /// A valid sample file; returns its bytes.
  std::vector<uint8_t> writeSample() {
    writeStateFile(path, kHash, sampleTensors(), kMetadata);
    return readBytes(path);
  }

  ::testing::AssertionResult
  readFails(std::initializer_list<std::string> parts) {
    return failsWith([&] { readStateFile(path); }, parts);
  }

  std::string dir;
  std::string path;
};

//===----------------------------------------------------------------------===//
// Tensors, hashes and checksums
//===----------------------------------------------------------------------===//

TEST(StateFileTensors, DTypes) {
  for (DType type : {DType::F32, DType::I8, DType::I32, DType::I64}) {
    EXPECT_EQ(parseDType(dtypeName(type)), type);
    EXPECT_EQ(dtypeFromCode(static_cast<uint32_t>(type)), type);
  }
  EXPECT_EQ(dtypeSize(DType::F32), 4u);
  EXPECT_EQ(dtypeSize(DType::I8), 1u);
  EXPECT_EQ(dtypeSize(DType::I32), 4u);
  EXPECT_EQ(dtypeSize(DType::I64), 8u);
  EXPECT_FALSE(parseDType("f16"));
  EXPECT_FALSE(parseDType("F32"));
  EXPECT_FALSE(dtypeFromCode(4));

  TensorSpec spec{"w", "param", DType::F32, {16, 3, 3, 1}};
  EXPECT_EQ(spec.bytes(), 576u);
  EXPECT_EQ(spec.typeString(), "f32[16,3,3,1]");
  TensorSpec scalar{"s", "step", DType::I64, {}};
  EXPECT_EQ(scalar.bytes(), 8u);
  EXPECT_EQ(scalar.typeString(), "i64[]");
  EXPECT_FALSE(checkedByteSize(DType::F32, {2, -1}));
  EXPECT_FALSE(checkedByteSize(DType::I64, {int64_t(1) << 62, 4}));
  EXPECT_EQ(checkedByteSize(DType::I32, {0, int64_t(1) << 62}), 0u);
  // Empty, but the dims before the zero overflow int64_t (found by fuzzing:
  // numElements() and strides multiply prefixes of the shape).
  EXPECT_FALSE(checkedByteSize(DType::I8,
                               {int64_t(1) << 31, int64_t(1) << 32, 0}));
}

TEST(StateFileTensors, AlignedTypedStorage) {
  HostTensor tensor(TensorSpec{"t", "", DType::I32, {3, 5}});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor.data.data()) % 64, 0u);
  EXPECT_EQ(tensor.data.size(), 60u);
  for (uint8_t byte : tensor.data)
    EXPECT_EQ(byte, 0);
  tensor.at<int32_t>(14) = 42;
  EXPECT_EQ(tensor.as<int32_t>()[14], 42);
  EXPECT_TRUE(failsWith([&] { tensor.as<float>(); }, {"'t'", "i32", "f32"}));
  EXPECT_TRUE(failsWith([&] { tensor.at<int32_t>(15); }, {"index 15"}));

  HostTensor copy = tensor;
  EXPECT_NE(copy.data.data(), tensor.data.data());
  EXPECT_TRUE(copy.data == tensor.data);
  HostTensor moved = std::move(copy);
  EXPECT_EQ(moved.at<int32_t>(14), 42);
}

TEST(StateFileChecksums, KnownValues) {
  EXPECT_EQ(crc32Ieee("123456789", 9), 0xcbf43926u);
  EXPECT_EQ(crc32Ieee("56789", 5, crc32Ieee("1234", 4)), 0xcbf43926u);
  EXPECT_EQ(fnv1a64("", 0), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar", 6), 0x85944171f73967e8ULL);
  EXPECT_EQ(formatModuleHash(0x0123456789abcdefULL),
            "fnv1a64:0123456789abcdef");
  EXPECT_EQ(formatModuleHash(0xa), "fnv1a64:000000000000000a");
  EXPECT_EQ(parseModuleHash("fnv1a64:0123456789abcdef"), 0x0123456789abcdefULL);
  EXPECT_FALSE(parseModuleHash("fnv1a64:0123456789ABCDEF"));
  EXPECT_FALSE(parseModuleHash("fnv1a64:0123456789abcde"));
  EXPECT_FALSE(parseModuleHash("fnv1a32:0123456789abcdef"));
}

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

TEST_F(StateFileTest, RoundTrip) {
  std::vector<HostTensor> tensors = sampleTensors();
  writeStateFile(path, kHash, tensors, kMetadata);

  StateFileContents contents = readStateFile(path);
  EXPECT_EQ(contents.manifestHash, kHash);
  EXPECT_EQ(contents.metadataJson, kMetadata);
  expectSameTensors(contents.tensors, tensors, /*withRoles=*/false);

  std::string metadata;
  std::vector<HostTensor> forModel =
      readStateFileFor(path, sampleManifest(), &metadata);
  EXPECT_EQ(metadata, kMetadata);
  expectSameTensors(forModel, tensors, /*withRoles=*/true);
  EXPECT_EQ(dirEntries(), std::set<std::string>{"model.state"});
}

TEST_F(StateFileTest, LayoutMatchesTheDocumentedFormat) {
  std::vector<HostTensor> tensors = sampleTensors();
  std::vector<uint8_t> bytes = writeSample();
  std::vector<RecordLayout> layout = layoutOf(tensors, kMetadata.size());
  ASSERT_EQ(bytes.size(), layout.back().end + 4);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8),
            std::string("DQSTATE\0", 8));
  auto u32 = [&](size_t at) {
    return uint32_t(bytes[at]) | uint32_t(bytes[at + 1]) << 8 |
           uint32_t(bytes[at + 2]) << 16 | uint32_t(bytes[at + 3]) << 24;
  };
  EXPECT_EQ(u32(8), 1u);                     // version
  EXPECT_EQ(u32(12), 0u);                    // flags
  EXPECT_EQ(u32(16), uint32_t(kHash));       // hash, low half
  EXPECT_EQ(u32(20), uint32_t(kHash >> 32)); // hash, high half
  EXPECT_EQ(u32(24), tensors.size());        // tensor count
  EXPECT_EQ(u32(28), kMetadata.size());      // metadata bytes
  const RecordLayout &conv = layout[0];
  EXPECT_EQ(u32(conv.nameLength), tensors[0].spec.name.size());
  EXPECT_EQ(u32(conv.dtype), 0u);
  EXPECT_EQ(u32(conv.rank), 4u);
  EXPECT_EQ(u32(conv.crc),
            crc32Ieee(tensors[0].data.data(), tensors[0].data.size()));
  EXPECT_EQ(u32(layout[3].rank), 0u); // the scalar
  EXPECT_EQ(u32(bytes.size() - 4), crc32Ieee(bytes.data(), bytes.size() - 4));
}

TEST_F(StateFileTest, EmptyStateAndInitialMetadata) {
  writeStateFile(path, 0, {}, "{}");
  StateFileContents contents = readStateFile(path);
  EXPECT_EQ(contents.manifestHash, 0u);
  EXPECT_EQ(contents.metadataJson, "{}");
  EXPECT_TRUE(contents.tensors.empty());
}

TEST_F(StateFileTest, OverwriteReplacesTheFile) {
  writeSample();
  std::vector<HostTensor> other = {makeTensor("only", DType::I8, {9})};
  writeStateFile(path, kHash + 1, other, R"({"step":1})");
  StateFileContents contents = readStateFile(path);
  EXPECT_EQ(contents.manifestHash, kHash + 1);
  EXPECT_EQ(contents.metadataJson, R"({"step":1})");
  expectSameTensors(contents.tensors, other, false);
  EXPECT_EQ(dirEntries(), std::set<std::string>{"model.state"});
}

//===----------------------------------------------------------------------===//
// Atomic writes
//===----------------------------------------------------------------------===//

TEST_F(StateFileTest, MissingDirectoryFails) {
  std::string nowhere = dir + "/no/such/dir/model.state";
  EXPECT_TRUE(
      failsWith([&] { writeStateFile(nowhere, kHash, sampleTensors(), "{}"); },
                {nowhere, "cannot create a temporary file"}));
  EXPECT_TRUE(dirEntries().empty());
}

TEST_F(StateFileTest, ReadOnlyDirectoryLeavesTheOldFile) {
  std::vector<uint8_t> before = writeSample();
  if (::geteuid() == 0)
    GTEST_SKIP() << "root writes into read-only directories";
  ASSERT_EQ(::chmod(dir.c_str(), 0500), 0);
  EXPECT_TRUE(failsWith([&] { writeStateFile(path, 1, {}, "{}"); },
                        {path, "Permission denied"}));
  ::chmod(dir.c_str(), 0700);
  EXPECT_EQ(readBytes(path), before);
  EXPECT_EQ(dirEntries(), std::set<std::string>{"model.state"});
}

TEST_F(StateFileTest, FailedWriteLeavesTheOldFileAndNoTemporary) {
  // A file-size limit makes write(2) fail with EFBIG part way through the
  // new file (even for root), the failure of a full disk.
  std::vector<uint8_t> before = writeSample();
  std::vector<HostTensor> big = {makeTensor("big", DType::F32, {1 << 20})};

  struct rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct rlimit small = saved;
  small.rlim_cur = 64 * 1024;
  auto oldHandler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  ::testing::AssertionResult failed = failsWith(
      [&] { writeStateFile(path, kHash, big, "{}"); }, {path, "cannot write"});
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, oldHandler);

  EXPECT_TRUE(failed);
  EXPECT_EQ(readBytes(path), before);
  EXPECT_EQ(dirEntries(), std::set<std::string>{"model.state"});
  // The old file still reads.
  EXPECT_EQ(readStateFile(path).tensors.size(), sampleTensors().size());
}

TEST_F(StateFileTest, WritersReplaceOnlyRegularFiles) {
  // A directory, a symbolic link and a device are refused before anything is
  // written; the target and its directory are left as they were.
  fs::create_directory(path);
  writeBytes(path + "/keep", {1, 2, 3});
  EXPECT_TRUE(
      failsWith([&] { writeStateFile(path, kHash, sampleTensors(), "{}"); },
                {path, "is a directory", "refuses to replace it"}));
  EXPECT_EQ(dirEntries(), std::set<std::string>{"model.state"});
  EXPECT_EQ(readBytes(path + "/keep"), (std::vector<uint8_t>{1, 2, 3}));

  std::string target = dir + "/target", link = dir + "/link";
  writeBytes(target, {9});
  fs::create_symlink(target, link);
  EXPECT_TRUE(failsWith([&] { writeFileAtomic(link, "new"); },
                        {link, "is a symbolic link"}));
  EXPECT_EQ(readBytes(target), (std::vector<uint8_t>{9}));
  EXPECT_TRUE(fs::is_symlink(link));

  EXPECT_TRUE(failsWith([&] { writeFileAtomic("/dev/null", "x"); },
                        {"/dev/null", "is a device"}));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  EXPECT_TRUE(failsWith([&] { appendToFile("/dev/null", "x"); },
                        {"/dev/null", "is a device"}));
  EXPECT_TRUE(failsWith([&] { appendToFile(link, "x"); },
                        {link, "is a symbolic link"}));

  for (std::string bad : {std::string(), dir + "/", dir + "/.", dir + "/.."})
    EXPECT_TRUE(failsWith([&] { writeFileAtomic(bad, "x"); }, {}))
        << "'" << bad << "'";
  EXPECT_TRUE(failsWith([&] { writeFileAtomic("", "x"); }, {"empty"}));
}

TEST_F(StateFileTest, CreateDirectoriesAndAppend) {
  std::string nested = dir + "/a/b/c";
  createDirectories(nested);
  EXPECT_TRUE(fs::is_directory(nested));
  createDirectories(nested + "/"); // exists: fine
  // A quote is only a character: no shell ever sees the name.
  std::string quoted = dir + "/x'; touch " + dir + "/pwned; '";
  createDirectories(quoted);
  EXPECT_TRUE(fs::is_directory(quoted));
  EXPECT_FALSE(fs::exists(dir + "/pwned"));
  writeBytes(dir + "/file", {1});
  EXPECT_TRUE(failsWith([&] { createDirectories(dir + "/file/sub"); },
                        {dir + "/file", "not a directory"}));
  EXPECT_TRUE(failsWith([&] { createDirectories(""); }, {"empty"}));

  appendToFile(dir + "/log", "one\n");
  appendToFile(dir + "/log", "two\n");
  std::vector<uint8_t> log = readBytes(dir + "/log");
  EXPECT_EQ(std::string(log.begin(), log.end()), "one\ntwo\n");
}

TEST_F(StateFileTest, DirectoryLockIsExclusive) {
  {
    DirectoryLock lock(dir, "dq.lock", "--out");
    std::vector<uint8_t> pid = readBytes(dir + "/dq.lock");
    EXPECT_EQ(std::string(pid.begin(), pid.end()),
              std::to_string(::getpid()) + "\n");
    // flock locks belong to open file descriptions: a second open in this
    // process conflicts as another process's would.
    EXPECT_TRUE(failsWith([&] { DirectoryLock again(dir, "dq.lock", "--out"); },
                          {"--out " + dir, "in use by another process",
                           "pid " + std::to_string(::getpid())}));
  }
  DirectoryLock after(dir, "dq.lock", "--out"); // released with the first
}

TEST_F(StateFileTest, BadArgumentsWriteNothing) {
  std::vector<uint8_t> before = writeSample();
  EXPECT_TRUE(failsWith([&] { writeStateFile(path, kHash, {}, "[1, 2]"); },
                        {path, "metadata", "JSON object"}));
  EXPECT_TRUE(failsWith([&] { writeStateFile(path, kHash, {}, "{"); },
                        {path, "metadata", "not valid JSON"}));

  std::vector<HostTensor> duplicate = {makeTensor("a", DType::I8, {1}),
                                       makeTensor("a", DType::I8, {2})};
  EXPECT_TRUE(failsWith([&] { writeStateFile(path, kHash, duplicate, "{}"); },
                        {"tensor[1] 'a'", "duplicate"}));
  std::vector<HostTensor> unnamed = {makeTensor("", DType::I8, {1})};
  EXPECT_TRUE(failsWith([&] { writeStateFile(path, kHash, unnamed, "{}"); },
                        {"tensor[0]", "name"}));
  std::vector<HostTensor> wrongSize = {makeTensor("w", DType::F32, {2, 2})};
  wrongSize[0].spec.shape = {2, 3};
  EXPECT_TRUE(
      failsWith([&] { writeStateFile(path, kHash, wrongSize, "{}"); },
                {"tensor[0] 'w'", "holds 16 bytes", "f32[2,3] needs 24"}));

  EXPECT_EQ(readBytes(path), before);
  EXPECT_EQ(dirEntries(), std::set<std::string>{"model.state"});
}

TEST_F(StateFileTest, AtomicFileWriterDiscardsUncommitted) {
  writeFileAtomic(path, "old");
  {
    AtomicFileWriter writer(path);
    writer.write("new contents", 12);
    EXPECT_TRUE(fs::exists(writer.tempPath()));
    EXPECT_EQ(fs::path(writer.tempPath()).parent_path(),
              fs::path(path).parent_path());
  }
  EXPECT_EQ(readBytes(path), (std::vector<uint8_t>{'o', 'l', 'd'}));
  EXPECT_EQ(dirEntries(), std::set<std::string>{"model.state"});
}

//===----------------------------------------------------------------------===//
// Damaged files
//===----------------------------------------------------------------------===//

TEST_F(StateFileTest, EmptyFile) {
  writeBytes(path, {});
  EXPECT_TRUE(readFails({path, "empty file"}));
}

TEST_F(StateFileTest, MissingFile) {
  EXPECT_TRUE(readFails({path, "cannot open", "No such file"}));
}

TEST_F(StateFileTest, Directory) {
  fs::create_directory(path);
  EXPECT_TRUE(readFails({path, "not a regular file"}));
}

TEST_F(StateFileTest, TruncatedAtEveryLength) {
  std::vector<uint8_t> bytes = writeSample();
  for (size_t length = 0; length < bytes.size(); ++length) {
    writeBytes(path,
               std::vector<uint8_t>(bytes.begin(), bytes.begin() + length));
    EXPECT_TRUE(readFails({path})) << "truncated to " << length << " bytes";
  }
}

TEST_F(StateFileTest, TruncatedMessagesNameThePlace) {
  std::vector<HostTensor> tensors = sampleTensors();
  std::vector<uint8_t> bytes = writeSample();
  std::vector<RecordLayout> layout = layoutOf(tensors, kMetadata.size());
  auto truncate = [&](size_t length) {
    writeBytes(path,
               std::vector<uint8_t>(bytes.begin(), bytes.begin() + length));
  };

  truncate(5);
  EXPECT_TRUE(readFails({path, "too short"}));
  truncate(10); // inside the version
  EXPECT_TRUE(readFails({path, "truncated", "header version"}));
  truncate(20); // inside the manifest hash
  EXPECT_TRUE(
      readFails({path, "truncated", "header manifest hash", "offset 16"}));
  truncate(kStateFileHeaderSize + 3); // inside the metadata
  EXPECT_TRUE(readFails({path, "truncated", "metadata"}));
  truncate(layout[0].name + 2);
  EXPECT_TRUE(readFails({path, "truncated", "tensor[0] name"}));
  truncate(layout[0].dims + 12);
  EXPECT_TRUE(
      readFails({path, "truncated", "tensor[0] 'stem.conv.weight' dims"}));
  truncate(layout[1].data + 10); // inside the i8 tensor's data
  EXPECT_TRUE(readFails({path, "truncated", "tensor[1] 'stem.conv.codes' data",
                         "needs 35 bytes", "only 10 left"}));
  truncate(layout.back().end); // everything but the trailer
  EXPECT_TRUE(readFails({path, "truncated", "trailer"}));
  truncate(bytes.size() - 1); // inside the trailer
  EXPECT_TRUE(readFails({path, "truncated", "trailer"}));
}

TEST_F(StateFileTest, FlippedByteAnywhereIsRejected) {
  // The trailer CRC covers every byte, so no single flip can go unnoticed.
  std::vector<uint8_t> bytes = writeSample();
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::vector<uint8_t> damaged = bytes;
    damaged[at] ^= 0x10;
    writeBytes(path, damaged);
    EXPECT_TRUE(readFails({path})) << "byte " << at << " flipped";
  }
}

TEST_F(StateFileTest, FlippedDataByteFailsTheTensorChecksum) {
  std::vector<uint8_t> bytes = writeSample();
  std::vector<RecordLayout> layout =
      layoutOf(sampleTensors(), kMetadata.size());
  bytes[layout[0].data + 17] ^= 0x01;
  writeBytes(path, bytes);
  EXPECT_TRUE(readFails(
      {path, "tensor[0] 'stem.conv.weight'", "data checksum mismatch"}));
}

TEST_F(StateFileTest, FlippedHeaderByteFailsTheTrailerChecksum) {
  std::vector<uint8_t> bytes = writeSample();
  bytes[18] ^= 0x40; // inside the manifest hash
  writeBytes(path, bytes);
  EXPECT_TRUE(readFails({path, "trailer", "checksum mismatch"}));
}

TEST_F(StateFileTest, FlippedTrailer) {
  std::vector<uint8_t> bytes = writeSample();
  bytes.back() ^= 0xff;
  writeBytes(path, bytes);
  EXPECT_TRUE(readFails({path, "trailer", "checksum mismatch"}));
}

TEST_F(StateFileTest, CorruptLengthsAreCappedByTheFileSize) {
  // Huge lengths must be refused before anything that large is allocated.
  std::vector<uint8_t> bytes = writeSample();
  std::vector<RecordLayout> layout =
      layoutOf(sampleTensors(), kMetadata.size());
  auto withU32 = [&](size_t at, uint32_t value) {
    std::vector<uint8_t> damaged = bytes;
    putU32(damaged, at, value);
    writeBytes(path, damaged);
  };

  withU32(28, 0xfffffff0u); // metadata size
  EXPECT_TRUE(readFails({path, "metadata", "needs 4294967280 bytes"}));
  withU32(layout[1].nameLength, 0x7fffffffu);
  EXPECT_TRUE(readFails({path, "tensor[1] name", "needs 2147483647 bytes"}));
  withU32(layout[2].rank, 0xffffffffu);
  EXPECT_TRUE(readFails({path, "tensor[2] 'bn.count' dims (rank 4294967295)"}));
  withU32(layout[0].nameLength, 0);
  EXPECT_TRUE(readFails({path, "tensor[0]", "empty name"}));

  // A byte size that disagrees with the dims.
  std::vector<uint8_t> damaged = bytes;
  damaged[layout[1].byteSize + 5] ^= 0x80;
  writeBytes(path, damaged);
  EXPECT_TRUE(readFails({path, "tensor[1] 'stem.conv.codes'", "byte size",
                         "does not match i8[5,7] (35 bytes)"}));

  // Dims whose product overflows.
  damaged = bytes;
  for (size_t i = 0; i < 8; ++i)
    damaged[layout[0].dims + i] = i == 7 ? 0x7f : 0xff;
  writeBytes(path, damaged);
  EXPECT_TRUE(readFails({path, "tensor[0] 'stem.conv.weight'", "overflows"}));

  // More tensors than the file holds: the trailer is read as a name length.
  withU32(24, 6);
  EXPECT_TRUE(readFails({path, "truncated", "tensor[5]"}));
  // Fewer: bytes are left over before the trailer.
  withU32(24, 4);
  EXPECT_TRUE(
      readFails({path, "unexpected bytes after the last of 4 tensors"}));
}

TEST_F(StateFileTest, WrongMagicVersionAndFlags) {
  std::vector<uint8_t> bytes = writeSample();
  std::vector<uint8_t> damaged = bytes;
  damaged[2] = 'X';
  writeBytes(path, damaged);
  EXPECT_TRUE(readFails({path, "not a DQ state file", "bad magic"}));

  damaged = bytes;
  putU32(damaged, 8, 2);
  fixTrailer(damaged);
  writeBytes(path, damaged);
  EXPECT_TRUE(readFails({path, "unsupported state file version 2"}));

  damaged = bytes;
  putU32(damaged, 12, 4);
  fixTrailer(damaged);
  writeBytes(path, damaged);
  EXPECT_TRUE(readFails({path, "flags 0x00000004"}));
}

TEST_F(StateFileTest, UnknownDTypeCode) {
  std::vector<uint8_t> bytes = writeSample();
  std::vector<RecordLayout> layout =
      layoutOf(sampleTensors(), kMetadata.size());
  putU32(bytes, layout[2].dtype, 9);
  writeBytes(path, bytes);
  EXPECT_TRUE(
      readFails({path, "tensor[2] 'bn.count'", "unknown dtype code 9"}));
}

TEST_F(StateFileTest, DuplicateTensorInFile) {
  // The writer refuses duplicates, so rename "abce" to "abcd" by hand.
  std::vector<HostTensor> pair = {makeTensor("abcd", DType::I8, {2}),
                                  makeTensor("abce", DType::I8, {2})};
  writeStateFile(path, kHash, pair, "{}");
  std::vector<uint8_t> bytes = readBytes(path);
  bytes[layoutOf(pair, 2)[1].name + 3] = 'd';
  fixTrailer(bytes);
  writeBytes(path, bytes);
  EXPECT_TRUE(
      readFails({path, "tensor[1] 'abcd'", "duplicate name (also tensor[0])"}));
}

TEST_F(StateFileTest, MetadataThatIsNotAnObject) {
  // Checksums intact, so only the metadata check can catch these.
  writeStateFile(path, kHash, {}, R"({"a":1})");
  std::vector<uint8_t> bytes = readBytes(path);
  std::string array = "[1,2,3]";
  std::copy(array.begin(), array.end(), bytes.begin() + kStateFileHeaderSize);
  fixTrailer(bytes);
  writeBytes(path, bytes);
  EXPECT_TRUE(readFails(
      {path, "metadata", "expected a JSON object, got a JSON array"}));

  bytes[kStateFileHeaderSize] = '{';
  fixTrailer(bytes);
  writeBytes(path, bytes);
  EXPECT_TRUE(readFails({path, "metadata", "not valid JSON"}));
}

TEST_F(StateFileTest, TrailingGarbage) {
  std::vector<uint8_t> bytes = writeSample();
  bytes.insert(bytes.end(), {1, 2, 3, 4, 5});
  writeBytes(path, bytes);
  EXPECT_TRUE(readFails({path, "5 unexpected bytes"}));
}

TEST_F(StateFileTest, RandomBytes) {
  std::mt19937 random(1234);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<uint8_t> bytes(random() % 512);
    for (uint8_t &byte : bytes)
      byte = static_cast<uint8_t>(random());
    // Half the trials get a valid header start, to reach the later checks.
    if (trial % 2 && bytes.size() >= 16) {
      std::copy(kStateFileMagic, kStateFileMagic + 8, bytes.begin());
      putU32(bytes, 8, kStateFileVersion);
      putU32(bytes, 12, 0);
    }
    writeBytes(path, bytes);
    EXPECT_TRUE(readFails({path})) << "trial " << trial;
  }
}

//===----------------------------------------------------------------------===//
// Mismatch with the manifest
//===----------------------------------------------------------------------===//

TEST_F(StateFileTest, ManifestHashMismatch) {
  writeStateFile(path, kHash ^ 1, sampleTensors(), "{}");
  EXPECT_TRUE(failsWith([&] { readStateFileFor(path, sampleManifest()); },
                        {path, "manifest hash fnv1a64:0123456789abcdee",
                         "model's fnv1a64:0123456789abcdef"}));
}

TEST_F(StateFileTest, MissingAndExtraTensors) {
  Manifest manifest = sampleManifest();
  std::vector<HostTensor> tensors = sampleTensors();
  tensors.erase(tensors.begin() + 2);
  writeStateFile(path, kHash, tensors, "{}");
  EXPECT_TRUE(failsWith([&] { readStateFileFor(path, manifest); },
                        {path, "missing tensor 'bn.count'"}));

  tensors = sampleTensors();
  tensors.push_back(makeTensor("extra.weight", DType::F32, {2}));
  writeStateFile(path, kHash, tensors, "{}");
  EXPECT_TRUE(failsWith([&] { readStateFileFor(path, manifest); },
                        {path, "unexpected tensor 'extra.weight'"}));

  tensors = sampleTensors();
  std::swap(tensors[0], tensors[1]);
  writeStateFile(path, kHash, tensors, "{}");
  EXPECT_TRUE(failsWith([&] { readStateFileFor(path, manifest); },
                        {path, "tensor[0] is 'stem.conv.codes'",
                         "'stem.conv.weight'", "out of order"}));
}

TEST_F(StateFileTest, WrongShapeOrDType) {
  Manifest manifest = sampleManifest();
  std::vector<HostTensor> tensors = sampleTensors();
  tensors[0] = makeTensor("stem.conv.weight", DType::F32, {2, 3, 3, 2});
  writeStateFile(path, kHash, tensors, "{}");
  EXPECT_TRUE(failsWith([&] { readStateFileFor(path, manifest); },
                        {path, "tensor 'stem.conv.weight' is f32[2,3,3,2]",
                         "manifest says f32[2,3,3,1]"}));

  tensors = sampleTensors();
  tensors[3] = makeTensor("step", DType::I32, {});
  writeStateFile(path, kHash, tensors, "{}");
  EXPECT_TRUE(
      failsWith([&] { readStateFileFor(path, manifest); },
                {path, "tensor 'step' is i32[]", "manifest says i64[]"}));
}

//===----------------------------------------------------------------------===//
// Manifests
//===----------------------------------------------------------------------===//

const char *kSource = "model.manifest.json";

/// The sample manifest as mutable JSON.
nlohmann::json sampleJson() {
  return nlohmann::json::parse(toJson(sampleManifest()));
}

::testing::AssertionResult
manifestFails(const nlohmann::json &json,
              std::initializer_list<std::string> parts) {
  std::string text = json.dump();
  return failsWith([&] { parseManifest(text, kSource); }, parts);
}

void expectSameManifest(const Manifest &a, const Manifest &b) {
  EXPECT_EQ(a.moduleHash, b.moduleHash);
  EXPECT_EQ(a.batch, b.batch);
  EXPECT_EQ(a.imageShape, b.imageShape);
  EXPECT_EQ(a.classes, b.classes);
  ASSERT_EQ(a.state.size(), b.state.size());
  for (size_t i = 0; i < a.state.size(); ++i) {
    EXPECT_EQ(a.state[i].name, b.state[i].name);
    EXPECT_EQ(a.state[i].role, b.state[i].role);
    EXPECT_EQ(a.state[i].dtype, b.state[i].dtype);
    EXPECT_EQ(a.state[i].shape, b.state[i].shape);
  }
  ASSERT_EQ(a.entryPoints.size(), b.entryPoints.size());
  for (const auto &[name, entry] : a.entryPoints) {
    ASSERT_TRUE(b.entryPoints.count(name)) << name;
    EXPECT_EQ(entry.symbol, b.entryPoints.at(name).symbol);
    EXPECT_EQ(entry.inputs, b.entryPoints.at(name).inputs);
    EXPECT_EQ(entry.outputs, b.entryPoints.at(name).outputs);
  }
}

TEST(ManifestTest, RoundTripThroughJson) {
  Manifest manifest = sampleManifest();
  std::string text = toJson(manifest);
  Manifest parsed = parseManifest(text, kSource);
  expectSameManifest(parsed, manifest);
  EXPECT_EQ(toJson(parsed), text);
  // Documented field order and values.
  EXPECT_LT(text.find("\"format\""), text.find("\"version\""));
  EXPECT_LT(text.find("\"version\""), text.find("\"module_hash\""));
  EXPECT_NE(text.find("\"fnv1a64:0123456789abcdef\""), std::string::npos);
  EXPECT_NE(text.find("\"bytes\": 72"), std::string::npos);
  ASSERT_NE(parsed.findState("step"), nullptr);
  EXPECT_EQ(parsed.findState("step")->role, "step");
  EXPECT_EQ(parsed.findState("nope"), nullptr);
}

TEST_F(StateFileTest, ManifestFileRoundTrip) {
  std::string manifestPath = dir + "/model.manifest.json";
  Manifest manifest = sampleManifest();
  writeManifest(manifestPath, manifest);
  expectSameManifest(loadManifest(manifestPath), manifest);
  EXPECT_EQ(dirEntries(), std::set<std::string>{"model.manifest.json"});

  // A manifest the loader would refuse is never written.
  std::vector<uint8_t> before = readBytes(manifestPath);
  manifest.entryPoints.erase("predict");
  EXPECT_TRUE(failsWith([&] { writeManifest(manifestPath, manifest); },
                        {manifestPath, "entry_points.predict: missing"}));
  EXPECT_EQ(readBytes(manifestPath), before);

  EXPECT_TRUE(failsWith([&] { loadManifest(dir + "/none.json"); },
                        {"none.json", "cannot open"}));
}

TEST(ManifestTest, DocumentationExample) {
  // docs/Runtime.md's example, with its "..." filled in.
  const char *text = R"({
    "format": "dq-manifest",
    "version": 2,
    "module_hash": "fnv1a64:0123456789abcdef",
    "library": {"bytes": 15632, "hash": "fnv1a64:89abcdef01234567"},
    "batch": 128,
    "image_shape": [28, 28, 1],
    "classes": 10,
    "state": [
      {"name": "stem.conv.weight", "role": "param", "dtype": "f32",
       "shape": [16, 3, 3, 1], "bytes": 576}
    ],
    "entry_points": {
      "train_step": {"symbol": "_mlir_ciface_train_step",
                     "inputs": ["state...", "images f32[128,28,28,1]", "labels i32[128]", "lr f32", "step i64"],
                     "outputs": ["state...", "loss f32[]", "correct i32[]"]},
      "predict": {"symbol": "_mlir_ciface_predict",
                  "inputs": ["state...", "images f32[128,28,28,1]"],
                  "outputs": ["logits f32[128,10]"]},
      "init_state": {"symbol": "_mlir_ciface_init_state", "inputs": [],
                     "outputs": ["state..."]}
    }
  })";
  Manifest manifest = parseManifest(text, kSource);
  EXPECT_EQ(manifest.moduleHash, 0x0123456789abcdefULL);
  ASSERT_EQ(manifest.state.size(), 1u);
  EXPECT_EQ(manifest.state[0].bytes(), 576u);
  EXPECT_EQ(manifest.entryPoints.at("init_state").symbol,
            "_mlir_ciface_init_state");
}

TEST(ManifestTest, MalformedJson) {
  EXPECT_TRUE(failsWith(
      [] {
        parseManifest("{\"format\": \"dq-manifest\",\n  \"version\": }",
                      kSource);
      },
      {kSource, "invalid JSON", "line 2, column"}));
  EXPECT_TRUE(
      failsWith([] { parseManifest("", kSource); }, {kSource, "invalid JSON"}));
  EXPECT_TRUE(failsWith([] { parseManifest("[1, 2]", kSource); },
                        {kSource, "expected a JSON object at the top level"}));
}

TEST(ManifestTest, MissingFields) {
  for (const char *key :
       {"format", "version", "module_hash", "library", "batch", "image_shape",
        "classes", "state", "entry_points"}) {
    nlohmann::json json = sampleJson();
    json.erase(key);
    EXPECT_TRUE(
        manifestFails(json, {std::string(kSource) + ": " + key + ": missing"}));
  }
  for (const char *key : {"name", "role", "dtype", "shape", "bytes"}) {
    nlohmann::json json = sampleJson();
    json["state"][3].erase(key);
    EXPECT_TRUE(
        manifestFails(json, {std::string("state[3].") + key + ": missing"}));
  }
  for (const char *key : {"train_step", "predict", "init_state"}) {
    nlohmann::json json = sampleJson();
    json["entry_points"].erase(key);
    EXPECT_TRUE(manifestFails(
        json, {std::string("entry_points.") + key + ": missing"}));
  }
  nlohmann::json json = sampleJson();
  json["entry_points"]["predict"].erase("symbol");
  EXPECT_TRUE(manifestFails(json, {"entry_points.predict.symbol: missing"}));
}

TEST(ManifestTest, WrongTypesAndValues) {
  struct Case {
    std::function<void(nlohmann::json &)> change;
    std::vector<std::string> expected;
  };
  std::vector<Case> cases = {
      {[](auto &j) { j["format"] = "dq-model"; },
       {"format: expected \"dq-manifest\""}},
      {[](auto &j) { j["format"] = 3; },
       {"format: expected a non-empty string, got 3"}},
      {[](auto &j) { j["version"] = 3; }, {"version: unsupported version 3"}},
      {[](auto &j) { j["version"] = 1; },
       {"version: unsupported version 1 (this runtime reads version 2; the "
        "model was compiled by an older dq-compile"}},
      {[](auto &j) { j["library"]["bytes"] = 0; },
       {"library.bytes: expected an integer >= 1, got 0"}},
      {[](auto &j) { j["library"]["hash"] = "crc32:1234"; },
       {"library.hash: expected \"fnv1a64:\""}},
      {[](auto &j) { j["library"].erase("hash"); }, {"library.hash: missing"}},
      {[](auto &j) { j["version"] = 1.0; }, {"version: expected an integer"}},
      {[](auto &j) { j["module_hash"] = "fnv1a64:0123"; },
       {"module_hash: expected"}},
      {[](auto &j) { j["module_hash"] = "fnv1a64:0123456789ABCDEF"; },
       {"module_hash:"}},
      {[](auto &j) { j["batch"] = "128"; },
       {"batch: expected an integer >= 1, got \"128\""}},
      {[](auto &j) { j["batch"] = 0; },
       {"batch: expected an integer >= 1, got 0"}},
      {[](auto &j) { j["classes"] = -3; },
       {"classes: expected an integer >= 1"}},
      {[](auto &j) {
         j["image_shape"] = {28, 0, 1};
       },
       {"image_shape: expected an array of positive integers"}},
      {[](auto &j) { j["image_shape"] = nlohmann::json::array(); },
       {"image_shape: expected a non-empty array"}},
      {[](auto &j) { j["state"] = nlohmann::json::object(); },
       {"state: expected an array, got an object"}},
      {[](auto &j) { j["state"][1] = 5; }, {"state[1]: expected an object"}},
      {[](auto &j) { j["state"][3]["shape"] = "abc"; },
       {"state[3].shape: expected an array of non-negative integers"}},
      {[](auto &j) {
         j["state"][0]["shape"] = {2, -1};
       },
       {"state[0].shape: expected an array of non-negative integers, got -1 at "
        "index 1"}},
      {[](auto &j) {
         j["state"][0]["shape"] = {2, 1.5};
       },
       {"state[0].shape: expected an array of non-negative integers, got 1.5"}},
      {[](auto &j) {
         j["state"][0]["shape"] = {int64_t(1) << 62, 4};
       },
       {"state[0].shape: tensor size overflows"}},
      {[](auto &j) { j["state"][2]["dtype"] = "f16"; },
       {"state[2].dtype: expected \"f32\", \"i8\", \"i32\" or \"i64\", got "
        "\"f16\""}},
      {[](auto &j) { j["state"][2]["name"] = ""; },
       {"state[2].name: expected a non-empty string"}},
      {[](auto &j) { j["state"][2]["role"] = nullptr; },
       {"state[2].role: expected a non-empty string, got null"}},
      {[](auto &j) { j["state"][1]["bytes"] = 36; },
       {"state[1].bytes: 36 does not match i8[5,7] (35 bytes)"}},
      {[](auto &j) { j["state"][1]["bytes"] = -35; },
       {"state[1].bytes: expected an integer >= 0"}},
      {[](auto &j) { j["state"][4]["name"] = "bn.count"; },
       {"state[4].name: duplicate name \"bn.count\" (also state[2])"}},
      {[](auto &j) { j["entry_points"] = nlohmann::json::array(); },
       {"entry_points: expected an object, got an array"}},
      {[](auto &j) { j["entry_points"]["predict"] = "x"; },
       {"entry_points.predict: expected an object"}},
      {[](auto &j) { j["entry_points"]["train_step"]["inputs"][1] = 7; },
       {"entry_points.train_step.inputs[1]: expected a string, got 7"}},
      {[](auto &j) { j["entry_points"]["init_state"]["outputs"] = "state..."; },
       {"entry_points.init_state.outputs: expected an array of strings"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    nlohmann::json json = sampleJson();
    cases[i].change(json);
    std::string text = json.dump();
    ::testing::AssertionResult result =
        failsWith([&] { parseManifest(text, kSource); }, {kSource});
    EXPECT_TRUE(result) << "case " << i;
    for (const std::string &part : cases[i].expected)
      EXPECT_TRUE(failsWith([&] { parseManifest(text, kSource); },
                            {std::string(kSource) + ": " + part}))
          << "case " << i;
  }
}

/// The sample manifest as an inference model's: predict only, no state.
Manifest sampleInferenceManifest() {
  Manifest manifest = sampleManifest();
  manifest.kind = kInferenceKind;
  manifest.state.clear();
  manifest.entryPoints.erase("train_step");
  manifest.entryPoints.erase("init_state");
  manifest.entryPoints["predict"] = {"dq_predict",
                                     {"arg0 f32[128,28,28,1]"},
                                     {"result0 f32[128,10]"}};
  return manifest;
}

TEST(ManifestTest, Kind) {
  // Written after the version; absent (manifests from before it) means
  // training.
  std::string text = toJson(sampleManifest());
  EXPECT_LT(text.find("\"version\""), text.find("\"kind\": \"training\""));
  EXPECT_LT(text.find("\"kind\""), text.find("\"module_hash\""));
  nlohmann::json json = sampleJson();
  json.erase("kind");
  EXPECT_EQ(parseManifest(json.dump(), kSource).kind, kTrainingKind);
  EXPECT_FALSE(parseManifest(json.dump(), kSource).isInference());

  Manifest inference = sampleInferenceManifest();
  std::string inferenceText = toJson(inference);
  Manifest parsed = parseManifest(inferenceText, kSource);
  EXPECT_TRUE(parsed.isInference());
  expectSameManifest(parsed, inference);
  EXPECT_EQ(toJson(parsed), inferenceText);
  EXPECT_EQ(requiredEntryPoints(kInferenceKind),
            std::vector<std::string>{"predict"});
  EXPECT_EQ(requiredEntryPoints(kTrainingKind).size(), 3u);
  EXPECT_TRUE(failsWith([] { requiredEntryPoints("serving"); },
                        {"unknown model kind \"serving\""}));

  nlohmann::json withState = nlohmann::json::parse(inferenceText);
  withState["state"] = sampleJson()["state"];
  EXPECT_TRUE(manifestFails(
      withState, {"state: an inference model has no state tensors, the "
                  "manifest lists 5"}));
  nlohmann::json noPredict = nlohmann::json::parse(inferenceText);
  noPredict["entry_points"].erase("predict");
  EXPECT_TRUE(manifestFails(
      noPredict,
      {"entry_points.predict: missing (an inference model has predict)"}));
  // An inference manifest relabelled "training" lacks training's entry points.
  nlohmann::json relabelled = nlohmann::json::parse(inferenceText);
  relabelled["kind"] = "training";
  EXPECT_TRUE(manifestFails(relabelled,
                            {"entry_points.train_step: missing (a training "
                             "model has train_step, predict and init_state)"}));
  nlohmann::json unknown = sampleJson();
  unknown["kind"] = "serving";
  EXPECT_TRUE(manifestFails(
      unknown, {"kind: expected \"training\", \"inference\" or "
                "\"kernels\", got \"serving\""}));
  unknown["kind"] = 2;
  EXPECT_TRUE(manifestFails(unknown, {"kind: expected a non-empty string"}));
  // Other entry points of an inference manifest are allowed and ignored.
  Manifest extra = sampleInferenceManifest();
  extra.entryPoints["train_step"] = extra.entryPoints["predict"];
  EXPECT_TRUE(parseManifest(toJson(extra), kSource).isInference());
}

TEST(ManifestTest, ModelSignatureCoversTheKind) {
  // A training signature has no kind: what libraries compiled before the
  // kind existed embed.
  Manifest training = sampleManifest();
  std::string trainingSignature = modelSignature(training);
  EXPECT_EQ(trainingSignature.find("\"kind\""), std::string::npos);
  Manifest inference = sampleInferenceManifest();
  std::string inferenceSignature = modelSignature(inference);
  EXPECT_NE(inferenceSignature.find("\"kind\":\"inference\""),
            std::string::npos);
  EXPECT_EQ(compareModelSignature(inferenceSignature, inference), "");

  // A training library behind an inference manifest and the reverse: the
  // kind is named first.
  Manifest posing = training;
  posing.kind = kInferenceKind;
  posing.state.clear();
  EXPECT_EQ(compareModelSignature(trainingSignature, posing),
            "kind: the library was compiled for \"training\", the manifest "
            "says \"inference\"");
  Manifest dressed = inference;
  dressed.kind = kTrainingKind;
  EXPECT_EQ(compareModelSignature(inferenceSignature, dressed),
            "kind: the library was compiled for \"inference\", the manifest "
            "says \"training\"");
}

TEST(ManifestTest, ModelSignatureNamesTheFirstDifference) {
  Manifest manifest = sampleManifest();
  std::string signature = modelSignature(manifest);
  EXPECT_EQ(compareModelSignature(signature, manifest), "");
  // The library facts are not part of the contract.
  Manifest rebuilt = manifest;
  rebuilt.library = {1, 2};
  EXPECT_EQ(compareModelSignature(signature, rebuilt), "");

  struct Case {
    std::function<void(Manifest &)> change;
    std::string expected;
  };
  std::vector<Case> cases = {
      {[](Manifest &m) { m.batch = 64; },
       "batch: the library was compiled for 128, the manifest says 64"},
      {[](Manifest &m) { m.moduleHash ^= 1; }, "module_hash: the library"},
      {[](Manifest &m) { m.imageShape = {32, 32, 3}; },
       "image_shape: the library was compiled for [28,28,1]"},
      {[](Manifest &m) { m.classes = 100; }, "classes:"},
      {[](Manifest &m) { m.device = "cuda"; },
       "device: the library was compiled for \"cpu\""},
      {[](Manifest &m) { m.state.pop_back(); },
       "state: the library was compiled for 5 state tensors, the manifest "
       "lists 4"},
      {[](Manifest &m) { m.state[1].shape = {7, 5}; }, "state[1]:"},
      {[](Manifest &m) { m.state[0].role = "latent"; }, "state[0]:"},
      {[](Manifest &m) {
         std::swap(m.entryPoints["train_step"].symbol,
                   m.entryPoints["predict"].symbol);
       },
       "entry_points.predict: the library's symbol is "
       "\"_mlir_ciface_predict\", the manifest says "
       "\"_mlir_ciface_train_step\""},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Manifest changed = manifest;
    cases[i].change(changed);
    std::string difference = compareModelSignature(signature, changed);
    EXPECT_NE(difference.find(cases[i].expected), std::string::npos)
        << "case " << i << ": " << difference;
  }
  EXPECT_NE(compareModelSignature("not json", manifest).find("not one"),
            std::string::npos);
}

TEST_F(StateFileTest, LibraryFactsHashTheBytes) {
  writeBytes(path, {1, 2, 3});
  LibraryFacts facts = libraryFactsOf(path);
  uint8_t bytes[] = {1, 2, 3};
  EXPECT_EQ(facts.bytes, 3u);
  EXPECT_EQ(facts.hash, fnv1a64(bytes, 3));
  // Streaming gives the one-shot hash.
  EXPECT_EQ(fnv1a64(bytes + 1, 2, fnv1a64(bytes, 1)), fnv1a64(bytes, 3));
  EXPECT_TRUE(failsWith([&] { libraryFactsOf(dir + "/none.so"); },
                        {"none.so", "cannot open"}));
}

TEST(ManifestTest, ExtraEntryPointsAndFieldsAreAccepted) {
  nlohmann::json json = sampleJson();
  json["entry_points"]["evaluate"] = {{"symbol", "_mlir_ciface_evaluate"},
                                      {"inputs", {"state..."}},
                                      {"outputs", {"loss f32[]"}}};
  json["comment"] = "tools may add fields";
  Manifest manifest = parseManifest(json.dump(), kSource);
  EXPECT_EQ(manifest.entryPoints.at("evaluate").symbol,
            "_mlir_ciface_evaluate");
}

} // namespace

TEST(ManifestTest, KernelEntryValuesRoundTripAndRejectOtherText) {
  for (const char *text :
       {"arg0 f32[2,3]", "arg1 f32", "result0 i64[]", "x i8[0,4]"}) {
    std::optional<EntryValue> value = parseEntryValue(text);
    ASSERT_TRUE(value) << text;
    EXPECT_EQ(formatEntryValue(*value), text);
  }
  EXPECT_TRUE(parseEntryValue("arg1 f32")->scalar);
  EXPECT_FALSE(parseEntryValue("arg0 f32[]")->scalar);
  for (const char *text :
       {"", "arg0", "arg0 f64[2]", "arg0 f32[2", "arg0 f32[-1]", "arg0 f32[,]",
        "arg0 f32[2,]", "a b f32", " f32", "arg0 f32[99999999999999999999]",
        "arg0 f32[4611686018427387904,4]"})
    EXPECT_FALSE(parseEntryValue(text)) << text;
}
