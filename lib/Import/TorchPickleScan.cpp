//===- TorchPickleScan.cpp - storages a TorchScript pickle declares -------===//
//
// A pickle machine for the opcodes torch's pickler writes (argument layouts
// as Python's pickletools defines them). It keeps only what the storage and
// tensor checks need: scalars, strings, globals, tuples and storages; lists,
// dicts and objects are opaque. Every read is checked against the bytes
// left, and nothing recurses on the input.
//
//===----------------------------------------------------------------------===//

#include "TorchPickleScan.h"

#include <cstring>
#include <memory>
#include <unordered_map>

using namespace dq::import;

namespace {

/// Element sizes of the storage types LibTorch's unpickler knows.
uint64_t elementSizeOf(const std::string &type) {
  static const std::unordered_map<std::string, uint64_t> sizes = {
      {"FloatStorage", 4},         {"DoubleStorage", 8},
      {"HalfStorage", 2},          {"BFloat16Storage", 2},
      {"LongStorage", 8},          {"IntStorage", 4},
      {"ShortStorage", 2},         {"CharStorage", 1},
      {"ByteStorage", 1},          {"BoolStorage", 1},
      {"ComplexHalfStorage", 4},   {"ComplexFloatStorage", 8},
      {"ComplexDoubleStorage", 16}, {"QInt8Storage", 1},
      {"QUInt8Storage", 1},        {"QInt32Storage", 4},
      {"QUInt4x2Storage", 1},      {"QUInt2x4Storage", 1},
  };
  auto it = sizes.find(type);
  return it == sizes.end() ? 0 : it->second;
}

struct Value;
using ValueRef = std::shared_ptr<const Value>;

struct Value {
  enum class Kind { None, Bool, Int, Float, String, Global, Tuple, Storage,
                    List, Dict, Opaque };
  Kind kind = Kind::Opaque;
  int64_t integer = 0;      // Bool, Int; Storage: index into the storages
  std::string text;         // String; Global: "module name"
  std::vector<ValueRef> items; // Tuple
  unsigned depth = 0;       // of nested tuples, bounds the destructors' recursion
};

/// Deeper tuples than any module writes; keeps destruction off the stack's end.
constexpr unsigned maxTupleDepth = 1000;

ValueRef make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

ValueRef makeInt(int64_t n) {
  auto v = std::make_shared<Value>();
  v->kind = Value::Kind::Int;
  v->integer = n;
  return v;
}

ValueRef makeText(Value::Kind kind, std::string text) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  v->text = std::move(text);
  return v;
}

const char *opcodeName(uint8_t op) {
  switch (op) {
  case 0x80: return "PROTO";
  case 0x2e: return "STOP";
  case 0x4b: return "BININT1";
  case 0x4d: return "BININT2";
  case 0x4a: return "BININT";
  case 0x8a: return "LONG1";
  case 0x47: return "BINFLOAT";
  case 0x58: return "BINUNICODE";
  case 0x8c: return "SHORT_BINUNICODE";
  case 0x54: return "BINSTRING";
  case 0x55: return "SHORT_BINSTRING";
  case 0x52: return "REDUCE";
  case 0x62: return "BUILD";
  case 0x81: return "NEWOBJ";
  case 0x51: return "BINPERSID";
  case 0x61: return "APPEND";
  case 0x73: return "SETITEM";
  case 0x71: return "BINPUT";
  case 0x72: return "LONG_BINPUT";
  case 0x68: return "BINGET";
  case 0x6a: return "LONG_BINGET";
  case 0x94: return "MEMOIZE";
  case 0x85: return "TUPLE1";
  case 0x86: return "TUPLE2";
  case 0x87: return "TUPLE3";
  default: return "an opcode";
  }
}

class Scanner {
public:
  Scanner(const char *data, size_t size, const std::string &recordDir,
          std::vector<DeclaredStorage> &storages)
      : data(reinterpret_cast<const uint8_t *>(data)), size(size),
        recordDir(recordDir), storages(storages) {}

  std::string run();

private:
  std::string fail(const std::string &what) {
    return what + " at offset " + std::to_string(opOffset);
  }
  bool has(size_t n) const { return size - pos >= n; }
  uint64_t readLE(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v |= uint64_t(data[pos + i]) << (8 * i);
    pos += n;
    return v;
  }
  /// The values above the innermost mark, which pops may not cross.
  size_t floor() const { return marks.empty() ? 0 : marks.back(); }
  bool pop(ValueRef &out) {
    if (stack.size() <= floor())
      return false;
    out = std::move(stack.back());
    stack.pop_back();
    return true;
  }
  /// Moves the values above the innermost mark into `items`, drops the mark.
  bool popMark(std::vector<ValueRef> &items) {
    if (marks.empty())
      return false;
    size_t mark = marks.back();
    marks.pop_back();
    items.assign(std::make_move_iterator(stack.begin() + mark),
                 std::make_move_iterator(stack.end()));
    stack.resize(mark);
    return true;
  }
  std::string pushTuple(std::vector<ValueRef> items);
  std::string persistentLoad(const ValueRef &pid);
  std::string checkTensor(const ValueRef &callable, const ValueRef &args);

