// Host tensors of the DQ runtime: element types, tensor descriptions as the
// manifest and state files give them, and 64-byte aligned host storage.
#ifndef DQ_RUNTIME_TENSOR_H
#define DQ_RUNTIME_TENSOR_H

#include "dq/runtime/Error.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dq {
namespace runtime {

/// Element types; the values are the codes state files store.
enum class DType : uint32_t { F32 = 0, I8 = 1, I32 = 2, I64 = 3 };

inline const char *dtypeName(DType type) {
  switch (type) {
  case DType::F32:
    return "f32";
  case DType::I8:
    return "i8";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  }
  return "<invalid dtype>";
}

inline size_t dtypeSize(DType type) {
  switch (type) {
  case DType::F32:
    return 4;
  case DType::I8:
    return 1;
  case DType::I32:
    return 4;
  case DType::I64:
    return 8;
  }
  return 0;
}

/// "f32", "i8", "i32" or "i64"; nothing for any other text.
inline std::optional<DType> parseDType(std::string_view text) {
  for (DType type : {DType::F32, DType::I8, DType::I32, DType::I64})
    if (text == dtypeName(type))
      return type;
  return std::nullopt;
}

/// The dtype a state file's code stands for; nothing for an unknown code.
inline std::optional<DType> dtypeFromCode(uint64_t code) {
  if (code > static_cast<uint64_t>(DType::I64))
    return std::nullopt;
  return static_cast<DType>(code);
}

/// Bytes of a dense tensor, or nothing when a dimension is negative or the
/// size does not fit in 64 bits (shapes come from untrusted files).
inline std::optional<uint64_t>
checkedByteSize(DType type, const std::vector<int64_t> &shape) {
  // The product of the non-zero dims must fit int64_t even when a zero dim
  // makes the tensor empty: element counts and strides are computed from
  // prefixes of the shape ([2^31, 2^32, 0] would overflow on the way).
  const uint64_t limit = std::numeric_limits<int64_t>::max();
  uint64_t elements = 1;
  bool empty = false;
  for (int64_t dim : shape) {
    if (dim < 0)
      return std::nullopt;
    uint64_t d = static_cast<uint64_t>(dim);
    if (d == 0) {
      empty = true;
      continue;
    }
    if (elements > limit / d)
      return std::nullopt;
    elements *= d;
  }
  if (empty)
    return 0;
  uint64_t size = dtypeSize(type);
  if (elements > std::numeric_limits<uint64_t>::max() / size)
    return std::nullopt;
  return elements * size;
}

/// "[16,3,3,1]"; "[]" for a scalar.
inline std::string shapeString(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      text += ',';
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

/// One state tensor as the manifest describes it. `role` is empty for tensors
/// read from a state file alone (state files do not store roles).
struct TensorSpec {
  std::string name;
  std::string role;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;

  /// Elements; 1 for a scalar (rank 0). Assumes a validated shape.
  int64_t numElements() const {
    int64_t count = 1;
    for (int64_t dim : shape)
      count *= dim;
    return count;
  }
  /// Bytes of the dense data. Assumes a validated shape.
  size_t bytes() const {
    return static_cast<size_t>(numElements()) * dtypeSize(dtype);
  }
  /// "f32[16,3,3,1]", the notation of the manifest's entry points.
  std::string typeString() const {
    return dtypeName(dtype) + shapeString(shape);
  }
};

/// Zero-initialised bytes on a 64-byte boundary, so compiled code can use
/// aligned vector loads on tensor data. Copies are deep.
class AlignedBuffer {
public:
  static constexpr size_t kAlignment = 64;

  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size) { allocate(size); }
  AlignedBuffer(const AlignedBuffer &other) {
    allocate(other.size_);
    if (size_)
      std::memcpy(data_, other.data_, size_);
  }
  AlignedBuffer(AlignedBuffer &&other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  AlignedBuffer &operator=(AlignedBuffer other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~AlignedBuffer() { std::free(data_); }

  uint8_t *data() { return data_; }
  const uint8_t *data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint8_t *begin() { return data_; }
  uint8_t *end() { return data_ + size_; }
  const uint8_t *begin() const { return data_; }
  const uint8_t *end() const { return data_ + size_; }
  uint8_t &operator[](size_t i) { return data_[i]; }
  uint8_t operator[](size_t i) const { return data_[i]; }

  friend bool operator==(const AlignedBuffer &a, const AlignedBuffer &b) {
    return a.size_ == b.size_ &&
           (a.size_ == 0 || !std::memcmp(a.data_, b.data_, a.size_));
  }
  friend bool operator!=(const AlignedBuffer &a, const AlignedBuffer &b) {
    return !(a == b);
  }

private:
  void allocate(size_t size) {
    if (size == 0)
      return;
    // aligned_alloc wants a multiple of the alignment.
    if (size > std::numeric_limits<size_t>::max() - kAlignment)
      throw std::bad_alloc();
    size_t rounded = (size + kAlignment - 1) / kAlignment * kAlignment;
    data_ = static_cast<uint8_t *>(std::aligned_alloc(kAlignment, rounded));
    if (!data_)
      throw std::bad_alloc();
    std::memset(data_, 0, rounded);
    size_ = size;
  }

  uint8_t *data_ = nullptr;
  size_t size_ = 0;
};

/// The dtype a C++ element type stores as.
template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> {
  static constexpr DType value = DType::F32;
};
template <> struct DTypeOf<int8_t> {
  static constexpr DType value = DType::I8;
};
template <> struct DTypeOf<int32_t> {
  static constexpr DType value = DType::I32;
};
template <> struct DTypeOf<int64_t> {
  static constexpr DType value = DType::I64;
};

/// A tensor in host memory: its description and its dense row-major data.
struct HostTensor {
  TensorSpec spec;
  AlignedBuffer data;

  HostTensor() = default;
  /// Zero-filled storage for `spec`.
  explicit HostTensor(TensorSpec spec)
      : spec(std::move(spec)), data(this->spec.bytes()) {}

  int64_t numElements() const { return spec.numElements(); }

  /// The data as elements of T; throws when T is not the tensor's dtype.
  template <typename T> T *as() {
    checkType(DTypeOf<T>::value);
    return reinterpret_cast<T *>(data.data());
  }
  template <typename T> const T *as() const {
    checkType(DTypeOf<T>::value);
    return reinterpret_cast<const T *>(data.data());
  }
  /// Element `i` of a tensor of T, bounds-checked.
  template <typename T> T &at(int64_t i) {
    checkIndex(i);
    return as<T>()[i];
  }
  template <typename T> T at(int64_t i) const {
    checkIndex(i);
    return as<T>()[i];
  }

private:
  void checkType(DType wanted) const {
    if (spec.dtype != wanted)
      throw Error("tensor '" + spec.name + "' is " + dtypeName(spec.dtype) +
                  ", not " + dtypeName(wanted));
  }
  void checkIndex(int64_t i) const {
    if (i < 0 || i >= numElements())
      throw Error("tensor '" + spec.name + "': index " + std::to_string(i) +
                  " out of range for " + spec.typeString());
  }
};

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_TENSOR_H
