// The numpy data set reader (docs/Runtime.md, "Numpy data sets"): an .npz
// archive (a zip of .npy arrays, as np.savez and np.savez_compressed write
// it) with `images`, `labels` and optionally `classes`. Every length,
// offset and value read from the file is checked before it is used, and
// nothing is allocated beyond what the archive's directory declares for a
// member (which its own size bounds for a stored member).
#include "dq/runtime/Dataset.h"

#include "dq/runtime/Error.h"

#include <zlib.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>

namespace dq {
namespace runtime {

namespace {

uint16_t le16(const uint8_t *p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
         uint32_t(p[3]) << 24;
}
uint64_t le64(const uint8_t *p) {
  return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32;
}

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr size_t kEndSize = 22, kZip64EndSize = 56, kZip64LocatorSize = 20;
constexpr size_t kCentralHeaderSize = 46, kLocalHeaderSize = 30;
/// images, labels, classes: an archive with more members is not a dq data
/// set, and the directory is never walked further.
constexpr uint64_t kMaxMembers = 16;
/// Deflate's best ratio is about 1032:1; a member declared larger than
/// that of its compressed size cannot be, whatever the stream holds.
constexpr uint64_t kMaxDeflateRatio = 1032;

/// A regular file read at offsets; every read is checked against its size.
class ArchiveFile {
public:
  explicit ArchiveFile(const std::string &path) : path_(path) {
    errno = 0;
    std::FILE *file = std::fopen(path.c_str(), "rb");
    if (!file)
      throw Error(path + ": cannot open: " + std::strerror(errno));
    file_.reset(file);
    struct stat info;
    if (::fstat(fileno(file), &info) != 0)
      throw Error(path + ": cannot stat: " + std::strerror(errno));
    if (!S_ISREG(info.st_mode))
      throw Error(path + ": not a regular file (an .npz archive is read at "
                         "offsets)");
    size_ = static_cast<uint64_t>(info.st_size);
  }

  uint64_t size() const { return size_; }
  const std::string &path() const { return path_; }

