//===- TorchPickleScan.h - storages a TorchScript pickle declares -*- C++ -*-===//
//
// LibTorch sizes each tensor storage by what the pickle declares (numel x
// element size), not by the record it reads, and never checks a tensor's
// extent against its storage: a damaged archive makes it read past the
// record. scanTorchPickle walks a pickle without LibTorch, strictly, to
// learn what the records must hold before LibTorch reads them.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_LIB_IMPORT_TORCHPICKLESCAN_H
#define DQ_LIB_IMPORT_TORCHPICKLESCAN_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dq {
namespace import {

/// A persistent id ('storage', torch.<Type>Storage, key, location, numel).
struct DeclaredStorage {
  std::string record; // "data/<key>", as LibTorch names records
  std::string type; // "FloatStorage"
  uint64_t numel = 0;
  uint64_t numBytes = 0;
  size_t offset = 0; // of its BINPERSID in the pickle
};

/// Walks the pickle `data` (the opcodes torch's pickler emits, protocol 2)
/// and appends every storage it declares to `storages`, its record in
/// `recordDir` ("data/"). Also checks that
/// each tensor rebuilt from a storage (torch._utils._rebuild_tensor_v2,
/// _rebuild_qtensor) lies inside it. Returns "" or what is wrong, with the
/// pickle offset ("unsupported pickle opcode 0x42 at offset 17").
std::string scanTorchPickle(const char *data, size_t size,
                            const std::string &recordDir,
                            std::vector<DeclaredStorage> &storages);

} // namespace import
} // namespace dq

#endif // DQ_LIB_IMPORT_TORCHPICKLESCAN_H
