//===- FixedManifest.h - the manifest the reader targets check against ----===//

#ifndef DQ_FUZZ_FIXEDMANIFEST_H
#define DQ_FUZZ_FIXEDMANIFEST_H

#include "dq/runtime/Manifest.h"

namespace dq::fuzz {

/// Seven small tensors with every role an export handles (param, codes +
/// basis at 2 bits, running_mean, act_basis) and two training-only ones
/// (momentum, step). Built in C++ and validated through toJson +
/// parseManifest, so it follows the current manifest version.
const runtime::Manifest &fixedManifest();

} // namespace dq::fuzz

#endif // DQ_FUZZ_FIXEDMANIFEST_H
