//===- TorchImportFuzzer.cpp - fuzz dq-import on TorchScript archives -----===//
//
// Input: a TorchScript archive (a zip file, as torch.jit.save writes it).
// It goes through dq-import's path: readTorchScript (LibTorch: load,
// freeze, inline, simplify) and importTorchGraph; a module the importer
// returns must verify. The archive comment may say the input shape
// ("dq-fuzz input-shape=1x1x28x28"; default 1x1x28x28).
//
// The mutator mostly mutates one member of the archive and writes a valid
// zip again (stored members, CRCs and offsets recomputed), so mutations
// reach the pickles and the TorchScript code instead of the zip checks.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "dq/Import/TorchGraph.h"
#include "dq/Import/TorchGraphToMLIR.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <zlib.h>

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

namespace {

//===-- A minimal zip reader/writer (stored or deflated members, no zip64) -===//

struct Member {
  std::string name;
  uint16_t method = 0; // 0 stored; anything else is kept as it is
  uint32_t crc = 0;
  uint32_t uncompressedSize = 0;
  std::string data; // as stored in the archive
};

struct Archive {
  std::vector<Member> members;
  std::string comment;
};

uint16_t u16(const uint8_t *p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t u32(const uint8_t *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
         uint32_t(p[3]) << 24;
}
void put16(std::string &out, uint16_t v) {
  out.push_back(char(v & 0xff));
  out.push_back(char(v >> 8));
}
void put32(std::string &out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(char(v >> (8 * i) & 0xff));
}

/// The end-of-central-directory record's offset, if any.
std::optional<size_t> findEnd(const uint8_t *data, size_t size) {
  if (size < 22)
    return std::nullopt;
  size_t lowest = size > 22 + 0xffff ? size - 22 - 0xffff : 0;
  for (size_t pos = size - 22 + 1; pos-- > lowest;)
    if (u32(data + pos) == 0x06054b50 &&
        pos + 22 + u16(data + pos + 20) <= size)
      return pos;
  return std::nullopt;
}

std::optional<Archive> parseZip(const uint8_t *data, size_t size) {
  std::optional<size_t> end = findEnd(data, size);
  if (!end)
    return std::nullopt;
  const uint8_t *e = data + *end;
  Archive archive;
  archive.comment.assign(reinterpret_cast<const char *>(e + 22), u16(e + 20));
  size_t entries = u16(e + 10);
  size_t pos = u32(e + 16);
  for (size_t i = 0; i < entries; ++i) {
    if (pos > size || size - pos < 46 || u32(data + pos) != 0x02014b50)
      return std::nullopt;
    const uint8_t *c = data + pos;
    Member m;
    m.method = u16(c + 10);
    m.crc = u32(c + 16);
    size_t compressed = u32(c + 20);
    m.uncompressedSize = u32(c + 24);
    size_t nameLength = u16(c + 28), extra = u16(c + 30), comment = u16(c + 32);
    size_t local = u32(c + 42);
    if (size - pos - 46 < nameLength + extra + comment)
      return std::nullopt;
    m.name.assign(reinterpret_cast<const char *>(c + 46), nameLength);
    pos += 46 + nameLength + extra + comment;
    if (local > size || size - local < 30 || u32(data + local) != 0x04034b50)
      return std::nullopt;
    size_t start = local + 30 + u16(data + local + 26) + u16(data + local + 28);
    if (start > size || size - start < compressed)
      return std::nullopt;
    m.data.assign(reinterpret_cast<const char *>(data + start), compressed);
    archive.members.push_back(std::move(m));
  }
  return archive;
}

/// Stored members, data aligned to 64 bytes as PyTorch writes them.
std::string writeZip(const Archive &archive) {
  std::string out, directory;
  for (const Member &m : archive.members) {
    uint32_t crc = m.crc, size = m.uncompressedSize;
    if (m.method == 0) {
      crc = static_cast<uint32_t>(
          ::crc32(0, reinterpret_cast<const Bytef *>(m.data.data()),
                  static_cast<uInt>(m.data.size())));
      size = static_cast<uint32_t>(m.data.size());
    }
    uint32_t offset = static_cast<uint32_t>(out.size());
    size_t headerEnd = out.size() + 30 + m.name.size() + 4;
    uint16_t padding = static_cast<uint16_t>((64 - headerEnd % 64) % 64);
    auto header = [&](std::string &to, bool central) {
      put32(to, central ? 0x02014b50 : 0x04034b50);
      if (central)
        put16(to, 20); // made by
      put16(to, 20);   // needed
      put16(to, 0);    // flags
      put16(to, m.method);
      put16(to, 0);
      put16(to, 0x21); // time, date
      put32(to, crc);
      put32(to, static_cast<uint32_t>(m.data.size()));
      put32(to, size);
      put16(to, static_cast<uint16_t>(m.name.size()));
      put16(to, central ? 0 : static_cast<uint16_t>(4 + padding));
      if (central) {
        put16(to, 0); // comment
        put16(to, 0); // disk
        put16(to, 0); // internal attributes
        put32(to, 0); // external attributes
        put32(to, offset);
      }
      to += m.name;
      if (!central) {
        put16(to, 0x4246); // "FB" padding field, as PyTorch's writer
        put16(to, padding);
        to.append(padding, 'Z');
      }
    };
    header(out, false);
    out += m.data;
    header(directory, true);
  }
  uint32_t directoryOffset = static_cast<uint32_t>(out.size());
  out += directory;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint16_t>(archive.members.size()));
  put16(out, static_cast<uint16_t>(archive.members.size()));
  put32(out, static_cast<uint32_t>(directory.size()));
  put32(out, directoryOffset);
  put16(out, static_cast<uint16_t>(archive.comment.size()));
  out += archive.comment;
  return out;
}

bool endsWith(const std::string &text, const char *suffix) {
  size_t n = std::strlen(suffix);
  return text.size() >= n && text.compare(text.size() - n, n, suffix) == 0;
}

/// How often a member is picked: the pickles and the code most of the time.
unsigned weightOf(const Member &m) {
  if (endsWith(m.name, ".debug_pkl"))
    return 2;
  if (endsWith(m.name, ".pkl") || endsWith(m.name, ".py"))
    return 12;
  if (m.name.find("/data/") != std::string::npos)
    return 1;
  return 4; // version, byteorder, extra files
}

/// "1x1x28x28" in the archive comment, or the default.
std::vector<int64_t> inputShapeOf(const uint8_t *data, size_t size) {
  std::vector<int64_t> shape = {1, 1, 28, 28};
  std::optional<size_t> end = findEnd(data, size);
  if (!end)
    return shape;
  std::string comment(reinterpret_cast<const char *>(data + *end + 22),
                      u16(data + *end + 20));
  const std::string key = "input-shape=";
  size_t at = comment.find(key);
  if (at == std::string::npos)
    return shape;
  std::vector<int64_t> parsed;
  const char *p = comment.c_str() + at + key.size();
  int64_t elements = 1;
  while (parsed.size() < 4) {
    char *next;
    long dim = std::strtol(p, &next, 10);
    if (next == p || dim < 1 || dim > 512)
      return shape;
    elements *= dim;
    parsed.push_back(dim);
    p = next;
    if (*p != 'x')
      break;
    ++p;
  }
  if (parsed.size() != 4 || elements > (1 << 20))
    return shape;
  return parsed;
}

} // namespace