  const uint8_t *data;
  size_t size;
  size_t pos = 0;
  size_t opOffset = 0;
  const std::string &recordDir;
  std::vector<DeclaredStorage> &storages;
  std::vector<ValueRef> stack;
  std::vector<size_t> marks;
  std::unordered_map<uint64_t, ValueRef> memo;
};

std::string Scanner::pushTuple(std::vector<ValueRef> items) {
  auto tuple = std::make_shared<Value>();
  tuple->kind = Value::Kind::Tuple;
  for (const ValueRef &item : items)
    tuple->depth = std::max(tuple->depth, item->depth);
  if (++tuple->depth > maxTupleDepth)
    return fail("tuples nested deeper than " + std::to_string(maxTupleDepth));
  tuple->items = std::move(items);
  stack.push_back(std::move(tuple));
  return "";
}

std::string Scanner::persistentLoad(const ValueRef &pid) {
  using Kind = Value::Kind;
  const std::vector<ValueRef> &f = pid->items;
  if (pid->kind != Kind::Tuple || f.size() != 5 ||
      f[0]->kind != Kind::String || f[0]->text != "storage")
    return fail("a persistent id that is not ('storage', type, key, "
                "location, numel)");
  if (f[1]->kind != Kind::Global || f[1]->text.rfind("torch ", 0) != 0)
    return fail("a storage whose type is not a torch global");
  std::string type = f[1]->text.substr(6);
  uint64_t elementSize = elementSizeOf(type);
  if (elementSize == 0)
    return fail("unknown storage type 'torch." + type + "'");
  if (f[2]->kind != Kind::String || f[2]->text.empty())
    return fail("a storage whose key is not a string");
  if (f[3]->kind != Kind::String)
    return fail("storage '" + f[2]->text + "' has no location string");
  if (f[4]->kind != Kind::Int || f[4]->integer < 0)
    return fail("storage '" + f[2]->text +
                "' has no element count (a non-negative int64)");
  DeclaredStorage storage;
  storage.record = recordDir + f[2]->text;
  storage.type = type;
  storage.numel = static_cast<uint64_t>(f[4]->integer);
  if (__builtin_mul_overflow(storage.numel, elementSize, &storage.numBytes))
    return fail("storage '" + storage.record +
                "' declares more bytes than fit in 64 bits");
  storage.offset = opOffset;
  auto value = std::make_shared<Value>();
  value->kind = Kind::Storage;
  value->integer = static_cast<int64_t>(storages.size());
  storages.push_back(std::move(storage));
  stack.push_back(std::move(value));
  return "";
}

/// LibTorch sets a rebuilt tensor's sizes and strides over the storage
/// unchecked: its last element must lie inside the storage.
std::string Scanner::checkTensor(const ValueRef &callable,
                                 const ValueRef &args) {
  using Kind = Value::Kind;
  if (callable->kind != Kind::Global ||
      (callable->text != "torch._utils _rebuild_tensor_v2" &&
       callable->text != "torch._utils _rebuild_qtensor"))
    return "";
  const std::vector<ValueRef> &a = args->items;
  if (a.empty() || a[0]->kind != Kind::Storage)
    return "";
  const DeclaredStorage &storage = storages[a[0]->integer];
  auto ints = [](const ValueRef &v, std::vector<int64_t> &out) {
    if (v->kind != Kind::Tuple)
      return false;
    for (const ValueRef &item : v->items) {
      if (item->kind != Kind::Int || item->integer < 0)
        return false;
      out.push_back(item->integer);
    }
    return true;
  };
  std::vector<int64_t> sizes, strides;
  if (a.size() < 4 || a[1]->kind != Kind::Int || a[1]->integer < 0 ||
      !ints(a[2], sizes) || !ints(a[3], strides) ||
      sizes.size() != strides.size())
    return fail("a tensor of storage '" + storage.record +
                "' without a non-negative offset and sizes and strides of "
                "one rank");
  // The flat index of the last element: offset + sum((size - 1) * stride).
  uint64_t last = static_cast<uint64_t>(a[1]->integer);
  bool overflow = false;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == 0)
      return ""; // no elements, nothing is read
    uint64_t step;
    overflow |= __builtin_mul_overflow(uint64_t(sizes[i] - 1),
                                       uint64_t(strides[i]), &step);
    overflow |= __builtin_add_overflow(last, step, &last);
  }
  if (overflow || last >= storage.numel) {
    std::string shape;
    for (int64_t s : sizes)
      shape += (shape.empty() ? "" : "x") + std::to_string(s);
    return "a tensor at offset " + std::to_string(opOffset) + " (shape [" +
           shape + "]) reaches " +
           (overflow ? std::string("past element 2^64")
                     : "element " + std::to_string(last)) +
           " of storage '" + storage.record + "', which declares " +
           std::to_string(storage.numel);
  }
  return "";
}

