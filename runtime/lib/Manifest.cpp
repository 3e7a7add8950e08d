// Reading, validating and writing manifests (docs/Runtime.md).
#include "dq/runtime/Manifest.h"

#include "dq/runtime/Error.h"
#include "dq/runtime/StateFile.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

namespace dq {
namespace runtime {

uint64_t fnv1a64(const void *data, size_t size, uint64_t hash) {
  const auto *bytes = static_cast<const uint8_t *>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ULL; // FNV 64-bit prime
  }
  return hash;
}

std::string formatModuleHash(uint64_t hash) {
  char text[32];
  std::snprintf(text, sizeof(text), "fnv1a64:%016" PRIx64, hash);
  return text;
}

std::optional<uint64_t> parseModuleHash(const std::string &text) {
  static const std::string prefix = "fnv1a64:";
  if (text.size() != prefix.size() + 16 ||
      text.compare(0, prefix.size(), prefix))
    return std::nullopt;
  uint64_t hash = 0;
  for (size_t i = prefix.size(); i < text.size(); ++i) {
    char c = text[i];
    unsigned digit;
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if (c >= 'a' && c <= 'f')
      digit = c - 'a' + 10;
    else
      return std::nullopt;
    hash = hash << 4 | digit;
  }
  return hash;
}

const TensorSpec *Manifest::findState(const std::string &name) const {
  for (const TensorSpec &spec : state)
    if (spec.name == name)
      return &spec;
  return nullptr;
}

const std::vector<std::string> &requiredEntryPoints(const std::string &kind) {
  static const std::vector<std::string> training = {"train_step", "predict",
                                                    "init_state"};
  static const std::vector<std::string> inference = {"predict"};
  static const std::vector<std::string> kernels = {};
  if (kind == kTrainingKind)
    return training;
  if (kind == kInferenceKind)
    return inference;
  if (kind == kKernelsKind)
    return kernels;
  throw Error("unknown model kind \"" + kind + "\" (expected \"" +
              kTrainingKind + "\", \"" + kInferenceKind + "\" or \"" +
              kKernelsKind + "\")");
}

std::string formatEntryValue(const EntryValue &value) {
  return value.spec.name + " " +
         (value.scalar ? std::string(dtypeName(value.spec.dtype))
                       : value.spec.typeString());
}

std::optional<EntryValue> parseEntryValue(const std::string &text) {
  size_t space = text.find(' ');
  if (space == std::string::npos || space == 0 ||
      text.find(' ', space + 1) != std::string::npos)
    return std::nullopt;
  EntryValue value;
  value.spec.name = text.substr(0, space);
  std::string type = text.substr(space + 1);
  size_t bracket = type.find('[');
  value.scalar = bracket == std::string::npos;
  std::optional<DType> dtype = parseDType(type.substr(0, bracket));
  if (!dtype)
    return std::nullopt;
  value.spec.dtype = *dtype;
  if (value.scalar)
    return value;
  if (type.back() != ']')
    return std::nullopt;
  std::string dims = type.substr(bracket + 1, type.size() - bracket - 2);
  size_t start = 0;
  while (!dims.empty() && start <= dims.size()) {
    size_t comma = dims.find(',', start);
    std::string dim = dims.substr(start, comma == std::string::npos
                                             ? std::string::npos
                                             : comma - start);
    if (dim.empty() || dim.size() > 18 ||
        dim.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    value.spec.shape.push_back(std::stoll(dim));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  if (!checkedByteSize(value.spec.dtype, value.spec.shape))
    return std::nullopt;
  return value;
}

namespace {

using json = nlohmann::json;

/// Field accessors that throw "<source>: <field>: <problem>".
class FieldReader {
public:
  explicit FieldReader(const std::string &source) : source_(source) {}

  [[noreturn]] void fail(const std::string &field,
                         const std::string &problem) const {
    throw Error(source_ + ": " + field + ": " + problem);
  }

  const json &member(const json &object, const char *key,
                     const std::string &field) const {
    auto it = object.find(key);
    if (it == object.end())
      fail(field, "missing");
    return *it;
  }

  const json &object(const json &parent, const char *key,
                     const std::string &field) const {
    const json &value = member(parent, key, field);
    if (!value.is_object())
      fail(field, "expected an object, got " + describe(value));
    return value;
  }

  std::string string(const json &parent, const char *key,
                     const std::string &field) const {
    const json &value = member(parent, key, field);
    if (!value.is_string() || value.get_ref<const std::string &>().empty())
      fail(field, "expected a non-empty string, got " + describe(value));
    return value.get<std::string>();
  }

  int64_t integer(const json &parent, const char *key, const std::string &field,
                  int64_t min) const {
    const json &value = member(parent, key, field);
    std::optional<int64_t> number = asInteger(value);
    if (!number || *number < min)
      fail(field, "expected an integer >= " + std::to_string(min) + ", got " +
                      describe(value));
    return *number;
  }

  /// A hash in formatModuleHash's form.
  uint64_t hash(const json &parent, const char *key,
                const std::string &field) const {
    std::string text = string(parent, key, field);
    std::optional<uint64_t> parsed = parseModuleHash(text);
    if (!parsed)
      fail(field, "expected \"fnv1a64:\" and 16 lower-case hex digits, got \"" +
                      text + "\"");
    return *parsed;
  }

  /// An array of integers >= `minDim` (0 for tensor shapes).
  std::vector<int64_t> dims(const json &parent, const char *key,
                            const std::string &field, int64_t minDim) const {
    const json &value = member(parent, key, field);
    std::string expected = minDim > 0
                               ? "expected an array of positive integers"
                               : "expected an array of non-negative integers";
    if (!value.is_array())
      fail(field, expected + ", got " + describe(value));
    std::vector<int64_t> dims;
    for (size_t i = 0; i < value.size(); ++i) {
      std::optional<int64_t> dim = asInteger(value[i]);
      if (!dim || *dim < minDim)
        fail(field, expected + ", got " + describe(value[i]) + " at index " +
                        std::to_string(i));
      dims.push_back(*dim);
    }
    return dims;
  }

  std::vector<std::string> strings(const json &parent, const char *key,
                                   const std::string &field) const {
    const json &value = member(parent, key, field);
    if (!value.is_array())
      fail(field, "expected an array of strings, got " + describe(value));
    std::vector<std::string> strings;
    for (size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_string())
        fail(field + "[" + std::to_string(i) + "]",
             "expected a string, got " + describe(value[i]));
      strings.push_back(value[i].get<std::string>());
    }
    return strings;
  }

  /// Scalars by value (shortened), containers by kind.
  static std::string describe(const json &value) {
    if (value.is_object() || value.is_array())
      return std::string("an ") + value.type_name();
    std::string text = value.dump();
    if (text.size() > 40)
      text = text.substr(0, 37) + "...";
    return text;
  }

private:
  /// JSON integers only: 3.0 is a float in the manifest's grammar.
  static std::optional<int64_t> asInteger(const json &value) {
    if (value.is_number_unsigned()) {
      uint64_t number = value.get<uint64_t>();
      if (number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return std::nullopt;
      return static_cast<int64_t>(number);
    }
    if (value.is_number_integer())
      return value.get<int64_t>();
    return std::nullopt;
  }

  const std::string &source_;
};

TensorSpec parseStateEntry(const FieldReader &reader, const json &entry,
                           const std::string &field) {
  if (!entry.is_object())
    reader.fail(field,
                "expected an object, got " + FieldReader::describe(entry));
  TensorSpec spec;
  spec.name = reader.string(entry, "name", field + ".name");
  spec.role = reader.string(entry, "role", field + ".role");
  std::string dtype = reader.string(entry, "dtype", field + ".dtype");
  std::optional<DType> parsed = parseDType(dtype);
  if (!parsed)
    reader.fail(field + ".dtype",
                "expected \"f32\", \"i8\", \"i32\" or \"i64\", got \"" + dtype +
                    "\"");
  spec.dtype = *parsed;
  spec.shape = reader.dims(entry, "shape", field + ".shape", 0);
  std::optional<uint64_t> size = checkedByteSize(spec.dtype, spec.shape);
  if (!size ||
      *size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    reader.fail(field + ".shape", "tensor size overflows 63 bits");
  int64_t bytes = reader.integer(entry, "bytes", field + ".bytes", 0);
  if (static_cast<uint64_t>(bytes) != *size)
    reader.fail(field + ".bytes", std::to_string(bytes) + " does not match " +
                                      spec.typeString() + " (" +
                                      std::to_string(*size) + " bytes)");
  return spec;
}

EntryPoint parseEntryPoint(const FieldReader &reader, const json &value,
                           const std::string &field) {
  if (!value.is_object())
    reader.fail(field,
                "expected an object, got " + FieldReader::describe(value));
  EntryPoint entry;
  entry.symbol = reader.string(value, "symbol", field + ".symbol");
  entry.inputs = reader.strings(value, "inputs", field + ".inputs");
  entry.outputs = reader.strings(value, "outputs", field + ".outputs");
  return entry;
}

/// The whole file as text; throws naming the file.
std::string readTextFile(const std::string &path) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    throw Error(path + ": cannot open: " + std::strerror(errno));
  std::string text;
  char chunk[65536];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof(chunk), file)) > 0)
    text.append(chunk, got);
  bool failed = std::ferror(file);
  int savedErrno = errno;
  std::fclose(file);
  if (failed)
    throw Error(path + ": cannot read: " + std::strerror(savedErrno));
  return text;
}

} // namespace

