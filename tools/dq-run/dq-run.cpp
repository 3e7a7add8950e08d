// dq-run: runs a trained dq model (dq-compile's output plus a state file from
// dq-train, or an inference model, which carries its trained tensors) without
// LLVM or MLIR: evaluates it on a test set (Fashion-MNIST, CIFAR-10 or a
// numpy .npz data set), prints the predicted class of every image of an IDX
// file or an .npz archive, or times its predict (--bench).
#include "dq/Contract/Roles.h"
#include "dq/runtime/Dataset.h"
#include "dq/runtime/Error.h"
#include "dq/runtime/Export.h"
#include "dq/runtime/Model.h"
#include "dq/runtime/StateFile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <map>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

using namespace dq::runtime;
using dq::contract::isRole;
using dq::contract::Role;

namespace {

const char *kUsage =
    "usage: dq-run MODEL [--state FILE] [--data DIR | --images IDX [--labels "
    "IDX] | --export FILE | --bench]\n"
    "  MODEL          prefix of dq-compile's output (or the path of its .so\n"
    "                 or .manifest.json)\n"
    "  --state FILE   trained state of a training model (required for it):\n"
    "                 dq-train's model.dqm (the export), final.state or a\n"
    "                 checkpoint; an inference model (dq-compile of a\n"
    "                 --dq-build-inference-graph module) takes none\n"
    "  --export FILE  write the export of --state (inference tensors, codes\n"
    "                 packed to their bit width) and stop\n"
    "  --data DIR     evaluate on the test set in DIR (default\n"
    "                 /usr/share/datasets/fashion-mnist)\n"
    "  --dataset NAME the test set of --data: fashion-mnist (default, IDX\n"
    "                 files), cifar10 (test_batch.bin), npz (test.npz:\n"
    "                 images uint8 [N,H,W,C], labels [N]) or folder\n"
    "                 (test/<class>/*.ppm|pgm; classes from train/)\n"
    "  --images FILE  print the predicted class of every image of an IDX\n"
    "                 file or an .npz archive as '<index> <class>' lines\n"
    "                 (with --labels IDX, or the .npz's labels, also the\n"
    "                 accuracy)\n"
    "  --bench        time predict on one fixed batch and stop: pseudo-random\n"
    "                 images (fixed seed), or the first of --images IDX or\n"
    "                 --data DIR when given; a training model without\n"
    "                 --state is timed with its initial state MODEL.state\n"
    "  --bench-runs N     timed calls (default 20)\n"
    "  --bench-warmup N   untimed calls before them (default 3)\n"
    "  --json         print the --bench or --inspect result as JSON\n"
    "  --inspect      list the tensors of --state FILE (an export, a final\n"
    "                 state or a checkpoint; without --state, the manifest's)\n"
    "                 with role, dtype, shape, bits, bytes and value range,\n"
    "                 and stop; reads only the manifest and the file, never\n"
    "                 loads the library\n"
    "  --device cpu|cuda  require a model compiled for this device\n"
    "                 (dq-compile --target); prints the device used\n"
    "  --threads N    threads of a parallel model (default: all cores)\n"
    "  --allow-invalid-state  load a state with non-finite values or\n"
    "                 negative variances anyway (warnings), to inspect it;\n"
    "                 codes out of range are always refused\n";

struct Options {
  std::string model, state, data = kDefaultFashionMnistDir, images, labels,
      exportPath, dataset = "fashion-mnist";
  bool datasetGiven = false;
  unsigned threads = 0;
  std::string device; // empty: what the model was compiled for
  bool allowInvalidState = false;
  bool exportGiven = false; // --export "" is an error, not "no export"
  bool stateGiven = false;  // --state "" is an error, not "no state"
  bool dataGiven = false;   // --bench times --data's images only if given
  bool bench = false, json = false, inspect = false;
  long benchRuns = 20, benchWarmup = 3;
  bool benchRunsGiven = false, benchWarmupGiven = false;
};

/// An integer option in [min, max]; throws naming it.
long parseCount(const std::string &option, const std::string &text, long min,
                long max) {
  char *end = nullptr;
  errno = 0;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || value < min ||
      value > max)
    throw Error("option " + option + ": expected an integer from " +
                std::to_string(min) + " to " + std::to_string(max) +
                ", got '" + text + "'\n" + kUsage);
  return value;
}

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw Error("option " + a + " needs a value\n" + kUsage);
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (a == "--state") {
      o.state = value();
      o.stateGiven = true;
    } else if (a == "--data") {
      o.data = value();
      o.dataGiven = true;
    } else if (a == "--dataset") {
      o.dataset = value();
      o.datasetGiven = true;
      if (o.dataset != "fashion-mnist" && o.dataset != "cifar10" &&
          o.dataset != "npz" && o.dataset != "folder")
        throw Error("option --dataset: expected fashion-mnist, cifar10, npz "
                    "or folder\n" + std::string(kUsage));
    } else if (a == "--images") {
      o.images = value();
    } else if (a == "--labels") {
      o.labels = value();
    } else if (a == "--export") {
      o.exportPath = value();
      o.exportGiven = true;
    } else if (a == "--device") {
      o.device = value();
      if (o.device != "cpu" && o.device != "cuda")
        throw Error("option --device: expected cpu or cuda\n" +
                    std::string(kUsage));
    } else if (a == "--threads") {
      std::string text = value();
      char *end = nullptr;
      long threads = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || threads < 1 ||
          threads > static_cast<long>(maxThreadCount()))
        throw Error("option --threads: expected a thread count from 1 to " +
                    std::to_string(maxThreadCount()) +
                    " (8 per CPU of this machine), got '" + text + "'\n" +
                    kUsage);
      o.threads = static_cast<unsigned>(threads);
    } else if (a == "--allow-invalid-state") {
      o.allowInvalidState = true;
    } else if (a == "--bench") {
      o.bench = true;
    } else if (a == "--inspect") {
      o.inspect = true;
    } else if (a == "--bench-runs") {
      o.benchRuns = parseCount(a, value(), 1, 1000000);
      o.benchRunsGiven = true;
    } else if (a == "--bench-warmup") {
      o.benchWarmup = parseCount(a, value(), 0, 1000000);
      o.benchWarmupGiven = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (!a.empty() && a[0] == '-') {
      throw Error("unknown option " + a + "\n" + kUsage);
    } else if (o.model.empty()) {
      o.model = a;
    } else {
      throw Error("unexpected argument '" + a + "'\n" + kUsage);
    }
  }
  if (o.exportGiven && o.allowInvalidState)
    throw Error("--export writes only valid states; drop "
                "--allow-invalid-state");
  if (o.model.empty())
    throw Error(std::string("missing MODEL\n") + kUsage);
  if (o.datasetGiven && !o.images.empty())
    throw Error("--dataset names the test set of --data; --images reads an "
                "IDX file or an .npz archive by itself");
  if (o.stateGiven && o.state.empty())
    throw Error(std::string("option --state: the file name is empty\n") +
                kUsage);
  if (o.inspect) {
    if (o.bench || o.exportGiven || !o.images.empty() || !o.labels.empty() ||
        o.dataGiven || o.datasetGiven || o.allowInvalidState ||
        o.benchRunsGiven || o.benchWarmupGiven)
      throw Error("--inspect lists the tensors of --state (or the manifest) "
                  "and stops; it takes only MODEL, --state and --json");
  } else if (!o.bench) {
    for (auto [given, name] : {std::pair{o.benchRunsGiven, "--bench-runs"},
                               std::pair{o.benchWarmupGiven, "--bench-warmup"},
                               std::pair{o.json, "--json"}})
      if (given)
        throw Error(std::string("option ") + name + " needs --bench" +
                    (std::string(name) == "--json" ? " or --inspect" : ""));
  } else {
    if (o.exportGiven)
      throw Error("--bench and --export are two runs: give one of them");
    if (!o.labels.empty())
      throw Error("--bench times predict on images only; drop --labels");
    if (!o.images.empty() && o.dataGiven)
      throw Error("--bench times one batch: give --images or --data, not both");
  }
  return o;
}

