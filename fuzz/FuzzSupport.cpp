//===- FuzzSupport.cpp - shared helpers of the dq fuzz targets ------------===//

#include "FuzzSupport.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unistd.h>
#include <zlib.h>

// Weak: dq-fuzz-seeds links this file without libFuzzer.
extern "C" __attribute__((weak)) size_t LLVMFuzzerMutate(uint8_t *data,
                                                        size_t size,
                                                        size_t maxSize);

namespace dq::fuzz {

namespace {

std::string tempDir() {
  if (const char *dir = std::getenv("DQ_FUZZ_TMPDIR"); dir && *dir)
    return dir;
  if (access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  if (const char *dir = std::getenv("TMPDIR"); dir && *dir)
    return dir;
  return "/tmp";
}

struct TempFiles {
  std::map<std::string, std::string> paths;
  ~TempFiles() {
    for (auto &entry : paths)
      std::remove(entry.second.c_str());
  }
};

TempFiles &tempFiles() {
  static TempFiles files;
  return files;
}

uint32_t readU32(const uint8_t *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
         uint32_t(p[3]) << 24;
}

uint64_t readU64(const uint8_t *p) {
  return uint64_t(readU32(p)) | uint64_t(readU32(p + 4)) << 32;
}

void writeU32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t crcOf(const uint8_t *data, size_t size) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  while (size > 0) {
    uInt piece = size > (1u << 30) ? (1u << 30) : static_cast<uInt>(size);
    crc = ::crc32(crc, data, piece);
    data += piece;
    size -= piece;
  }
  return static_cast<uint32_t>(crc);
}

} // namespace

const std::string &writeTempFile(const std::string &tag, const uint8_t *data,
                                 size_t size) {
  auto &paths = tempFiles().paths;
  auto found = paths.find(tag);
  if (found == paths.end())
    found = paths
                .emplace(tag, tempDir() + "/dq-fuzz-" + tag + "-" +
                                  std::to_string(getpid()))
                .first;
  const std::string &path = found->second;
  FILE *file = std::fopen(path.c_str(), "wb");
  if (!file)
    fail("cannot create the temporary file " + path);
  if (size && std::fwrite(data, 1, size, file) != size)
    fail("cannot write the temporary file " + path);
  if (std::fclose(file) != 0)
    fail("cannot write the temporary file " + path);
  return path;
}

void fail(const std::string &what) {
  std::fprintf(stderr, "dq-fuzz: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

void rejected(const std::string &why, size_t size) {
  static const bool expectValid = std::getenv("DQ_FUZZ_EXPECT_VALID") != nullptr;
  if (expectValid && size > 0)
    fail("DQ_FUZZ_EXPECT_VALID: the input was rejected: " + why);
}

bool fixStateFileChecksums(uint8_t *data, size_t size) {
  constexpr size_t kHeader = 32;
  if (size < kHeader + 4)
    return false;
  const size_t end = size - 4; // the trailer
  uint32_t count = readU32(data + 24);
  uint64_t metadataBytes = readU32(data + 28);
  size_t pos = kHeader;
  if (metadataBytes <= end - pos) {
    pos += metadataBytes;
    for (uint32_t t = 0; t < count; ++t) {
      if (end - pos < 4)
        break;
      uint64_t nameLength = readU32(data + pos);
      pos += 4;
      if (nameLength > end - pos || end - pos - nameLength < 8)
        break;
      pos += nameLength + 4; // name, dtype
      uint64_t rank = readU32(data + pos);
      pos += 4;
      if (rank > (end - pos) / 8)
        break;
      pos += rank * 8;
      if (end - pos < 12)
        break;
      uint64_t bytes = readU64(data + pos);
      pos += 8;
      uint8_t *crcField = data + pos;
      pos += 4;
      if (bytes > end - pos)
        break;
      writeU32(crcField, crcOf(data + pos, bytes));
      pos += bytes;
    }
  }
  writeU32(data + end, crcOf(data, end));
  return true;
}

size_t mutateStateFile(uint8_t *data, size_t size, size_t maxSize,
                       unsigned seed) {
  size = LLVMFuzzerMutate(data, size, maxSize);
  // One mutation in eight keeps its (now usually wrong) checksums.
  if (seed % 8 != 0)
    fixStateFileChecksums(data, size);
  return size;
}

} // namespace dq::fuzz
