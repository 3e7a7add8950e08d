//===- AtomicFileStream.h - an llvm::raw_ostream into a file, atomically --===//
//
// For drivers that print large IR (dq-import's module, dq-compile's
// --keep-llvm-ir): the printer streams into the runtime's AtomicFileWriter
// (runtime/include/dq/runtime/Files.h), so the output is never held in
// memory as a whole and follows the project's output-file policy.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_SUPPORT_ATOMICFILESTREAM_H
#define DQ_SUPPORT_ATOMICFILESTREAM_H

#include "dq/runtime/Files.h"

#include "llvm/Support/raw_ostream.h"

#include <exception>
#include <string>

namespace mlir::dq {

/// Streams into an AtomicFileWriter. MLIR's and LLVM's printers take no
/// exceptions: the first failure is kept (error()) and the rest of the
/// output dropped; the caller checks error() before committing the file.
class AtomicFileStream : public llvm::raw_ostream {
public:
  explicit AtomicFileStream(::dq::runtime::AtomicFileWriter &file)
      : file(file) {}
  ~AtomicFileStream() override { flush(); }
  const std::string &error() const { return failure; }

private:
  void write_impl(const char *data, size_t size) override {
    if (!failure.empty())
      return;
    try {
      file.write(data, size);
      position += size;
    } catch (const std::exception &e) {
      failure = e.what();
    }
  }
  uint64_t current_pos() const override { return position; }

  ::dq::runtime::AtomicFileWriter &file;
  uint64_t position = 0;
  std::string failure;
};

} // namespace mlir::dq

#endif // DQ_SUPPORT_ATOMICFILESTREAM_H
