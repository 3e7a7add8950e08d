// State files and checkpoints (docs/Runtime.md), and atomic file writing.
#include "dq/runtime/StateFile.h"

#include "dq/runtime/Error.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

// Tensor data is stored in host byte order; the format is little-endian.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the DQ runtime assumes a little-endian host"
#endif

namespace dq {
namespace runtime {

uint32_t crc32Ieee(const void *data, size_t size, uint32_t crc) {
  // zlib takes uInt lengths; feed large buffers in pieces.
  const auto *bytes = static_cast<const Bytef *>(data);
  while (size > 0) {
    uInt piece = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = static_cast<uint32_t>(::crc32(crc, bytes, piece));
    bytes += piece;
    size -= piece;
  }
  return crc;
}

namespace {
std::string errnoText(int error) { return std::strerror(error); }
} // namespace

//===----------------------------------------------------------------------===//
// Writing state files
//===----------------------------------------------------------------------===//

namespace {

void appendU32(std::vector<uint8_t> &out, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void appendU64(std::vector<uint8_t> &out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

uint32_t decodeU32(const uint8_t *bytes) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i)
    value = value << 8 | bytes[i];
  return value;
}

uint64_t decodeU64(const uint8_t *bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = value << 8 | bytes[i];
  return value;
}

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08" PRIx32, value);
  return text;
}

/// Empty when `text` is a JSON object, else what is wrong with it.
std::string checkMetadataJson(const std::string &text) {
  nlohmann::json value =
      nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded())
    return "not valid JSON";
  if (!value.is_object())
    return std::string("expected a JSON object, got a JSON ") +
           value.type_name();
  return "";
}

} // namespace

void writeStateFile(const std::string &path, uint64_t manifestHash,
                    const std::vector<HostTensor> &tensors,
                    const std::string &metadataJson) {
  // Check everything before creating the temporary file, so bad arguments
  // leave no trace on disk.
  constexpr uint64_t maxU32 = std::numeric_limits<uint32_t>::max();
  std::string problem = checkMetadataJson(metadataJson);
  if (!problem.empty())
    throw Error(path + ": metadata: " + problem);
  if (metadataJson.size() > maxU32)
    throw Error(path + ": metadata: larger than 4 GiB");
  if (tensors.size() > maxU32)
    throw Error(path + ": too many tensors");
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorSpec &spec = tensors[i].spec;
    std::string what =
        path + ": tensor[" + std::to_string(i) + "] '" + spec.name + "'";
    if (spec.name.empty() || spec.name.size() > maxU32)
      throw Error(what + ": name must be 1 byte to 4 GiB long");
    if (!seen.emplace(spec.name, i).second)
      throw Error(what + ": duplicate name (also tensor[" +
                  std::to_string(seen[spec.name]) + "])");
    if (spec.shape.size() > maxU32)
      throw Error(what + ": rank too large");
    std::optional<uint64_t> bytes = checkedByteSize(spec.dtype, spec.shape);
    if (!bytes)
      throw Error(what + ": invalid shape " + shapeString(spec.shape));
    if (tensors[i].data.size() != *bytes)
      throw Error(what + ": holds " + std::to_string(tensors[i].data.size()) +
                  " bytes, but " + spec.typeString() + " needs " +
                  std::to_string(*bytes));
  }

  AtomicFileWriter out(path);
  uint32_t crc = 0; // of everything before the trailer
  auto emit = [&](const void *data, size_t size) {
    out.write(data, size);
    crc = crc32Ieee(data, size, crc);
  };

  std::vector<uint8_t> header(kStateFileMagic,
                              kStateFileMagic + sizeof(kStateFileMagic));
  appendU32(header, kStateFileVersion);
  appendU32(header, 0); // flags
  appendU64(header, manifestHash);
  appendU32(header, static_cast<uint32_t>(tensors.size()));
  appendU32(header, static_cast<uint32_t>(metadataJson.size()));
  emit(header.data(), header.size());
  emit(metadataJson.data(), metadataJson.size());

  for (const HostTensor &tensor : tensors) {
    const TensorSpec &spec = tensor.spec;
    std::vector<uint8_t> record;
    appendU32(record, static_cast<uint32_t>(spec.name.size()));
    record.insert(record.end(), spec.name.begin(), spec.name.end());
    appendU32(record, static_cast<uint32_t>(spec.dtype));
    appendU32(record, static_cast<uint32_t>(spec.shape.size()));
    for (int64_t dim : spec.shape)
      appendU64(record, static_cast<uint64_t>(dim));
    appendU64(record, tensor.data.size());
    appendU32(record, crc32Ieee(tensor.data.data(), tensor.data.size()));
    emit(record.data(), record.size());
    emit(tensor.data.data(), tensor.data.size());
  }

  std::vector<uint8_t> trailer;
  appendU32(trailer, crc);
  out.write(trailer.data(), trailer.size());
  out.commit();
}

//===----------------------------------------------------------------------===//
// Reading state files
//===----------------------------------------------------------------------===//