  /// `count` bytes at `offset`; the caller made sure they are in the file.
  void read(uint64_t offset, void *out, size_t count) {
    if (offset > size_ || count > size_ - offset)
      throw Error(path_ + ": read past the end of the file");
    if (count == 0)
      return;
    if (::fseeko(file_.get(), static_cast<off_t>(offset), SEEK_SET) != 0 ||
        std::fread(out, 1, count, file_.get()) != count)
      throw Error(path_ + ": read error at offset " + std::to_string(offset) +
                  (std::ferror(file_.get()) ? std::string(": ") +
                                                  std::strerror(errno)
                                            : std::string(" (file shrank)")));
  }
  std::vector<uint8_t> read(uint64_t offset, size_t count) {
    std::vector<uint8_t> bytes(count);
    read(offset, bytes.data(), count);
    return bytes;
  }

private:
  struct Closer {
    void operator()(std::FILE *file) const { std::fclose(file); }
  };
  std::string path_;
  std::unique_ptr<std::FILE, Closer> file_;
  uint64_t size_ = 0;
};

struct Member {
  std::string name;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressedSize = 0, size = 0, localOffset = 0;
};

/// The zip64 extended information of a central directory entry: the
/// 64-bit values of the fields that hold 0xFFFFFFFF (0xFFFF for the disk),
/// in the order the format gives them.
void applyZip64Extra(const std::string &where, const uint8_t *extra,
                     size_t length, Member &member, bool sizeIsWide,
                     bool compressedIsWide, bool offsetIsWide) {
  size_t at = 0;
  while (at + 4 <= length) {
    uint16_t id = le16(extra + at), size = le16(extra + at + 2);
    if (size > length - at - 4)
      throw Error(where + ": an extra field runs past the entry");
    if (id == 0x0001) {
      const uint8_t *field = extra + at + 4;
      size_t used = 0;
      auto next = [&](uint64_t &value) {
        if (used + 8 > size)
          throw Error(where + ": the zip64 extra field is too short");
        value = le64(field + used);
        used += 8;
      };
      if (sizeIsWide)
        next(member.size);
      if (compressedIsWide)
        next(member.compressedSize);
      if (offsetIsWide)
        next(member.localOffset);
      return;
    }
    at += 4 + size;
  }
  if (sizeIsWide || compressedIsWide || offsetIsWide)
    throw Error(where + ": sizes or offset need a zip64 extra field, the "
                        "entry has none");
}

/// The members of the archive, from its central directory.
std::vector<Member> readDirectory(ArchiveFile &file) {
  const std::string &path = file.path();
  uint64_t size = file.size();
  // The end record: the last 22 bytes, or earlier by a comment of up to
  // 65535 bytes that must reach exactly to the end of the file.
  size_t tail = static_cast<size_t>(std::min<uint64_t>(size, kEndSize + 65535));
  std::vector<uint8_t> end = file.read(size - tail, tail);
  size_t found = std::string::npos;
  for (size_t at = tail >= kEndSize ? tail - kEndSize + 1 : 0; at-- > 0;)
    if (le32(end.data() + at) == kEndSignature &&
        le16(end.data() + at + 20) == tail - at - kEndSize) {
      found = at;
      break;
    }
  if (found == std::string::npos) {
    std::vector<uint8_t> head = file.read(0, std::min<uint64_t>(size, 6));
    bool npy = head.size() == 6 && std::memcmp(head.data(), "\x93NUMPY", 6) == 0;
    throw Error(path + ": not an .npz archive (no zip end-of-directory "
                       "record)" +
                (npy ? std::string("; this is a single .npy array: dq reads "
                                   "an .npz holding images and labels, "
                                   "np.savez(path, images=x, labels=y)")
                     : ""));
  }
  uint64_t endOffset = size - tail + found;
  const uint8_t *record = end.data() + found;
  uint64_t disk = le16(record + 4), directoryDisk = le16(record + 6);
  uint64_t entriesHere = le16(record + 8), entries = le16(record + 10);
  uint64_t directorySize = le32(record + 12),
           directoryOffset = le32(record + 16);
  uint64_t directoryLimit = endOffset; // the directory ends before this
  if (entries == 0xFFFF || entriesHere == 0xFFFF ||
      directorySize == 0xFFFFFFFF || directoryOffset == 0xFFFFFFFF) {
    if (endOffset < kZip64LocatorSize)
      throw Error(path + ": the zip64 end-of-directory locator is missing");
    std::vector<uint8_t> locator =
        file.read(endOffset - kZip64LocatorSize, kZip64LocatorSize);
    if (le32(locator.data()) != kZip64LocatorSignature)
      throw Error(path + ": the zip64 end-of-directory locator is missing");
    uint64_t zip64Offset = le64(locator.data() + 8);
    if (le32(locator.data() + 4) != 0 || le32(locator.data() + 16) != 1)
      throw Error(path + ": a multi-disk zip archive (not an .npz file)");
    if (zip64Offset > endOffset - kZip64LocatorSize ||
        endOffset - kZip64LocatorSize - zip64Offset < kZip64EndSize)
      throw Error(path + ": the zip64 end-of-directory record lies outside "
                         "the file");
    std::vector<uint8_t> zip64 = file.read(zip64Offset, kZip64EndSize);
    if (le32(zip64.data()) != kZip64EndSignature)
      throw Error(path + ": bad zip64 end-of-directory record");
    disk = le32(zip64.data() + 16);
    directoryDisk = le32(zip64.data() + 20);
    entriesHere = le64(zip64.data() + 24);
    entries = le64(zip64.data() + 32);
    directorySize = le64(zip64.data() + 40);
    directoryOffset = le64(zip64.data() + 48);
    directoryLimit = zip64Offset;
  }
  if (disk != 0 || directoryDisk != 0 || entriesHere != entries)
    throw Error(path + ": a multi-disk zip archive (not an .npz file)");
  if (entries == 0)
    throw Error(path + ": an empty archive (no images.npy)");
  if (entries > kMaxMembers)
    throw Error(path + ": " + std::to_string(entries) +
                " members; an .npz data set has images, labels and classes");
  if (directoryOffset > directoryLimit ||
      directorySize > directoryLimit - directoryOffset)
    throw Error(path + ": the central directory (" +
                std::to_string(directorySize) + " bytes at offset " +
                std::to_string(directoryOffset) + ") lies outside the file");

  std::vector<uint8_t> directory =
      file.read(directoryOffset, static_cast<size_t>(directorySize));
  std::vector<Member> members;
  size_t at = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    std::string where = path + ": directory entry " + std::to_string(i);
    if (directory.size() - at < kCentralHeaderSize ||
        le32(directory.data() + at) != kCentralHeaderSignature)
      throw Error(where + ": truncated or not a directory entry");
    const uint8_t *entry = directory.data() + at;
    uint16_t flags = le16(entry + 8);
    Member member;
    member.method = le16(entry + 10);
    member.crc = le32(entry + 16);
    member.compressedSize = le32(entry + 20);
    member.size = le32(entry + 24);
    size_t nameLength = le16(entry + 28), extraLength = le16(entry + 30),
           commentLength = le16(entry + 32);
    uint16_t startDisk = le16(entry + 34);
    member.localOffset = le32(entry + 42);
    size_t variable = nameLength + extraLength + commentLength;
    if (directory.size() - at - kCentralHeaderSize < variable)
      throw Error(where + ": name, extra field or comment runs past the "
                          "directory");
    member.name.assign(reinterpret_cast<const char *>(entry) +
                           kCentralHeaderSize,
                       nameLength);
    where = path + ": member '" + member.name + "'";
    applyZip64Extra(where, entry + kCentralHeaderSize + nameLength,
                    extraLength, member, member.size == 0xFFFFFFFF,
                    member.compressedSize == 0xFFFFFFFF,
                    member.localOffset == 0xFFFFFFFF);
    if (startDisk != 0 && startDisk != 0xFFFF)
      throw Error(where + ": on another disk of a multi-disk archive");
    if (flags & 0x1)
      throw Error(where + ": encrypted");
    if (member.method != 0 && member.method != 8)
      throw Error(where + ": compression method " +
                  std::to_string(member.method) +
                  " (dq reads stored and deflated members, as np.savez and "
                  "np.savez_compressed write them)");
    members.push_back(std::move(member));
    at += kCentralHeaderSize + variable;
  }
  if (at != directory.size())
    throw Error(path + ": " + std::to_string(directory.size() - at) +
                " bytes in the central directory after its " +
                std::to_string(entries) + " entries");
  // The member data lies before the directory.
  for (Member &member : members) {
    std::string where = path + ": member '" + member.name + "'";
    if (member.localOffset > directoryOffset ||
        directoryOffset - member.localOffset < kLocalHeaderSize)
      throw Error(where + ": its local header lies outside the file");
    std::vector<uint8_t> local =
        file.read(member.localOffset, kLocalHeaderSize);
    if (le32(local.data()) != kLocalHeaderSignature)
      throw Error(where + ": bad local header");
    size_t nameLength = le16(local.data() + 26),
           extraLength = le16(local.data() + 28);
    uint64_t dataOffset =
        member.localOffset + kLocalHeaderSize + nameLength + extraLength;
    if (dataOffset > directoryOffset ||
        member.compressedSize > directoryOffset - dataOffset)
      throw Error(where + ": its data (" +
                  std::to_string(member.compressedSize) +
                  " bytes) runs past the start of the central directory");
    std::vector<uint8_t> name =
        file.read(member.localOffset + kLocalHeaderSize, nameLength);
    if (std::string(name.begin(), name.end()) != member.name ||
        le16(local.data() + 8) != member.method)
      throw Error(where + ": the local header does not match the directory");
    member.localOffset = dataOffset; // from here on: where the data starts
  }
  return members;
}

/// The uncompressed bytes of a member, CRC-checked; never more than its
/// declared size is allocated.
std::vector<uint8_t> readMember(ArchiveFile &file, const Member &member) {
  std::string where = file.path() + ": member '" + member.name + "'";
  if (member.size > std::numeric_limits<size_t>::max() / 2)
    throw Error(where + ": too large");
  std::vector<uint8_t> data;
  if (member.method == 0) {
    if (member.compressedSize != member.size)
      throw Error(where + ": stored with " +
                  std::to_string(member.compressedSize) +
                  " bytes but declares " + std::to_string(member.size));
    data = file.read(member.localOffset, static_cast<size_t>(member.size));
  } else {
    if (member.size / kMaxDeflateRatio > member.compressedSize + 1024)
      throw Error(where + ": declares " + std::to_string(member.size) +
                  " bytes from " + std::to_string(member.compressedSize) +
                  " deflated bytes, more than deflate can give");
    z_stream stream;
    std::memset(&stream, 0, sizeof stream);
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK)
      throw Error(where + ": cannot start inflating (out of memory)");
    struct End {
      z_stream *stream;
      ~End() { inflateEnd(stream); }
    } end{&stream};
    constexpr size_t kChunk = 1 << 20;
    std::vector<uint8_t> input;
    uint64_t consumed = 0;
    int status = Z_OK;
    while (status != Z_STREAM_END) {
      if (stream.avail_in == 0) {
        if (consumed == member.compressedSize)
          throw Error(where + ": truncated deflate data");
        size_t piece = static_cast<size_t>(
            std::min<uint64_t>(kChunk, member.compressedSize - consumed));
        input = file.read(member.localOffset + consumed, piece);
        consumed += piece;
        stream.next_in = input.data();
        stream.avail_in = static_cast<uInt>(piece);
      }
      // Room for the declared size and one byte more, to see an excess.
      size_t used = data.size();
      uint64_t left = member.size + 1 - used;
      if (left == 0)
        throw Error(where + ": inflates to more than its declared " +
                    std::to_string(member.size) + " bytes");
      size_t room = static_cast<size_t>(std::min<uint64_t>(kChunk, left));
      data.resize(used + room);
      stream.next_out = data.data() + used;
      stream.avail_out = static_cast<uInt>(room);
      status = inflate(&stream, Z_NO_FLUSH);
      data.resize(used + room - stream.avail_out);
      if (status != Z_OK && status != Z_STREAM_END)
        throw Error(where + ": corrupt deflate data" +
                    (stream.msg ? std::string(" (") + stream.msg + ")" : ""));
      if (data.size() > member.size)
        throw Error(where + ": inflates to more than its declared " +
                    std::to_string(member.size) + " bytes");
    }
    if (stream.avail_in != 0 || consumed != member.compressedSize)
      throw Error(where + ": data after the end of the deflate stream");
    if (data.size() != member.size)
      throw Error(where + ": inflates to " + std::to_string(data.size()) +
                  " bytes, the directory declares " +
                  std::to_string(member.size));
  }
  uint32_t crc = static_cast<uint32_t>(crc32(0L, Z_NULL, 0));
  for (size_t at = 0; at < data.size(); at += 1 << 30)
    crc = static_cast<uint32_t>(
        crc32(crc, data.data() + at,
              static_cast<uInt>(std::min<size_t>(1 << 30, data.size() - at))));
  if (crc != member.crc)
    throw Error(where + ": CRC-32 mismatch (damaged archive)");
  return data;
}

//===----------------------------------------------------------------------===//
// .npy arrays
//===----------------------------------------------------------------------===//

/// An integer element type: kind 'u' or 'i', 1/2/4/8 bytes.
struct NpyType {
  char kind = 0;
  int bytes = 0;
  bool bigEndian = false;
};

struct NpyArray {
  NpyType type;
  std::vector<uint64_t> shape;
  uint64_t count = 1;
  size_t dataOffset = 0;
};

/// The header dictionary of an .npy file, a Python literal such as
/// {'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }.
class HeaderParser {
public:
  HeaderParser(const std::string &text, const std::string &where)
      : text_(text), where_(where) {}