// libLLVM/libMLIR are not instrumented, but dq's copies of their inline
// allocator code are: BumpPtrAllocator then poisons slab space that the
// library's own (uninstrumented) allocations later use, and ASan reports
// use-after-poison on correct code. Manual poisoning is therefore off.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0";
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size,
                                          size_t maxSize, unsigned seed) {
  std::minstd_rand rng(seed);
  std::optional<Archive> archive = parseZip(data, size);
  if (!archive || archive->members.empty() || rng() % 16 == 0)
    return LLVMFuzzerMutate(data, size, maxSize);

  std::vector<Member> &members = archive->members;
  if (members.size() > 1 && rng() % 32 == 0) {
    members.erase(members.begin() + rng() % members.size());
  } else {
    unsigned total = 0;
    for (const Member &m : members)
      total += weightOf(m);
    unsigned pick = rng() % total;
    size_t index = 0;
    while (pick >= weightOf(members[index]))
      pick -= weightOf(members[index++]);
    Member &m = members[index];
    size_t others = size > m.data.size() ? size - m.data.size() : 0;
    if (maxSize <= others + 128)
      return LLVMFuzzerMutate(data, size, maxSize);
    size_t room = maxSize - others - 128;
    std::string buffer = m.data;
    size_t used = buffer.size();
    if (room < used)
      return LLVMFuzzerMutate(data, size, maxSize);
    buffer.resize(room);
    used = LLVMFuzzerMutate(reinterpret_cast<uint8_t *>(buffer.data()), used,
                            room);
    buffer.resize(used);
    m.data = std::move(buffer);
    m.method = 0;
  }
  std::string out = writeZip(*archive);
  if (out.size() > maxSize)
    return LLVMFuzzerMutate(data, size, maxSize);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = dq::fuzz::writeTempFile("torch.pt", data, size);
  dq::import::TorchGraph graph;
  std::string error;
  if (!dq::import::readTorchScript(path, graph, error)) {
    dq::fuzz::rejected(error, size);
    return 0;
  }

  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  static const bool verbose = std::getenv("DQ_FUZZ_VERBOSE") != nullptr;
  mlir::ScopedDiagnosticHandler handler(&context, [](mlir::Diagnostic &diag) {
    if (verbose)
      llvm::errs() << diag << "\n";
    return mlir::success();
  });
  dq::import::ImportOptions options;
  options.inputShape = inputShapeOf(data, size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      dq::import::importTorchGraph(graph, options, context);
  if (module && mlir::failed(mlir::verify(*module)))
    dq::fuzz::fail("importTorchGraph returned a module that does not verify");
  return 0;
}