/// The 64-bit mix of splitmix64: the bench's pseudo-random pixels, the
/// same on every platform.
uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// One batch for --bench: the first images of --images or --data (repeated
/// when there are fewer than a batch), else pseudo-random pixels (seed 0),
/// normalized as evaluation normalizes them. `source` says which.
std::vector<float> benchBatch(const Options &o, const Manifest &m,
                              std::string &source) {
  size_t perImage = 1;
  for (int64_t d : m.imageShape)
    perImage *= static_cast<size_t>(d);
  std::vector<float> images(static_cast<size_t>(m.batch) * perImage);
  if (o.images.empty() && !o.dataGiven) {
    source = "random";
    uint64_t seed = 0;
    Preprocess input = effectivePreprocess(m);
    std::vector<float> mean = input.meanF32(), stddev = input.stddevF32();
    size_t channels = mean.size();
    for (size_t i = 0; i < images.size(); ++i) {
      float pixel = static_cast<float>(splitmix64(seed) >> 56) / 255.0f;
      size_t c = i % channels;
      images[i] = (pixel - mean[c]) / stddev[c];
    }
    return images;
  }
  source = o.images.empty() ? o.data : o.images;
  Dataset data = o.images.empty() ? loadNamedDataset(o.dataset, o.data,
                                                     /*train=*/false)
                 : looksLikeZip(o.images)
                     ? loadNpz(o.images, /*requireLabels=*/false)
                     : loadIdxImages(o.images);
  std::vector<int64_t> shape = {data.height, data.width, data.channels};
  if (shape != m.imageShape)
    throw Error(imageShapeMismatch(shape, m.imageShape,
                                   "the images of " + data.source));
  data.normalize(effectivePreprocess(m));
  std::vector<size_t> indices(m.batch);
  for (size_t i = 0; i < indices.size(); ++i)
    indices[i] = i % data.count;
  gatherBatch(data, indices, images.data());
  return images;
}