  void parse(std::string &descr, bool &fortran, std::vector<uint64_t> &shape) {
    bool haveDescr = false, haveFortran = false, haveShape = false;
    expect('{');
    for (;;) {
      skipSpace();
      if (peek() == '}')
        break;
      std::string key = quoted();
      expect(':');
      skipSpace();
      if (key == "descr" && !haveDescr) {
        descr = quoted();
        haveDescr = true;
      } else if (key == "fortran_order" && !haveFortran) {
        fortran = boolean();
        haveFortran = true;
      } else if (key == "shape" && !haveShape) {
        shape = tuple();
        haveShape = true;
      } else {
        fail("unexpected or repeated key '" + key + "'");
      }
      skipSpace();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      skipSpace();
      if (peek() != '}')
        fail("expected ',' or '}'");
    }
    ++at_;
    skipSpace();
    if (at_ != text_.size())
      fail("text after the dictionary");
    if (!haveDescr || !haveFortran || !haveShape)
      fail("descr, fortran_order and shape are required");
  }

private:
  [[noreturn]] void fail(const std::string &what) const {
    throw Error(where_ + ": bad .npy header (" + what + ")");
  }
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  void skipSpace() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' ||
                                  text_[at_] == '\t' || text_[at_] == '\r'))
      ++at_;
  }
  void expect(char c) {
    skipSpace();
    if (peek() != c)
      fail(std::string("expected '") + c + "'");
    ++at_;
  }
  std::string quoted() {
    skipSpace();
    char quote = peek();
    if (quote != '\'' && quote != '"')
      fail("expected a quoted string");
    size_t close = text_.find(quote, at_ + 1);
    if (close == std::string::npos || close - at_ > 64)
      fail("unterminated or long string");
    std::string value = text_.substr(at_ + 1, close - at_ - 1);
    at_ = close + 1;
    return value;
  }
  bool boolean() {
    if (text_.compare(at_, 4, "True") == 0) {
      at_ += 4;
      return true;
    }
    if (text_.compare(at_, 5, "False") == 0) {
      at_ += 5;
      return false;
    }
    fail("fortran_order is neither True nor False");
  }
  std::vector<uint64_t> tuple() {
    expect('(');
    std::vector<uint64_t> dims;
    for (;;) {
      skipSpace();
      if (peek() == ')')
        break;
      if (dims.size() == 8)
        fail("more than 8 dimensions");
      if (peek() < '0' || peek() > '9')
        fail("a dimension is not a non-negative integer");
      uint64_t value = 0;
      while (peek() >= '0' && peek() <= '9') {
        unsigned digit = static_cast<unsigned>(peek() - '0');
        if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10)
          fail("a dimension overflows 64 bits");
        value = value * 10 + digit;
        ++at_;
      }
      if (peek() == 'L') // Python 2's long suffix
        ++at_;
      dims.push_back(value);
      skipSpace();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      skipSpace();
      if (peek() != ')')
        fail("expected ',' or ')' in the shape");
    }
    ++at_;
    return dims;
  }

  const std::string &text_;
  const std::string &where_;
  size_t at_ = 0;
};