Manifest parseManifest(const std::string &jsonText, const std::string &source) {
  json root;
  try {
    root = json::parse(jsonText);
  } catch (const json::exception &e) {
    // parse_error, and out_of_range for numbers no double holds ("1e400").
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix; keep the
    // line, column and reason that follow.
    std::string message = e.what();
    size_t bracket = message.find("] ");
    if (message.rfind("[json.exception.", 0) == 0 &&
        bracket != std::string::npos)
      message = message.substr(bracket + 2);
    throw Error(source + ": invalid JSON: " + message);
  }

  FieldReader reader(source);
  if (!root.is_object())
    throw Error(source + ": expected a JSON object at the top level, got " +
                FieldReader::describe(root));

  std::string format = reader.string(root, "format", "format");
  if (format != kManifestFormat)
    reader.fail("format", std::string("expected \"") + kManifestFormat +
                              "\", got \"" + format + "\"");
  int64_t version = reader.integer(root, "version", "version", 0);
  if (version != kManifestVersion)
    reader.fail("version",
                "unsupported version " + std::to_string(version) +
                    " (this runtime reads version " +
                    std::to_string(kManifestVersion) +
                    (version < kManifestVersion
                         ? "; the model was compiled by an older dq-compile, "
                           "whose libraries the runtime cannot verify: "
                           "compile it again)"
                         : ")"));

  Manifest manifest;
  if (root.contains("kind")) {
    manifest.kind = reader.string(root, "kind", "kind");
    if (manifest.kind != kTrainingKind && manifest.kind != kInferenceKind &&
        manifest.kind != kKernelsKind)
      reader.fail("kind", std::string("expected \"") + kTrainingKind +
                              "\", \"" + kInferenceKind + "\" or \"" +
                              kKernelsKind + "\", got \"" + manifest.kind +
                              "\"");
  }
  manifest.moduleHash = reader.hash(root, "module_hash", "module_hash");
  const json &library = reader.object(root, "library", "library");
  manifest.library.bytes = static_cast<uint64_t>(
      reader.integer(library, "bytes", "library.bytes", 1));
  manifest.library.hash = reader.hash(library, "hash", "library.hash");
  // A kernels library has no images or classes.
  if (!manifest.isKernels()) {
    manifest.batch = reader.integer(root, "batch", "batch", 1);
    manifest.imageShape = reader.dims(root, "image_shape", "image_shape", 1);
    if (manifest.imageShape.empty())
      reader.fail("image_shape",
                  "expected a non-empty array of positive integers");
    manifest.classes = reader.integer(root, "classes", "classes", 1);
  }
  if (root.contains("device")) {
    manifest.device = reader.string(root, "device", "device");
    if (manifest.device != "cpu" && manifest.device != "cuda")
      reader.fail("device", "expected \"cpu\" or \"cuda\", got \"" +
                                manifest.device + "\"");
  }

  if (root.contains("data_parallel")) {
    const json &flag = root["data_parallel"];
    if (!flag.is_boolean())
      reader.fail("data_parallel", "expected true or false");
    manifest.dataParallel = flag.get<bool>();
  }

  if (root.contains("preprocess")) {
    if (manifest.imageShape.size() != 3)
      reader.fail("preprocess", "layout NHWC needs an image_shape [H, W, C], "
                                "the manifest has " +
                                    shapeString(manifest.imageShape));
    manifest.preprocess =
        preprocessFromJson(root["preprocess"].dump(), source, "preprocess",
                           manifest.imageShape.back());
  }

  const json &state = reader.member(root, "state", "state");
  if (!state.is_array())
    reader.fail("state",
                "expected an array, got " + FieldReader::describe(state));
  std::map<std::string, size_t> firstIndex;
  for (size_t i = 0; i < state.size(); ++i) {
    std::string field = "state[" + std::to_string(i) + "]";
    TensorSpec spec = parseStateEntry(reader, state[i], field);
    auto [it, inserted] = firstIndex.emplace(spec.name, i);
    if (!inserted)
      reader.fail(field + ".name", "duplicate name \"" + spec.name +
                                       "\" (also state[" +
                                       std::to_string(it->second) + "])");
    manifest.state.push_back(std::move(spec));
  }
  // An inference model's trained tensors are constants in its code.
  if (!manifest.state.empty() &&
      (manifest.isInference() || manifest.isKernels()))
    reader.fail("state", std::string(manifest.isInference()
                                         ? "an inference model"
                                         : "a kernels library") +
                             " has no state tensors, the manifest lists " +
                             std::to_string(manifest.state.size()));

  const json &entryPoints = reader.object(root, "entry_points", "entry_points");
  for (const std::string &name : requiredEntryPoints(manifest.kind))
    if (!entryPoints.contains(name))
      reader.fail("entry_points." + name,
                  manifest.isInference()
                      ? "missing (an inference model has predict)"
                      : "missing (a training model has train_step, predict "
                        "and init_state)");
  for (auto it = entryPoints.begin(); it != entryPoints.end(); ++it) {
    std::string field = "entry_points." + it.key();
    EntryPoint entry = parseEntryPoint(reader, it.value(), field);
    // A kernels library is called by these signatures alone.
    if (manifest.isKernels()) {
      auto values = [&](const std::vector<std::string> &texts,
                        const std::string &member) {
        std::vector<EntryValue> parsed;
        for (size_t i = 0; i < texts.size(); ++i) {
          std::optional<EntryValue> value = parseEntryValue(texts[i]);
          if (!value)
            reader.fail(field + "." + member + "[" + std::to_string(i) + "]",
                        "expected \"<name> <dtype>\" or \"<name> "
                        "<dtype>[<dims>]\", got \"" + texts[i] + "\"");
          parsed.push_back(std::move(*value));
        }
        return parsed;
      };
      entry.inputValues = values(entry.inputs, "inputs");
      entry.outputValues = values(entry.outputs, "outputs");
    }
    manifest.entryPoints[it.key()] = std::move(entry);
  }
  if (manifest.isKernels() && manifest.entryPoints.empty())
    reader.fail("entry_points", "a kernels library has at least one");
  return manifest;
}