/// --bench: warm-up calls, then timed calls of predict on one batch; one
/// line (or JSON line) with the median and the minimum.
void bench(const Options &o, CompiledModel &model,
           const std::vector<HostTensor> &state) {
  const Manifest &m = model.manifest();
  std::string source;
  std::vector<float> images = benchBatch(o, m, source);
  std::vector<float> logits(static_cast<size_t>(m.batch * m.classes));
  for (long i = 0; i < o.benchWarmup; ++i)
    model.predict(state, images.data(), logits.data());
  std::vector<double> ms;
  ms.reserve(o.benchRuns);
  for (long i = 0; i < o.benchRuns; ++i) {
    auto start = std::chrono::steady_clock::now();
    model.predict(state, images.data(), logits.data());
    ms.push_back(std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  size_t n = ms.size();
  double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  double perImage = median / static_cast<double>(m.batch);
  bool gpu = m.device == "cuda";
  unsigned threads = model.threadCount();
  if (o.json) {
    nlohmann::ordered_json line = {
        {"bench", "predict"},
        {"model", model.prefix()},
        {"kind", m.kind},
        {"device", m.device},
        {"batch", m.batch},
        {"threads", gpu ? nlohmann::ordered_json() : nlohmann::ordered_json(threads)},
        {"images", source},
        {"warmup", o.benchWarmup},
        {"runs", o.benchRuns},
        {"median_ms", median},
        {"min_ms", ms.front()},
        {"ms_per_image", perImage}};
    std::printf("%s\n", line.dump().c_str());
    return;
  }
  std::string where =
      gpu ? std::string("GPU")
          : std::to_string(threads) + (threads == 1 ? " thread" : " threads");
  std::printf("dq-run: bench: predict batch %lld, %s: median %.4g ms/batch "
              "(%.4g ms/image), min %.4g ms, %ld run%s\n",
              static_cast<long long>(m.batch), where.c_str(), median, perImage,
              ms.front(), o.benchRuns, o.benchRuns == 1 ? "" : "s");
}

/// The bit width K of a codes, basis or act_basis tensor (the last
/// dimension of its basis), 0 for others.
int bitsOf(const Manifest &m, const TensorSpec &spec) {
  if (isRole(spec.role, Role::Codes))
    return codeBits(m, spec);
  if ((isRole(spec.role, Role::Basis) || isRole(spec.role, Role::ActBasis)) &&
      !spec.shape.empty())
    return static_cast<int>(spec.shape.back());
  return 0;
}

struct ValueRange {
  bool any = false;
  double min = 0, max = 0;
};

ValueRange rangeOf(const HostTensor &tensor) {
  ValueRange r;
  size_t n = tensor.spec.numElements();
  for (size_t i = 0; i < n; ++i) {
    double v;
    switch (tensor.spec.dtype) {
    case DType::F32:
      v = tensor.as<float>()[i];
      if (!std::isfinite(v))
        continue;
      break;
    case DType::I8: // codes are unsigned bytes
      v = isRole(tensor.spec.role, Role::Codes)
              ? static_cast<double>(static_cast<uint8_t>(tensor.as<int8_t>()[i]))
              : tensor.as<int8_t>()[i];
      break;
    case DType::I32:
      v = tensor.as<int32_t>()[i];
      break;
    default:
      v = static_cast<double>(tensor.as<int64_t>()[i]);
      break;
    }
    if (!r.any || v < r.min)
      r.min = v;
    if (!r.any || v > r.max)
      r.max = v;
    r.any = true;
  }
  return r;
}

std::string formatNumber(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

/// --inspect: the tensors of a state file, checkpoint or export (or of the
/// manifest), from the manifest and the file alone.
int inspect(const Options &o) {
  std::string prefix = modelPrefix(o.model);
  Manifest m = loadManifest(prefix + ".manifest.json");
  Preprocess input = effectivePreprocess(m);
  using ojson = nlohmann::ordered_json;
  ojson out = ojson::object();
  out["model"] = prefix;
  out["kind"] = m.kind;
  out["module_hash"] = formatModuleHash(m.moduleHash);
  out["image_shape"] = m.imageShape;
  out["classes"] = m.classes;
  out["preprocess"] = ojson::parse(preprocessToJson(input));
  out["preprocess_recorded"] = m.preprocess.has_value();

  std::vector<HostTensor> values;
  std::map<std::string, uint64_t> stored;
  std::string fileKind = "manifest";
  ojson metadata = ojson::object();
  if (o.stateGiven) {
    if (m.isInference())
      throw Error(prefix + ": an inference model carries its trained tensors "
                  "in its code; it has no state file to inspect (drop "
                  "--state)");
    StateFileContents contents = readStateFile(o.state);
    for (const HostTensor &tensor : contents.tensors)
      stored[tensor.spec.name] = tensor.spec.bytes();
    std::string text;
    // Checked as dq-run checks it; non-finite values are shown, not refused.
    values = readInferenceState(o.state, m, /*allowInvalidValues=*/true, &text);
    checkRecordedPreprocess(o.state, text, m);
    metadata = ojson::parse(text, nullptr, false);
    if (!metadata.is_object())
      metadata = ojson::object();
    fileKind = isExportMetadata(text)       ? "export"
               : metadata.contains("step") ? "checkpoint"
                                           : "state";
    out["file"] = o.state;
    out["file_bytes"] = libraryFactsOf(o.state).bytes;
    for (const char *key : {"step", "epoch", "batch_in_epoch", "run"})
      if (metadata.contains(key))
        out[key] = metadata[key];
  }
  out["file_kind"] = fileKind;

  ojson tensors = ojson::array();
  uint64_t total = 0, quantizedWeights = 0, fullPrecision = 0;
  for (size_t i = 0; i < m.state.size(); ++i) {
    const TensorSpec &spec = m.state[i];
    bool inFile = !o.stateGiven || stored.count(spec.name);
    if (!inFile)
      continue; // an export leaves training-only tensors out
    ojson t = ojson::object();
    t["name"] = spec.name;
    t["role"] = spec.role;
    t["dtype"] = dtypeName(spec.dtype);
    t["shape"] = spec.shape;
    int bits = bitsOf(m, spec);
    t["bits"] = bits ? ojson(bits) : ojson();
    uint64_t bytes = o.stateGiven ? stored[spec.name] : spec.bytes();
    t["bytes"] = bytes;
    total += bytes;
    if (isRole(spec.role, Role::Codes))
      quantizedWeights += spec.numElements();
    else if (isRole(spec.role, Role::Param) && spec.dtype == DType::F32)
      fullPrecision += spec.numElements();
    if (!values.empty()) {
      ValueRange r = rangeOf(values[i]);
      t["min"] = r.any ? ojson(r.min) : ojson();
      t["max"] = r.any ? ojson(r.max) : ojson();
    }
    tensors.push_back(std::move(t));
  }
  out["tensors"] = tensors;
  out["total_bytes"] = total;
  out["quantized_weights"] = quantizedWeights;
  out["full_precision_parameters"] = fullPrecision;
  if (o.json) {
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }

  std::printf("dq-run: %s: %s of %s (%s model, images %s, %lld classes)\n",
              o.stateGiven ? o.state.c_str() : (prefix + ".manifest.json").c_str(),
              fileKind == "manifest" ? "the state tensors of the manifest"
                                     : fileKind.c_str(),
              prefix.c_str(), m.kind.c_str(),
              shapeString(m.imageShape).c_str(),
              static_cast<long long>(m.classes));
  std::printf("  inputs: NHWC, (pixel/255 - mean) / std with %s%s\n",
              describePreprocess(input).c_str(),
              m.preprocess ? "" : " (not recorded: the default)");
  if (out.contains("step"))
    std::printf("  progress: step %s, epoch %s\n", out["step"].dump().c_str(),
                out.contains("epoch") ? out["epoch"].dump().c_str() : "?");
  size_t width = 4;
  for (const ojson &t : tensors)
    width = std::max(width, t["name"].get<std::string>().size());
  std::printf("  %-*s  %-12s %-5s %-18s %4s %10s  %s\n", static_cast<int>(width),
              "name", "role", "dtype", "shape", "bits", "bytes",
              values.empty() ? "" : "values");
  for (const ojson &t : tensors) {
    std::string range;
    if (t.contains("min") && !t["min"].is_null())
      range = formatNumber(t["min"].get<double>()) + " .. " +
              formatNumber(t["max"].get<double>());
    std::string bits = t["bits"].is_null() ? "-" : t["bits"].dump();
    std::string shape = shapeString(t["shape"].get<std::vector<int64_t>>());
    std::printf("  %-*s  %-12s %-5s %-18s %4s %10llu  %s\n",
                static_cast<int>(width),
                t["name"].get<std::string>().c_str(),
                t["role"].get<std::string>().c_str(),
                t["dtype"].get<std::string>().c_str(), shape.c_str(),
                bits.c_str(),
                static_cast<unsigned long long>(t["bytes"].get<uint64_t>()),
                range.c_str());
  }
  std::printf("  %zu tensors, %llu bytes of tensor data%s; %llu quantized "
              "weights (codes), %llu full-precision parameters\n",
              tensors.size(), static_cast<unsigned long long>(total),
              o.stateGiven ? (", file " + out["file_bytes"].dump() + " bytes")
                                 .c_str()
                           : "",
              static_cast<unsigned long long>(quantizedWeights),
              static_cast<unsigned long long>(fullPrecision));
  return 0;
}

int run(const Options &o) {
  if (o.inspect)
    return inspect(o);
  std::unique_ptr<CompiledModel> model = CompiledModel::open(o.model, o.threads);
  requireModel(*model);
  requireDevice(*model, o.device);
  if (!o.device.empty())
    std::printf("dq-run: device: %s\n", model->deviceDescription().c_str());
  std::vector<HostTensor> state;
  if (model->isInference()) {
    // Its trained tensors are constants in its code.
    if (o.stateGiven)
      throw Error(model->prefix() + ": an inference model carries its "
                  "trained tensors; it takes no state file (drop --state " +
                  o.state + ")");
    if (o.exportGiven)
      throw Error(model->prefix() + ": an inference model has no state to "
                  "export; its trained tensors are compiled in");
    if (o.allowInvalidState)
      throw Error("--allow-invalid-state applies to a state file; an "
                  "inference model takes none");
  } else {
    std::string statePath = o.state;
    if (!o.stateGiven && o.bench) {
      statePath = model->prefix() + ".state";
      std::fprintf(stderr, "dq-run: bench: no --state, timing the initial "
                           "state %s\n",
                   statePath.c_str());
    } else if (!o.stateGiven) {
      throw Error("MODEL and --state are required for a training model (an "
                  "inference model takes no state)\n" +
                  std::string(kUsage));
    }
    std::string metadata;
    state = readInferenceState(statePath, model->manifest(),
                               o.allowInvalidState, &metadata);
    // Trained on inputs normalized as the manifest says, or refused.
    checkRecordedPreprocess(statePath, metadata, model->manifest());
  }
  if (!model->manifest().preprocess && !o.exportGiven)
    std::fprintf(stderr,
                 "dq-run: note: %s.manifest.json records no input "
                 "normalization (compiled before dq-compile recorded it); "
                 "using %s, the default for its images (compile it again "
                 "to record it)\n",
                 model->prefix().c_str(),
                 describePreprocess(effectivePreprocess(model->manifest()))
                     .c_str());
  if (o.bench) {
    bench(o, *model, state);
    return 0;
  }
  if (o.exportGiven) {
    writeExport(o.exportPath, model->manifest(), state);
    std::printf("dq-run: wrote %s\n", o.exportPath.c_str());
    return 0;
  }
  if (!o.labels.empty() && o.images.empty())
    throw Error("--labels needs --images");
  Dataset data;
  bool npzImages = !o.images.empty() && looksLikeZip(o.images);
  if (npzImages && !o.labels.empty())
    throw Error(o.images + ": an .npz archive holds its own labels; drop "
                "--labels " + o.labels);
  if (o.images.empty())
    data = loadNamedDataset(o.dataset, o.data, /*train=*/false);
  else if (npzImages)
    data = loadNpz(o.images, /*requireLabels=*/false);
  else if (!o.labels.empty())
    data = loadIdx(o.images, o.labels);
  else
    data = loadIdxImages(o.images);
  bool haveLabels = !data.labels.empty();
  const Manifest &m = model->manifest();
  std::vector<int64_t> shape = {data.height, data.width, data.channels};
  if (shape != m.imageShape)
    throw Error(imageShapeMismatch(shape, m.imageShape,
                                   "the images of " + data.source));
  if (haveLabels) {
    // A label the model cannot predict is a mistake in the data or the
    // model: more classes than logits is an error, fewer a warning.
    std::string fewer =
        checkClassCount(data.classes, m.classes, data.source);
    if (!fewer.empty())
      std::fprintf(stderr, "dq-run: warning: %s\n", fewer.c_str());
  }
  data.normalize(effectivePreprocess(m));
  std::vector<int> predicted = predictClasses(*model, state, data);
  size_t correct = 0;
  if (haveLabels)
    for (size_t i = 0; i < data.count; ++i)
      correct += predicted[i] == data.labels[i];
  if (!o.images.empty())
    for (size_t i = 0; i < data.count; ++i)
      std::printf("%zu %d\n", i, predicted[i]);
  if (haveLabels)
    std::printf("dq-run: %zu image%s, accuracy %.2f%%\n", data.count,
                data.count == 1 ? "" : "s", 100.0 * correct / data.count);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "dq-run: %s\n", e.what());
    return 1;
  }
}