namespace {

/// Sequential reads from a state file that never go past its end (so corrupt
/// lengths cannot cause huge allocations) and keep the CRC of all bytes read.
class StateFileReader {
public:
  explicit StateFileReader(const std::string &path)
      : path_(path), file_(std::fopen(path.c_str(), "rb")) {
    if (!file_)
      fail("cannot open: " + errnoText(errno));
    struct stat info;
    if (::fstat(::fileno(file_.get()), &info) != 0)
      fail("cannot stat: " + errnoText(errno));
    if (!S_ISREG(info.st_mode))
      fail("not a regular file");
    size_ = static_cast<uint64_t>(info.st_size);
  }

  [[noreturn]] void fail(const std::string &what) const {
    throw Error(path_ + ": " + what);
  }

  uint64_t size() const { return size_; }
  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return size_ - offset_; }
  uint32_t crc() const { return crc_; }

  /// Throws unless `size` more bytes are left; call before allocating.
  void require(uint64_t size, const std::string &what) const {
    if (size > remaining())
      fail("truncated or corrupt: " + what + " needs " + std::to_string(size) +
           " bytes at offset " + std::to_string(offset_) + ", only " +
           std::to_string(remaining()) + " left");
  }

  void read(void *data, size_t size, const std::string &what) {
    require(size, what);
    if (size && std::fread(data, 1, size, file_.get()) != size)
      fail("cannot read " + what + " at offset " + std::to_string(offset_) +
           (std::ferror(file_.get()) ? ": " + errnoText(errno)
                                     : ": file shrank"));
    crc_ = crc32Ieee(data, size, crc_);
    offset_ += size;
  }

  uint32_t u32(const std::string &what) {
    uint8_t bytes[4];
    read(bytes, sizeof(bytes), what);
    return decodeU32(bytes);
  }

  uint64_t u64(const std::string &what) {
    uint8_t bytes[8];
    read(bytes, sizeof(bytes), what);
    return decodeU64(bytes);
  }

private:
  std::string path_;
  struct FileCloser {
    void operator()(std::FILE *file) const { std::fclose(file); }
  };
  std::unique_ptr<std::FILE, FileCloser> file_;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
  uint32_t crc_ = 0;
};

/// Smallest tensor record: name length, a 1-byte name, dtype, rank, byte
/// size and CRC, no dims and no data.
constexpr uint64_t kMinTensorRecord = 4 + 1 + 4 + 4 + 8 + 4;

} // namespace

StateFileContents readStateFile(const std::string &path) {
  StateFileReader in(path);
  if (in.size() == 0)
    in.fail("empty file, not a DQ state file");

  char magic[sizeof(kStateFileMagic)];
  if (in.size() < sizeof(magic))
    in.fail("not a DQ state file (too short for the magic number)");
  in.read(magic, sizeof(magic), "magic");
  if (std::memcmp(magic, kStateFileMagic, sizeof(magic)))
    in.fail("not a DQ state file (bad magic number)");
  uint32_t version = in.u32("header version");
  if (version != kStateFileVersion)
    in.fail("unsupported state file version " + std::to_string(version) +
            " (this runtime reads version " +
            std::to_string(kStateFileVersion) + ")");
  uint32_t flags = in.u32("header flags");
  if (flags != 0)
    in.fail("unsupported header flags " + hex32(flags) + " (expected 0)");

  StateFileContents contents;
  contents.manifestHash = in.u64("header manifest hash");
  uint32_t count = in.u32("header tensor count");
  uint32_t metadataBytes = in.u32("header metadata size");

  in.require(metadataBytes, "metadata");
  contents.metadataJson.resize(metadataBytes);
  in.read(contents.metadataJson.data(), metadataBytes, "metadata");

  // Reserve only what the rest of the file could hold: the count is not yet
  // known to be intact.
  contents.tensors.reserve(
      std::min<uint64_t>(count, in.remaining() / kMinTensorRecord));
  std::map<std::string, size_t> seen;
  for (uint32_t i = 0; i < count; ++i) {
    std::string where = "tensor[" + std::to_string(i) + "]";
    uint32_t nameLength = in.u32(where + " name length");
    if (nameLength == 0)
      in.fail(where + ": empty name");
    in.require(nameLength, where + " name");
    TensorSpec spec;
    spec.name.resize(nameLength);
    in.read(spec.name.data(), nameLength, where + " name");
    where += " '" + spec.name + "'";
    auto [previous, fresh] = seen.emplace(spec.name, i);
    if (!fresh)
      in.fail(where + ": duplicate name (also tensor[" +
              std::to_string(previous->second) + "])");

    uint32_t code = in.u32(where + " dtype");
    std::optional<DType> dtype = dtypeFromCode(code);
    if (!dtype)
      in.fail(where + ": unknown dtype code " + std::to_string(code));
    spec.dtype = *dtype;

    uint32_t rank = in.u32(where + " rank");
    in.require(uint64_t(rank) * 8,
               where + " dims (rank " + std::to_string(rank) + ")");
    spec.shape.reserve(rank);
    for (uint32_t d = 0; d < rank; ++d) {
      uint64_t dim = in.u64(where + " dims");
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        in.fail(where + ": dimension " + std::to_string(d) + " is " +
                std::to_string(dim) + ", too large");
      spec.shape.push_back(static_cast<int64_t>(dim));
    }
    std::optional<uint64_t> expected = checkedByteSize(spec.dtype, spec.shape);
    if (!expected)
      in.fail(where + ": size of " + spec.typeString() + " overflows 64 bits");

    uint64_t bytes = in.u64(where + " byte size");
    if (bytes != *expected)
      in.fail(where + ": byte size " + std::to_string(bytes) +
              " does not match " + spec.typeString() + " (" +
              std::to_string(*expected) + " bytes)");
    uint32_t storedCrc = in.u32(where + " checksum");
    in.require(bytes, where + " data");

    HostTensor tensor(std::move(spec));
    in.read(tensor.data.data(), tensor.data.size(), where + " data");
    uint32_t actualCrc = crc32Ieee(tensor.data.data(), tensor.data.size());
    if (actualCrc != storedCrc)
      in.fail(where + ": data checksum mismatch (stored " + hex32(storedCrc) +
              ", computed " + hex32(actualCrc) + ")");
    contents.tensors.push_back(std::move(tensor));
  }

  if (in.remaining() > 4)
    in.fail("corrupt: " + std::to_string(in.remaining() - 4) +
            " unexpected bytes after the last of " + std::to_string(count) +
            " tensors, before the trailer");
  uint32_t computed = in.crc();
  uint32_t stored = in.u32("trailer checksum");
  if (stored != computed)
    in.fail("file checksum mismatch in the trailer (stored " + hex32(stored) +
            ", computed " + hex32(computed) + ")");

  // Interpreted only now that the checksum vouches for the bytes.
  std::string problem = checkMetadataJson(contents.metadataJson);
  if (!problem.empty())
    in.fail("metadata: " + problem);
  return contents;
}