std::string Scanner::run() {
  using Kind = Value::Kind;
  while (pos < size) {
    opOffset = pos;
    uint8_t op = data[pos++];
    auto cutShort = [&] {
      return fail(std::string(opcodeName(op)) + " cut short");
    };
    auto underflow = [&] {
      return fail(std::string(opcodeName(op)) + " without enough values");
    };
    ValueRef a, b, c;
    std::vector<ValueRef> items;
    switch (op) {
    case 0x80: // PROTO
      if (!has(1))
        return cutShort();
      if (data[pos] > 5)
        return fail("pickle protocol " + std::to_string(data[pos]));
      ++pos;
      break;
    case 0x2e: // STOP
      if (stack.size() != 1 || !marks.empty())
        return fail("STOP with " + std::to_string(stack.size()) +
                    " values and " + std::to_string(marks.size()) +
                    " marks left (expected one value)");
      if (pos != size)
        return fail(std::to_string(size - pos) + " bytes after STOP");
      return "";
    case 0x28: // MARK
      marks.push_back(stack.size());
      break;
    case 0x4e: // NONE
      stack.push_back(make(Kind::None));
      break;
    case 0x88: // NEWTRUE
    case 0x89: { // NEWFALSE
      auto v = std::make_shared<Value>();
      v->kind = Kind::Bool;
      v->integer = op == 0x88;
      stack.push_back(std::move(v));
      break;
    }
    case 0x4b: // BININT1
    case 0x4d: // BININT2
      if (!has(op == 0x4b ? 1 : 2))
        return cutShort();
      stack.push_back(makeInt(int64_t(readLE(op == 0x4b ? 1 : 2))));
      break;
    case 0x4a: // BININT, signed
      if (!has(4))
        return cutShort();
      stack.push_back(makeInt(int32_t(uint32_t(readLE(4)))));
      break;
    case 0x8a: { // LONG1: n bytes, little-endian two's complement
      if (!has(1))
        return cutShort();
      size_t n = data[pos++];
      if (!has(n))
        return cutShort();
      if (n > 8) {
        // Fits in int64 only if the extra bytes repeat the sign.
        uint8_t sign = (data[pos + n - 1] & 0x80) ? 0xff : 0;
        bool fits = (data[pos + 7] & 0x80) == (sign & 0x80);
        for (size_t i = 8; i < n; ++i)
          fits &= data[pos + i] == sign;
        if (!fits) {
          pos += n;
          stack.push_back(make(Kind::Opaque)); // an integer beyond int64
          break;
        }
        uint64_t v = readLE(8);
        pos += n - 8;
        stack.push_back(makeInt(int64_t(v)));
        break;
      }
      uint64_t v = n ? readLE(n) : 0;
      if (n && n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~uint64_t(0) << (8 * n); // sign-extend
      stack.push_back(makeInt(int64_t(v)));
      break;
    }
    case 0x47: // BINFLOAT, 8 bytes big-endian
      if (!has(8))
        return cutShort();
      pos += 8;
      stack.push_back(make(Kind::Float));
      break;
    case 0x58:   // BINUNICODE, 4-byte length
    case 0x8c:   // SHORT_BINUNICODE, 1-byte length
    case 0x54:   // BINSTRING, 4-byte signed length
    case 0x55: { // SHORT_BINSTRING, 1-byte length
      size_t lengthBytes = (op == 0x58 || op == 0x54) ? 4 : 1;
      if (!has(lengthBytes))
        return cutShort();
      uint64_t length = readLE(lengthBytes);
      if (op == 0x54 && length > 0x7fffffff)
        return fail("BINSTRING with a negative length");
      if (!has(length))
        return fail(std::string(opcodeName(op)) + " of " +
                    std::to_string(length) + " bytes where " +
                    std::to_string(size - pos) + " are left");
      stack.push_back(makeText(
          Kind::String, std::string(reinterpret_cast<const char *>(data + pos),
                                    length)));
      pos += length;
      break;
    }
    case 0x63: { // GLOBAL: "module\nname\n"
      std::string parts[2];
      for (std::string &part : parts) {
        const void *end = std::memchr(data + pos, '\n', size - pos);
        if (!end)
          return fail("GLOBAL without its newline");
        size_t length = static_cast<const uint8_t *>(end) - (data + pos);
        part.assign(reinterpret_cast<const char *>(data + pos), length);
        pos += length + 1;
      }
      stack.push_back(makeText(Kind::Global, parts[0] + " " + parts[1]));
      break;
    }
    case 0x5d: // EMPTY_LIST
      stack.push_back(make(Kind::List));
      break;
    case 0x7d: // EMPTY_DICT
      stack.push_back(make(Kind::Dict));
      break;
    case 0x29: // EMPTY_TUPLE
      if (std::string error = pushTuple({}); !error.empty())
        return error;
      break;
    case 0x85: // TUPLE1
    case 0x86: // TUPLE2
    case 0x87: { // TUPLE3
      size_t n = op - 0x84;
      if (stack.size() - floor() < n)
        return underflow();
      items.assign(std::make_move_iterator(stack.end() - n),
                   std::make_move_iterator(stack.end()));
      stack.resize(stack.size() - n);
      if (std::string error = pushTuple(std::move(items)); !error.empty())
        return error;
      break;
    }
    case 0x74: // TUPLE
      if (!popMark(items))
        return fail("TUPLE without a MARK");
      if (std::string error = pushTuple(std::move(items)); !error.empty())
        return error;
      break;
    case 0x61: // APPEND
      if (!pop(a) || stack.size() <= floor())
        return underflow();
      if (stack.back()->kind != Kind::List)
        return fail("APPEND to what is not a list");
      break;
    case 0x65: // APPENDS
      if (!popMark(items) || stack.size() <= floor())
        return fail("APPENDS without a MARK above a list");
      if (stack.back()->kind != Kind::List)
        return fail("APPENDS to what is not a list");
      break;
    case 0x73: // SETITEM
      if (!pop(a) || !pop(b) || stack.size() <= floor())
        return underflow();
      if (stack.back()->kind != Kind::Dict)
        return fail("SETITEM on what is not a dict");
      break;
    case 0x75: // SETITEMS
      if (!popMark(items) || stack.size() <= floor())
        return fail("SETITEMS without a MARK above a dict");
      if (stack.back()->kind != Kind::Dict)
        return fail("SETITEMS on what is not a dict");
      if (items.size() % 2 != 0)
        return fail("SETITEMS with a key without a value");
      break;
    case 0x71:   // BINPUT
    case 0x72:   // LONG_BINPUT
    case 0x94: { // MEMOIZE
      uint64_t index = memo.size();
      if (op != 0x94) {
        size_t n = op == 0x71 ? 1 : 4;
        if (!has(n))
          return cutShort();
        index = readLE(n);
      }
      if (stack.size() <= floor())
        return underflow();
      memo[index] = stack.back();
      break;
    }
    case 0x68:   // BINGET
    case 0x6a: { // LONG_BINGET
      size_t n = op == 0x68 ? 1 : 4;
      if (!has(n))
        return cutShort();
      uint64_t index = readLE(n);
      auto it = memo.find(index);
      if (it == memo.end())
        return fail("memo entry " + std::to_string(index) +
                    " read before it is written");
      stack.push_back(it->second);
      break;
    }
    case 0x52: // REDUCE: callable, args -> result
    case 0x81: // NEWOBJ: class, args -> object
      if (!pop(a) || !pop(b))
        return underflow();
      if (a->kind != Kind::Tuple)
        return fail(std::string(opcodeName(op)) + " whose arguments are not "
                                                  "a tuple");
      if (op == 0x52)
        if (std::string error = checkTensor(b, a); !error.empty())
          return error;
      stack.push_back(make(Kind::Opaque));
      break;
    case 0x62: // BUILD: object, state -> object
      if (!pop(a) || stack.size() <= floor())
        return underflow();
      break;
    case 0x51: // BINPERSID
      if (!pop(a))
        return underflow();
      if (std::string error = persistentLoad(a); !error.empty())
        return error;
      break;
    default: {
      static const char hex[] = "0123456789abcdef";
      std::string code = {hex[op >> 4], hex[op & 15]};
      return fail("unsupported pickle opcode 0x" + code);
    }
    }
  }
  opOffset = size;
  return fail("the pickle ends without STOP");
}

} // namespace

std::string dq::import::scanTorchPickle(const char *data, size_t size,
                                        const std::string &recordDir,
                                        std::vector<DeclaredStorage> &storages) {
  return Scanner(data, size, recordDir, storages).run();
}
