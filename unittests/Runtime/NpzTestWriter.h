// Writes .npy arrays and .npz archives for the tests of the numpy data set
// reader (DatasetTest.cpp) and the fuzzer's seeds (fuzz/SeedGenerator.cpp):
// the layout np.savez and np.savez_compressed write (stored or deflated
// members; optionally the zip64 extra field numpy's force_zip64 puts in
// every local header), with knobs to produce the damage the tests need.
#ifndef DQ_UNITTESTS_RUNTIME_NPZTESTWRITER_H
#define DQ_UNITTESTS_RUNTIME_NPZTESTWRITER_H

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace dq {
namespace testing {

inline void putLe(std::vector<uint8_t> &out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

/// An .npy array: `descr` ("|u1", "<i8", ...), the shape, the raw element
/// bytes; format version 1 (or 2, with a 4-byte header length).
inline std::vector<uint8_t> npy(const std::string &descr,
                                const std::vector<uint64_t> &shape,
                                const std::vector<uint8_t> &data,
                                int version = 1, bool fortran = false) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " +
                       (fortran ? "True" : "False") + ", 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    header += (i ? ", " : "") + std::to_string(shape[i]);
  header += shape.size() == 1 ? ",), }" : "), }";
  size_t prefix = version == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y',
                              static_cast<uint8_t>(version), 0};
  putLe(out, header.size(), version == 1 ? 2 : 4);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

struct NpzMember {
  std::string name;
  std::vector<uint8_t> data;
  bool deflate = false;
};

/// A zip archive of the members (no comment). `zip64Local` adds numpy's
/// zip64 extra field to the local headers (sizes 0xFFFFFFFF there);
/// `zip64End` writes the zip64 end record and locator, with the classic
/// end record's fields at 0xFFFF / 0xFFFFFFFF.
inline std::vector<uint8_t> npz(const std::vector<NpzMember> &members,
                                bool zip64Local = false,
                                bool zip64End = false) {
  std::vector<uint8_t> out, directory;
  for (const NpzMember &member : members) {
    std::vector<uint8_t> stored = member.data;
    if (member.deflate) {
      z_stream stream;
      std::memset(&stream, 0, sizeof stream);
      if (deflateInit2(&stream, 6, Z_DEFLATED, -MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2");
      stored.resize(deflateBound(&stream, member.data.size()));
      stream.next_in = const_cast<Bytef *>(member.data.data());
      stream.avail_in = static_cast<uInt>(member.data.size());
      stream.next_out = stored.data();
      stream.avail_out = static_cast<uInt>(stored.size());
      if (deflate(&stream, Z_FINISH) != Z_STREAM_END)
        throw std::runtime_error("deflate");
      stored.resize(stream.total_out);
      deflateEnd(&stream);
    }
    uint32_t crc = static_cast<uint32_t>(
        crc32(0, member.data.data(), static_cast<uInt>(member.data.size())));
    uint64_t offset = out.size();
    uint16_t method = member.deflate ? 8 : 0;
    // Local header.
    putLe(out, 0x04034b50, 4);
    putLe(out, zip64Local ? 45 : 20, 2);
    putLe(out, 0, 2); // flags
    putLe(out, method, 2);
    putLe(out, 0, 4); // time, date
    putLe(out, crc, 4);
    putLe(out, zip64Local ? 0xFFFFFFFF : stored.size(), 4);
    putLe(out, zip64Local ? 0xFFFFFFFF : member.data.size(), 4);
    putLe(out, member.name.size(), 2);
    putLe(out, zip64Local ? 20 : 0, 2);
    out.insert(out.end(), member.name.begin(), member.name.end());
    if (zip64Local) {
      putLe(out, 0x0001, 2);
      putLe(out, 16, 2);
      putLe(out, member.data.size(), 8);
      putLe(out, stored.size(), 8);
    }
    out.insert(out.end(), stored.begin(), stored.end());
    // Central directory entry.
    putLe(directory, 0x02014b50, 4);
    putLe(directory, 20, 2);
    putLe(directory, 20, 2);
    putLe(directory, 0, 2);
    putLe(directory, method, 2);
    putLe(directory, 0, 4);
    putLe(directory, crc, 4);
    putLe(directory, stored.size(), 4);
    putLe(directory, member.data.size(), 4);
    putLe(directory, member.name.size(), 2);
    putLe(directory, 0, 2); // extra
    putLe(directory, 0, 2); // comment
    putLe(directory, 0, 2); // disk
    putLe(directory, 0, 2); // internal attributes
    putLe(directory, 0, 4); // external attributes
    putLe(directory, offset, 4);
    directory.insert(directory.end(), member.name.begin(), member.name.end());
  }
  uint64_t directoryOffset = out.size();
  out.insert(out.end(), directory.begin(), directory.end());
  if (zip64End) {
    uint64_t zip64Offset = out.size();
    putLe(out, 0x06064b50, 4);
    putLe(out, 44, 8);
    putLe(out, 45, 2);
    putLe(out, 45, 2);
    putLe(out, 0, 4);
    putLe(out, 0, 4);
    putLe(out, members.size(), 8);
    putLe(out, members.size(), 8);
    putLe(out, directory.size(), 8);
    putLe(out, directoryOffset, 8);
    putLe(out, 0x07064b50, 4);
    putLe(out, 0, 4);
    putLe(out, zip64Offset, 8);
    putLe(out, 1, 4);
  }
  putLe(out, 0x06054b50, 4);
  putLe(out, 0, 2);
  putLe(out, 0, 2);
  putLe(out, zip64End ? 0xFFFF : members.size(), 2);
  putLe(out, zip64End ? 0xFFFF : members.size(), 2);
  putLe(out, zip64End ? 0xFFFFFFFF : directory.size(), 4);
  putLe(out, zip64End ? 0xFFFFFFFF : directoryOffset, 4);
  putLe(out, 0, 2);
  return out;
}

/// A data set archive: `count` images of h x w x c (pixel i of the whole
/// array is i % 251) and labels i % classes as int64.
inline std::vector<uint8_t> sampleNpz(uint64_t count, uint64_t h, uint64_t w,
                                      uint64_t c, int classes,
                                      bool deflate = false) {
  std::vector<uint8_t> pixels(count * h * w * c);
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<uint8_t>(i % 251);
  std::vector<uint8_t> labels;
  for (uint64_t i = 0; i < count; ++i)
    putLe(labels, i % classes, 8);
  return npz({{"images.npy", npy("|u1", {count, h, w, c}, pixels), deflate},
              {"labels.npy", npy("<i8", {count}, labels), deflate}});
}

} // namespace testing
} // namespace dq

#endif // DQ_UNITTESTS_RUNTIME_NPZTESTWRITER_H