namespace {

/// "'a', 'b', 'c' and 2 more".
std::string listNames(const std::vector<std::string> &names) {
  std::string text;
  size_t shown = std::min<size_t>(names.size(), 5);
  for (size_t i = 0; i < shown; ++i)
    text += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > shown)
    text += " and " + std::to_string(names.size() - shown) + " more";
  return text;
}

} // namespace

void checkManifestHash(const std::string &path, uint64_t fileHash,
                       const Manifest &manifest, const std::string &kind) {
  if (fileHash != manifest.moduleHash)
    throw Error(path + ": manifest hash " + formatModuleHash(fileHash) +
                " does not match the model's " +
                formatModuleHash(manifest.moduleHash) + " (the " + kind +
                " belongs to another compiled model)");
}

std::vector<HostTensor> readStateFileFor(const std::string &path,
                                         const Manifest &manifest,
                                         std::string *metadataJson,
                                         bool allowInvalidValues) {
  std::vector<HostTensor> state =
      stateForManifest(readStateFile(path), path, manifest, metadataJson);
  checkStateValues(state, manifest, path, allowInvalidValues);
  return state;
}

std::vector<HostTensor> stateForManifest(StateFileContents contents,
                                         const std::string &path,
                                         const Manifest &manifest,
                                         std::string *metadataJson) {
  checkManifestHash(path, contents.manifestHash, manifest, "state file");

  std::vector<HostTensor> &tensors = contents.tensors;
  std::map<std::string, size_t> inFile;
  for (size_t i = 0; i < tensors.size(); ++i)
    inFile.emplace(tensors[i].spec.name, i);
  std::vector<std::string> missing, extra;
  for (const TensorSpec &spec : manifest.state)
    if (!inFile.count(spec.name))
      missing.push_back(spec.name);
  for (const HostTensor &tensor : tensors)
    if (!manifest.findState(tensor.spec.name))
      extra.push_back(tensor.spec.name);
  if (!missing.empty())
    throw Error(path + ": missing tensor" + (missing.size() > 1 ? "s " : " ") +
                listNames(missing) + " of the manifest");
  if (!extra.empty())
    throw Error(path + ": unexpected tensor" + (extra.size() > 1 ? "s " : " ") +
                listNames(extra) + ", not in the manifest");

  // Same names and no duplicates in the file: only a manifest built in code
  // with duplicate names can still differ in count.
  if (tensors.size() != manifest.state.size())
    throw Error(path + ": " + std::to_string(tensors.size()) +
                " tensors, but the manifest has " +
                std::to_string(manifest.state.size()));
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorSpec &want = manifest.state[i];
    TensorSpec &have = tensors[i].spec;
    if (have.name != want.name)
      throw Error(path + ": tensor[" + std::to_string(i) + "] is '" +
                  have.name + "', but the manifest has '" + want.name +
                  "' there (tensors out of order)");
    if (have.dtype != want.dtype || have.shape != want.shape)
      throw Error(path + ": tensor '" + have.name + "' is " +
                  have.typeString() + ", but the manifest says " +
                  want.typeString());
    have.role = want.role;
  }
  if (metadataJson)
    *metadataJson = std::move(contents.metadataJson);
  return std::move(tensors);
}

} // namespace runtime
} // namespace dq