Manifest loadManifest(const std::string &path) {
  return parseManifest(readTextFile(path), path);
}

std::string toJson(const Manifest &manifest) {
  // ordered_json keeps the documented field order, which makes manifests
  // easier to read and diff than nlohmann's default sorted keys.
  using ojson = nlohmann::ordered_json;
  ojson root = ojson::object();
  root["format"] = kManifestFormat;
  root["version"] = kManifestVersion;
  root["kind"] = manifest.kind;
  root["module_hash"] = formatModuleHash(manifest.moduleHash);
  ojson library = ojson::object();
  library["bytes"] = manifest.library.bytes;
  library["hash"] = formatModuleHash(manifest.library.hash);
  root["library"] = std::move(library);
  if (!manifest.isKernels()) {
    root["batch"] = manifest.batch;
    root["image_shape"] = manifest.imageShape;
    root["classes"] = manifest.classes;
  }
  if (manifest.device != "cpu")
    root["device"] = manifest.device;
  if (manifest.dataParallel)
    root["data_parallel"] = true;
  if (manifest.preprocess)
    root["preprocess"] = ojson::parse(preprocessToJson(*manifest.preprocess));
  ojson state = ojson::array();
  for (const TensorSpec &spec : manifest.state) {
    ojson entry = ojson::object();
    entry["name"] = spec.name;
    entry["role"] = spec.role;
    entry["dtype"] = dtypeName(spec.dtype);
    entry["shape"] = spec.shape;
    // An invalid shape is written as is; writeManifest's check rejects it.
    entry["bytes"] = checkedByteSize(spec.dtype, spec.shape).value_or(0);
    state.push_back(std::move(entry));
  }
  root["state"] = std::move(state);
  ojson entryPoints = ojson::object();
  for (const auto &[name, entry] : manifest.entryPoints) {
    ojson value = ojson::object();
    value["symbol"] = entry.symbol;
    value["inputs"] = entry.inputs;
    value["outputs"] = entry.outputs;
    entryPoints[name] = std::move(value);
  }
  root["entry_points"] = std::move(entryPoints);
  return root.dump(2) + "\n";
}

