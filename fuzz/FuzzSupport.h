//===- FuzzSupport.h - shared helpers of the dq fuzz targets ----*- C++ -*-===//
//
// Per-process temporary files for the path-based readers, the small fixed
// manifest the state-file and export targets check against, and the
// checksum repair of the state-file mutator (so that mutations reach the
// code behind the CRC checks).
//
//===----------------------------------------------------------------------===//

#ifndef DQ_FUZZ_FUZZSUPPORT_H
#define DQ_FUZZ_FUZZSUPPORT_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace dq::fuzz {

/// A file of this process ("<dir>/dq-fuzz-<tag>-<pid>", dir: $DQ_FUZZ_TMPDIR,
/// else /dev/shm when writable, else $TMPDIR, else /tmp) that holds `data`
/// after the call. Removed when the process exits normally.
const std::string &writeTempFile(const std::string &tag, const uint8_t *data,
                                 size_t size);

/// Aborts (a crash libFuzzer records) with a message on stderr.
[[noreturn]] void fail(const std::string &what);

/// Called where a reader rejected the input: aborts when the environment
/// has DQ_FUZZ_EXPECT_VALID set (the smoke tests run the seeds that way, so
/// seeds that no longer match the formats fail them), else nothing. The
/// empty input libFuzzer always runs first is exempt.
void rejected(const std::string &why, size_t size);

/// Recomputes, in place, every tensor checksum and the trailer checksum of
/// a state file as far as its structure can be walked (the trailer checksum
/// is always fixed when the data holds at least a header). Returns false
/// when nothing could be fixed.
bool fixStateFileChecksums(uint8_t *data, size_t size);

/// The libFuzzer mutator for state-file-shaped inputs: LLVMFuzzerMutate,
/// then usually fixStateFileChecksums (not always, so the checks themselves
/// stay covered).
size_t mutateStateFile(uint8_t *data, size_t size, size_t maxSize,
                       unsigned seed);

} // namespace dq::fuzz

#endif // DQ_FUZZ_FUZZSUPPORT_H