/// Parses "|u1", "<i8", ">u4" and the like into an integer type; a
/// description of any other type for the message.
bool parseIntegerType(const std::string &descr, NpyType &type) {
  if (descr.size() < 3)
    return false;
  char order = descr[0];
  type.kind = descr[1];
  std::string size = descr.substr(2);
  if (type.kind != 'u' && type.kind != 'i')
    return false;
  if (size == "1")
    type.bytes = 1;
  else if (size == "2")
    type.bytes = 2;
  else if (size == "4")
    type.bytes = 4;
  else if (size == "8")
    type.bytes = 8;
  else
    return false;
  if (order == '|')
    return type.bytes == 1;
  if (order != '<' && order != '>')
    return false;
  type.bigEndian = order == '>';
  return true;
}

std::string typeHint(const std::string &descr) {
  if (descr.size() >= 2 && descr[1] == 'f')
    return "a floating-point type";
  if (descr.size() >= 2 && descr[1] == 'b')
    return "a boolean type";
  if (descr.size() >= 2 && (descr[1] == 'U' || descr[1] == 'S' ||
                            descr[1] == 'O'))
    return "strings or Python objects";
  return "not an integer type dq reads";
}

NpyArray parseNpy(const std::vector<uint8_t> &bytes, const std::string &where) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw Error(where + ": not an .npy array (no \\x93NUMPY magic)");
  uint8_t major = bytes[6];
  size_t prefix, headerLength;
  if (major == 1) {
    prefix = 10;
    headerLength = le16(bytes.data() + 8);
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      throw Error(where + ": truncated .npy header");
    prefix = 12;
    headerLength = le32(bytes.data() + 8);
  } else {
    throw Error(where + ": .npy format version " + std::to_string(major) +
                " (dq reads 1, 2 and 3)");
  }
  if (headerLength > bytes.size() - prefix || headerLength > (1u << 20))
    throw Error(where + ": the .npy header (" + std::to_string(headerLength) +
                " bytes) runs past the array");
  std::string text(reinterpret_cast<const char *>(bytes.data()) + prefix,
                   headerLength);
  for (char c : text)
    if (static_cast<unsigned char>(c) >= 0x80 ||
        (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' &&
         c != '\r'))
      throw Error(where + ": bad .npy header (a byte that is not printable "
                          "ASCII)");
  std::string descr;
  bool fortran = false;
  NpyArray array;
  HeaderParser(text, where).parse(descr, fortran, array.shape);
  if (!parseIntegerType(descr, array.type))
    throw Error(where + ": dtype '" + descr + "' is " + typeHint(descr) +
                "; dq reads integer arrays (images uint8 0 to 255, labels "
                "any integer type)");
  for (uint64_t dim : array.shape) {
    if (dim != 0 && array.count > std::numeric_limits<uint64_t>::max() / dim)
      throw Error(where + ": the shape's element count overflows 64 bits");
    array.count *= dim;
  }
  if (fortran && array.shape.size() > 1)
    throw Error(where + ": saved in Fortran order; save "
                        "np.ascontiguousarray(x) instead");
  array.dataOffset = prefix + headerLength;
  uint64_t present = bytes.size() - array.dataOffset;
  if (array.count > std::numeric_limits<uint64_t>::max() / array.type.bytes ||
      present != array.count * array.type.bytes)
    throw Error(where + ": " +
                (present < array.count * array.type.bytes ? "truncated"
                                                          : "trailing data") +
                ": the header's shape needs " +
                std::to_string(array.count) + " elements of " +
                std::to_string(array.type.bytes) + " bytes, the array has " +
                std::to_string(present) + " bytes of data");
  return array;
}