Preprocess effectivePreprocess(const Manifest &manifest) {
  return manifest.preprocess ? *manifest.preprocess
                             : legacyPreprocess(manifest.imageShape);
}

std::string modelSignature(const Manifest &manifest) {
  using ojson = nlohmann::ordered_json;
  ojson root = ojson::object();
  root["format"] = "dq-model-signature";
  root["version"] = 1;
  // Only when not training: a training library's signature stays what it
  // was before models had a kind, so those libraries still load.
  if (manifest.kind != kTrainingKind)
    root["kind"] = manifest.kind;
  root["module_hash"] = formatModuleHash(manifest.moduleHash);
  root["batch"] = manifest.batch;
  root["image_shape"] = manifest.imageShape;
  root["classes"] = manifest.classes;
  root["device"] = manifest.device;
  if (manifest.dataParallel)
    root["data_parallel"] = true;
  ojson state = ojson::array();
  for (const TensorSpec &spec : manifest.state)
    state.push_back(ojson::array(
        {spec.name, spec.role, dtypeName(spec.dtype), spec.shape}));
  root["state"] = std::move(state);
  ojson symbols = ojson::object();
  // A kernels library is called by its entry points' signatures, so they
  // are part of its contract.
  for (const auto &[name, entry] : manifest.entryPoints)
    symbols[name] = manifest.isKernels()
                        ? ojson::array({entry.symbol, entry.inputs,
                                        entry.outputs})
                        : ojson(entry.symbol);
  root["entry_points"] = std::move(symbols);
  return root.dump();
}

