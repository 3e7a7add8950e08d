// The exported quantized model: what inference needs of a trained state,
// with every weight code packed into its bit width.
#ifndef DQ_RUNTIME_EXPORT_H
#define DQ_RUNTIME_EXPORT_H

#include "dq/runtime/Manifest.h"
#include "dq/runtime/Tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dq {
namespace runtime {

/// Roles inference reads; the others (momentum, latent weights) only
/// matter to training and are left out of an export.
bool isInferenceRole(const std::string &role);

/// The bit width of the codes tensor `codes` of `manifest`: the last
/// dimension of its basis "<layer>.basis" next to "<layer>.codes".
int codeBits(const Manifest &manifest, const TensorSpec &codes);

/// Packs codes (each in [0, 2^bits)) into a little-endian bit stream,
/// `bits` bits per code, code i at bits [i*bits, (i+1)*bits). Throws Error
/// naming `name` and the element when a code does not fit.
std::vector<uint8_t> packCodes(const int8_t *codes, size_t count, int bits,
                               const std::string &name);
void unpackCodes(const uint8_t *packed, size_t count, int bits,
                 int8_t *codes);

/// Writes the export of `state` (the manifest's state, in its order)
/// atomically: a state-file container with metadata
/// {"kind": "dq-export", "packed": {name: {"bits": K, "shape": [...]}},
///  "preprocess": {...}} (effectivePreprocess(manifest)),
/// the inference tensors in manifest order, codes as packed i8 bytes.
void writeExport(const std::string &path, const Manifest &manifest,
                 const std::vector<HostTensor> &state);

/// Reads a trained state for inference: a full state file or an export
/// (told apart by the metadata), checked against `manifest`. Tensors an
/// export leaves out come back zero-filled. Values are checked as
/// checkStateValues does. Stores the file's metadata in `*metadataJson`
/// when given.
std::vector<HostTensor> readInferenceState(const std::string &path,
                                           const Manifest &manifest,
                                           bool allowInvalidValues = false,
                                           std::string *metadataJson = nullptr);

/// True when `metadataJson` is an export's metadata ("kind": "dq-export").
bool isExportMetadata(const std::string &metadataJson);

/// The preprocessing the metadata of a state file, checkpoint or export
/// records ("preprocess", written by dq-train and writeExport), validated
/// for `manifest`'s images; nothing when it records none (initial states,
/// files from before the field). Throws Error naming `path`.
std::optional<Preprocess> recordedPreprocess(const std::string &path,
                                             const std::string &metadataJson,
                                             const Manifest &manifest);
/// Throws Error naming `path` and both normalizations unless the
/// preprocessing the file records, if any, is effectivePreprocess(manifest):
/// a state trained on inputs normalized one way is never fed inputs
/// normalized another way.
void checkRecordedPreprocess(const std::string &path,
                             const std::string &metadataJson,
                             const Manifest &manifest);

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_EXPORT_H