std::string shapeText(const std::vector<uint64_t> &shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

/// Element i as a signed 64-bit value; false for a u8 above INT64_MAX.
bool integerAt(const std::vector<uint8_t> &bytes, const NpyArray &array,
               uint64_t i, int64_t &value) {
  const uint8_t *p = bytes.data() + array.dataOffset + i * array.type.bytes;
  uint64_t raw = 0;
  for (int b = 0; b < array.type.bytes; ++b) {
    int shift = array.type.bigEndian ? (array.type.bytes - 1 - b) * 8 : b * 8;
    raw |= uint64_t(p[b]) << shift;
  }
  if (array.type.kind == 'i' && array.type.bytes < 8) {
    uint64_t sign = uint64_t(1) << (array.type.bytes * 8 - 1);
    if (raw & sign)
      raw |= ~((sign << 1) - 1); // sign-extend
  } else if (array.type.kind == 'u' && raw > uint64_t(INT64_MAX)) {
    return false;
  }
  value = static_cast<int64_t>(raw);
  return true;
}

constexpr uint64_t kMaxSide = 1 << 12, kMaxChannels = 1 << 12;
constexpr uint64_t kMaxImages = uint64_t(1) << 32;
constexpr int64_t kMaxClasses = std::numeric_limits<int32_t>::max();

} // namespace

