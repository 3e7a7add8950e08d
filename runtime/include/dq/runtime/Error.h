// Errors of the DQ runtime.
//
// The runtime is built with exceptions: bad input files (datasets, state
// files, manifests) are user errors that tools report and exit on, not bugs.
#ifndef DQ_RUNTIME_ERROR_H
#define DQ_RUNTIME_ERROR_H

#include <stdexcept>
#include <string>

namespace dq {
namespace runtime {

/// Every error the runtime reports; the message names the file or object and
/// says what is wrong.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_ERROR_H