std::string compareModelSignature(const std::string &librarySignature,
                                  const Manifest &manifest) {
  std::string expected = modelSignature(manifest);
  if (librarySignature == expected)
    return "";
  // Ordered, so the first difference follows modelSignature's field order.
  using ojson = nlohmann::ordered_json;
  ojson library = ojson::parse(librarySignature, nullptr, false);
  ojson wanted = ojson::parse(expected);
  auto field = [](const ojson &object, const std::string &key) {
    return object.is_object() && object.contains(key) ? object[key] : ojson();
  };
  if (library.is_discarded() || field(library, "format") != wanted["format"])
    return "the library's embedded signature is not one dq-compile writes";
  auto text = [](const ojson &value) {
    return value.is_null() ? std::string("nothing") : value.dump();
  };
  // The kind first (absent is "training"): an inference library behind a
  // training manifest, or the reverse, differs in everything after it.
  auto kind = [&](const ojson &signature) {
    ojson value = field(signature, "kind");
    return value.is_null() ? ojson(kTrainingKind) : value;
  };
  if (kind(library) != kind(wanted))
    return "kind: the library was compiled for " + text(kind(library)) +
           ", the manifest says " + text(kind(wanted));
  for (const auto &item : wanted.items()) {
    const std::string &key = item.key();
    if (key == "kind")
      continue;
    const ojson &want = item.value();
    ojson got = field(library, key);
    if (got == want)
      continue;
    if (key == "state") {
      if (!got.is_array() || got.size() != want.size())
        return "state: the library was compiled for " +
               std::to_string(got.is_array() ? got.size() : 0) +
               " state tensors, the manifest lists " +
               std::to_string(want.size());
      for (size_t i = 0; i < want.size(); ++i)
        if (got[i] != want[i])
          return "state[" + std::to_string(i) +
                 "]: the library was compiled for " + text(got[i]) +
                 ", the manifest says " + text(want[i]);
    }
    if (key == "entry_points")
      for (const auto &entry : want.items())
        if (field(got, entry.key()) != entry.value())
          return "entry_points." + entry.key() +
                 ": the library's symbol is " +
                 text(field(got, entry.key())) + ", the manifest says " +
                 text(entry.value());
    return key + ": the library was compiled for " + text(got) +
           ", the manifest says " + text(want);
  }
  return "the library's embedded signature differs from the manifest";
}

LibraryFacts libraryFactsOf(const std::string &path) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    throw Error(path + ": cannot open: " + std::strerror(errno));
  LibraryFacts facts;
  uint64_t hash = kFnv1a64Basis;
  std::vector<uint8_t> chunk(1 << 16);
  size_t got;
  while ((got = std::fread(chunk.data(), 1, chunk.size(), file)) > 0) {
    hash = fnv1a64(chunk.data(), got, hash);
    facts.bytes += got;
  }
  bool failed = std::ferror(file);
  int savedErrno = errno;
  std::fclose(file);
  if (failed)
    throw Error(path + ": cannot read: " + std::strerror(savedErrno));
  facts.hash = hash;
  return facts;
}

void writeManifest(const std::string &path, const Manifest &manifest) {
  std::string text = toJson(manifest);
  // Never write a manifest the runtime would refuse to load.
  parseManifest(text, path);
  writeFileAtomic(path, text);
}

} // namespace runtime
} // namespace dq