Dataset loadNpz(const std::string &path, bool requireLabels) {
  ArchiveFile file(path);
  std::vector<Member> members = readDirectory(file);
  std::map<std::string, const Member *> byName;
  for (const Member &member : members) {
    if (member.name != "images.npy" && member.name != "labels.npy" &&
        member.name != "classes.npy")
      throw Error(path + ": unexpected member '" + member.name +
                  "' (a dq data set holds images, labels and optionally "
                  "classes: np.savez(path, images=x, labels=y))");
    if (!byName.emplace(member.name, &member).second)
      throw Error(path + ": member '" + member.name + "' appears twice");
  }
  if (!byName.count("images.npy"))
    throw Error(path + ": no 'images' array (np.savez(path, images=x, "
                       "labels=y))");
  if (requireLabels && !byName.count("labels.npy"))
    throw Error(path + ": no 'labels' array (np.savez(path, images=x, "
                       "labels=y))");

  Dataset data;
  data.source = path;
  {
    std::string where = path + ": images";
    std::vector<uint8_t> bytes = readMember(file, *byName["images.npy"]);
    NpyArray images = parseNpy(bytes, where);
    if (images.type.kind != 'u' || images.type.bytes != 1)
      throw Error(where + ": dtype " +
                  std::string(images.type.kind == 'u' ? "uint" : "int") +
                  std::to_string(images.type.bytes * 8) +
                  "; dq reads 8-bit pixels (uint8, 0 to 255): save "
                  "x.astype(np.uint8)");
    const std::vector<uint64_t> &shape = images.shape;
    if (shape.size() != 3 && shape.size() != 4)
      throw Error(where + ": shape " + shapeText(shape) +
                  "; expected (N, H, W, C) or (N, H, W) for one channel "
                  "(NHWC)");
    uint64_t channels = shape.size() == 4 ? shape[3] : 1;
    if (shape[0] == 0)
      throw Error(where + ": no images (shape " + shapeText(shape) + ")");
    if (shape[0] > kMaxImages || shape[1] < 1 || shape[1] > kMaxSide ||
        shape[2] < 1 || shape[2] > kMaxSide || channels < 1 ||
        channels > kMaxChannels)
      throw Error(where + ": shape " + shapeText(shape) + " is out of range "
                  "(at most 2^32 images, 1 to 4096 per side and channels)");
    data.count = static_cast<size_t>(shape[0]);
    data.height = static_cast<int>(shape[1]);
    data.width = static_cast<int>(shape[2]);
    data.channels = static_cast<int>(channels);
    bytes.erase(bytes.begin(), bytes.begin() + images.dataOffset);
    data.raw = std::move(bytes);
  }

  int64_t declaredClasses = 0;
  if (byName.count("classes.npy")) {
    std::string where = path + ": classes";
    std::vector<uint8_t> bytes = readMember(file, *byName["classes.npy"]);
    NpyArray classes = parseNpy(bytes, where);
    int64_t value = 0;
    if (!classes.shape.empty() || !integerAt(bytes, classes, 0, value) ||
        value < 1 || value > kMaxClasses)
      throw Error(where + ": expected an integer scalar from 1 to " +
                  std::to_string(kMaxClasses) + " (np.savez(..., "
                  "classes=10)), got " +
                  (classes.shape.empty() ? std::to_string(value)
                                         : "shape " + shapeText(classes.shape)));
    declaredClasses = value;
  }

  if (byName.count("labels.npy")) {
    std::string where = path + ": labels";
    std::vector<uint8_t> bytes = readMember(file, *byName["labels.npy"]);
    NpyArray labels = parseNpy(bytes, where);
    if (labels.shape.size() != 1 || labels.shape[0] != data.count)
      throw Error(where + ": shape " + shapeText(labels.shape) +
                  ", expected (" + std::to_string(data.count) +
                  ",): one label per image");
    data.labels.resize(data.count);
    int64_t highest = -1;
    for (size_t i = 0; i < data.count; ++i) {
      int64_t value = 0;
      bool fits = integerAt(bytes, labels, i, value);
      int64_t limit = declaredClasses ? declaredClasses : kMaxClasses;
      if (!fits || value < 0 || value >= limit)
        throw Error(where + ": label " +
                    (fits ? std::to_string(value) : std::string("> 2^63")) +
                    " of image " + std::to_string(i) +
                    " is out of range (" +
                    (declaredClasses
                         ? std::to_string(declaredClasses) +
                               " classes, from the archive's 'classes')"
                         : std::string("labels are class indices from 0")) +
                    ")");
      data.labels[i] = static_cast<int32_t>(value);
      highest = std::max(highest, value);
    }
    data.classes = declaredClasses ? static_cast<int>(declaredClasses)
                                   : static_cast<int>(highest + 1);
  } else {
    data.classes = static_cast<int>(declaredClasses);
  }
  return data;
}

Dataset loadNpzDataset(const std::string &dir, bool train) {
  std::string name = train ? "train.npz" : "test.npz";
  std::string path = dir.empty() ? name : dir + "/" + name;
  struct stat info;
  if (::stat(path.c_str(), &info) != 0)
    throw Error(path + ": not found (a numpy data set is a directory with "
                       "train.npz and test.npz, each np.savez(path, "
                       "images=uint8 [N, H, W, C], labels=[N]))");
  return loadNpz(path, /*requireLabels=*/true);
}

} // namespace runtime
} // namespace dq
