// Calls compiled entry points through their packed wrappers
// (dq_<name>(void **args), see dq-pack-entry-points): args[0] points to the
// struct of result memref descriptors, then one pointer per argument (a
// memref descriptor, or a scalar).
#include "dq/runtime/Model.h"

#include "dq/runtime/Communicator.h"
#include "dq/runtime/Dataset.h"
#include "dq/runtime/Error.h"

#include <dlfcn.h>
#include <unistd.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <set>

namespace dq {
namespace runtime {

namespace {

/// A ranked memref descriptor: {allocated, aligned, offset, sizes[r],
/// strides[r]}, all 8-byte words.
struct Descriptor {
  std::vector<int64_t> words;

  static Descriptor input(const void *data, const std::vector<int64_t> &shape) {
    Descriptor d;
    size_t rank = shape.size();
    d.words.resize(3 + 2 * rank);
    d.words[0] = d.words[1] = reinterpret_cast<intptr_t>(data);
    d.words[2] = 0;
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0;) {
      d.words[3 + i] = shape[i];
      d.words[3 + rank + i] = stride;
      stride *= shape[i];
    }
    return d;
  }
};

/// Whether `pointer` lies in a loaded object (a constant global).
bool inLoadedObject(const void *pointer) {
  Dl_info info;
  return dladdr(pointer, &info) != 0;
}

/// Frees the `allocated` pointers of returned memrefs, once each, after
/// every result was copied (results may share a buffer). Inputs and
/// constants stay: MLIR marks returned constant globals with 0xdeadbeef.
void freeCalleeBuffers(const std::vector<void *> &allocated,
                       const std::set<const void *> &inputs) {
  std::set<void *> freed;
  for (void *pointer : allocated) {
    if (!pointer || pointer == reinterpret_cast<void *>(0xdeadbeef) ||
        inputs.count(pointer) || freed.count(pointer) ||
        inLoadedObject(pointer))
      continue;
    freed.insert(pointer);
    std::free(pointer);
  }
}

/// The result descriptors of one call, laid out as the callee writes them.
class Results {
public:
  explicit Results(const std::vector<TensorSpec> &specs) : specs_(specs) {
    size_t words = 0;
    for (const TensorSpec &s : specs) {
      offsets_.push_back(words);
      words += 3 + 2 * s.shape.size();
    }
    words_.assign(words, 0);
  }
  void *pointer() { return words_.data(); }

  /// Copies result `i` into `out` (which has the result's spec).
  void copy(size_t i, void *out) const {
    const TensorSpec &spec = specs_[i];
    const int64_t *w = &words_[offsets_[i]];
    size_t rank = spec.shape.size();
    const char *aligned = reinterpret_cast<const char *>(w[1]);
    size_t element = dtypeSize(spec.dtype);
    int64_t expectedStride = 1;
    for (size_t d = rank; d-- > 0;) {
      if (w[3 + d] != spec.shape[d])
        throw Error("compiled code returned '" + spec.name + "' with a size " +
                    std::to_string(w[3 + d]) + " in dimension " +
                    std::to_string(d) + ", expected " + spec.typeString());
      if (w[3 + rank + d] != expectedStride && spec.shape[d] != 1)
        throw Error("compiled code returned '" + spec.name +
                    "' with a non-contiguous layout");
      expectedStride *= spec.shape[d];
    }
    std::memcpy(out, aligned + w[2] * element, spec.bytes());
  }

  /// Frees the result buffers the callee allocated (freeCalleeBuffers).
  void release(const std::set<const void *> &inputs) {
    std::vector<void *> allocated;
    for (size_t i = 0; i < specs_.size(); ++i)
      allocated.push_back(reinterpret_cast<void *>(words_[offsets_[i]]));
    freeCalleeBuffers(allocated, inputs);
  }

private:
  std::vector<TensorSpec> specs_;
  std::vector<size_t> offsets_;
  std::vector<int64_t> words_;
};

/// The argument array of a packed call: the result struct, the state
/// tensors, then the entry point's own tensors and scalars.
class Arguments {
public:
  Arguments(Results &results, const std::vector<HostTensor> &state) {
    pointers_.push_back(results.pointer());
    for (const HostTensor &t : state)
      tensor(t.data.data(), t.spec.shape);
  }
  void tensor(const void *data, const std::vector<int64_t> &shape) {
    // Descriptors live in a deque-like list so pointers to them stay valid.
    descriptors_.push_back(
        std::make_unique<Descriptor>(Descriptor::input(data, shape)));
    pointers_.push_back(descriptors_.back()->words.data());
    inputs_.insert(data);
  }
  void scalar(void *value) { pointers_.push_back(value); }
  void **pointers() { return pointers_.data(); }
  const std::set<const void *> &inputs() const { return inputs_; }

private:
  std::vector<std::unique_ptr<Descriptor>> descriptors_;
  std::vector<void *> pointers_;
  std::set<const void *> inputs_;
};

TensorSpec scalarSpec(const char *name, DType dtype) {
  TensorSpec spec;
  spec.name = name;
  spec.dtype = dtype;
  return spec;
}

} // namespace

std::string modelPrefix(const std::string &path) {
  for (const char *suffix : {".so", ".manifest.json", ".state"}) {
    size_t n = std::strlen(suffix);
    if (path.size() > n && path.compare(path.size() - n, n, suffix) == 0 &&
        ::access((path + ".manifest.json").c_str(), F_OK) != 0)
      return path.substr(0, path.size() - n);
  }
  return path;
}

unsigned maxThreadCount() {
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<unsigned>(8 * (cpus > 0 ? cpus : 1));
}

std::unique_ptr<CompiledModel> CompiledModel::open(const std::string &prefix,
                                                   unsigned threads) {
  if (threads > maxThreadCount())
    throw Error("a thread count of " + std::to_string(threads) +
                " is more than 8 per CPU of this machine (at most " +
                std::to_string(maxThreadCount()) + ")");
  if (threads > 0)
    setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
  // Compiled steps allocate and free the same large buffers every call;
  // keep them in the heap instead of mapping fresh zeroed pages each time.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  std::unique_ptr<CompiledModel> model(new CompiledModel());
  model->prefix_ = modelPrefix(prefix);
  std::string manifestPath = model->prefix_ + ".manifest.json";
  model->manifest_ = loadManifest(manifestPath);
  const Manifest &m = model->manifest_;
  std::string path = model->prefix_ + ".so";
  // The library is code. Before loading it, check that it is the file the
  // manifest was written for, whole: a truncated library faults while it is
  // mapped, and another build's would be called with the wrong contract.
  LibraryFacts facts = libraryFactsOf(path);
  if (facts.bytes != m.library.bytes || facts.hash != m.library.hash)
    throw Error(path + " does not match " + manifestPath + ": the library has " +
                std::to_string(facts.bytes) + " bytes (" +
                formatModuleHash(facts.hash) + "), the manifest was written "
                "for " + std::to_string(m.library.bytes) + " bytes (" +
                formatModuleHash(m.library.hash) +
                "); the files come from different dq-compile runs or the "
                "library is damaged: compile the model again");
  // A relative path without a slash would make dlopen search the library
  // path instead of opening this file.
  std::string loadPath = path.find('/') == std::string::npos ? "./" + path
                                                             : path;
  model->library_ = dlopen(loadPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!model->library_) {
    const char *why = dlerror();
    throw Error(path + ": cannot load the compiled model: " +
                (why ? why : "unknown error") +
                (model->manifest_.device == "cuda"
                     ? " (a GPU model needs libdq_cuda_runtime.so next to it "
                       "and the NVIDIA driver's libcuda.so.1)"
                     : ""));
  }
  // What the library says it was compiled for must be what the manifest
  // says, or the calls below would pass buffers of the wrong sizes.
  const char *signature = static_cast<const char *>(
      dlsym(model->library_, kModelSignatureSymbol));
  if (!signature)
    throw Error(path + ": no embedded model signature ('" +
                std::string(kModelSignatureSymbol) +
                "'): not a library this dq-compile wrote; compile the model "
                "again");
  std::string mismatch = compareModelSignature(
      std::string(signature, ::strnlen(signature, 1 << 24)), m);
  if (!mismatch.empty())
    throw Error(path + " and " + manifestPath + " disagree: " + mismatch +
                "; use the manifest dq-compile wrote with this library");
  // An inference model has predict only (requiredEntryPoints); entry
  // points a manifest lists beyond its kind's are not called.
  if (m.isKernels()) {
    for (const auto &[name, entry] : m.entryPoints)
      model->kernels_[name] = model->entry(name);
    return model;
  }
  model->predict_ = model->entry("predict");
  if (!m.isInference()) {
    model->trainStep_ = model->entry("train_step");
    model->initState_ = model->entry("init_state");
    // Optional: built with dq-build-training-graph calibration=true.
    if (m.entryPoints.count("calibrate"))
      model->calibrate_ = model->entry("calibrate");
  }
  return model;
}

std::string CompiledModel::deviceDescription() const {
  if (manifest_.device != "cuda")
    return "CPU";
  // The model loaded the CUDA runtime next to it as a dependency.
  std::string directory = prefix_.substr(0, prefix_.find_last_of('/') + 1);
  std::string runtime = (directory.empty() ? "./" : directory) +
                        "libdq_cuda_runtime.so";
  void *handle = dlopen(runtime.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (!handle)
    return "CUDA GPU";
  using Describe = void (*)(char *, size_t);
  auto describe =
      reinterpret_cast<Describe>(dlsym(handle, "dqCudaDescribeDevice"));
  char text[512] = "CUDA GPU";
  if (describe)
    describe(text, sizeof text);
  dlclose(handle);
  return std::string("CUDA ") + text;
}

void requireModel(const CompiledModel &model) {
  if (model.isKernels())
    throw Error(model.prefix() + ": a kernels library (dq-compile --kind "
                                 "kernels), not a model: it has no "
                                 "train_step or predict to run");
}

void requireDevice(const CompiledModel &model, const std::string &device) {
  if (device.empty() || device == model.manifest().device)
    return;
  if (device != "cpu" && device != "cuda")
    throw Error("--device: expected cpu or cuda, got '" + device + "'");
  const std::string &built = model.manifest().device;
  throw Error(model.prefix() + " was compiled for the " +
              (built == "cuda" ? "GPU (CUDA)" : "CPU") +
              "; compile it with dq-compile --target " + device +
              " to run it with --device " + device);
}

unsigned CompiledModel::threadCount() const {
  // dlsym on the model's handle searches the libraries it depends on: the
  // libomp of a parallel model, nothing for serial code.
  using MaxThreads = int (*)();
  auto maxThreads =
      reinterpret_cast<MaxThreads>(dlsym(library_, "omp_get_max_threads"));
  int threads = maxThreads ? maxThreads() : 1;
  return threads > 0 ? static_cast<unsigned>(threads) : 1;
}

void CompiledModel::setCollectives(const DQCollectives *collectives) {
  auto set = reinterpret_cast<DQSetCollectivesFn>(
      dlsym(library_, "dq_model_set_collectives"));
  if (!set)
    throw Error(prefix_ + ".so has no dq_model_set_collectives: it does not "
                          "all-reduce, so it cannot train with other "
                          "processes (build it with dq-build-training-graph "
                          "data-parallel=true)");
  set(collectives);
}

void CompiledModel::requireTraining(const char *name) const {
  if (isKernels())
    throw Error(prefix_ + ": a kernels library (dq-compile --kind kernels) "
                          "has no " + std::string(name) +
                "; call its functions by name");
  if (isInference())
    throw Error(prefix_ + ": an inference model (dq-compile of a "
                          "--dq-build-inference-graph module) has no " +
                std::string(name) +
                "; its trained tensors are compiled in and it only "
                "predicts");
}

CompiledModel::~CompiledModel() {
  if (library_)
    dlclose(library_);
}

CompiledModel::Entry CompiledModel::entry(const std::string &name) const {
  auto it = manifest_.entryPoints.find(name);
  if (it == manifest_.entryPoints.end())
    throw Error(prefix_ + ".manifest.json: no entry point '" + name + "'");
  void *symbol = dlsym(library_, it->second.symbol.c_str());
  if (!symbol)
    throw Error(prefix_ + ".so: missing symbol '" + it->second.symbol +
                "' that the manifest lists for '" + name +
                "' (manifest and library from different builds?)");
  return reinterpret_cast<Entry>(symbol);
}

void CompiledModel::checkState(const std::vector<HostTensor> &state) const {
  if (state.size() != manifest_.state.size())
    throw Error("state has " + std::to_string(state.size()) +
                " tensors, the model expects " +
                std::to_string(manifest_.state.size()));
  for (size_t i = 0; i < state.size(); ++i) {
    const TensorSpec &want = manifest_.state[i];
    const TensorSpec &got = state[i].spec;
    if (got.dtype != want.dtype || got.shape != want.shape)
      throw Error("state tensor " + std::to_string(i) + " ('" + want.name +
                  "') is " + got.typeString() + ", the model expects " +
                  want.typeString());
  }
}

CompiledModel::StepResult
CompiledModel::trainStep(std::vector<HostTensor> &state, const float *images,
                         const int32_t *labels, float learningRate,
                         int64_t step) {
  requireTraining("train_step");
  checkState(state);
  const Manifest &m = manifest_;
  std::vector<int64_t> imageShape = {m.batch};
  imageShape.insert(imageShape.end(), m.imageShape.begin(), m.imageShape.end());

  std::vector<TensorSpec> outputs = m.state;
  outputs.push_back(scalarSpec("loss", DType::F32));
  outputs.push_back(scalarSpec("correct", DType::I32));
  Results results(outputs);

  Arguments call(results, state);
  call.tensor(images, imageShape);
  call.tensor(labels, {m.batch});
  call.scalar(&learningRate);
  call.scalar(&step);
  trainStep_(call.pointers());

  std::vector<HostTensor> next;
  next.reserve(state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    next.emplace_back(m.state[i]);
    results.copy(i, next.back().data.data());
  }
  StepResult result;
  results.copy(state.size(), &result.loss);
  results.copy(state.size() + 1, &result.correct);
  results.release(call.inputs());
  state = std::move(next);
  return result;
}

void CompiledModel::predict(const std::vector<HostTensor> &state,
                            const float *images, float *logits) {
  if (isKernels())
    requireTraining("predict");
  checkState(state);
  const Manifest &m = manifest_;
  std::vector<int64_t> imageShape = {m.batch};
  imageShape.insert(imageShape.end(), m.imageShape.begin(), m.imageShape.end());
  TensorSpec logitsSpec = scalarSpec("logits", DType::F32);
  logitsSpec.shape = {m.batch, m.classes};
  Results results({logitsSpec});
  Arguments call(results, state);
  call.tensor(images, imageShape);
  predict_(call.pointers());
  results.copy(0, logits);
  results.release(call.inputs());
}

void CompiledModel::calibrate(std::vector<HostTensor> &state,
                              const float *images, int64_t batchesBefore,
                              int64_t iterations) {
  requireTraining("calibrate");
  if (!calibrate_)
    throw Error(prefix_ + " has no calibrate entry point: build its "
                          "training module with dq-build-training-graph "
                          "calibration=true and compile it");
  checkState(state);
  const Manifest &m = manifest_;
  std::vector<int64_t> imageShape = {m.batch};
  imageShape.insert(imageShape.end(), m.imageShape.begin(), m.imageShape.end());
  Results results(m.state);
  Arguments call(results, state);
  call.tensor(images, imageShape);
  call.scalar(&batchesBefore);
  call.scalar(&iterations);
  calibrate_(call.pointers());
  std::vector<HostTensor> next;
  next.reserve(state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    next.emplace_back(m.state[i]);
    results.copy(i, next.back().data.data());
  }
  results.release(call.inputs());
  state = std::move(next);
}

namespace {

/// C's size and alignment of a scalar of `dtype`; a memref descriptor is
/// words of 8 bytes.
size_t scalarAlignment(DType dtype) { return dtypeSize(dtype); }

/// Where each result lives in the C interface's result struct (several
/// results), laid out as C lays out a struct of descriptors and scalars.
std::vector<size_t> resultOffsets(const std::vector<EntryValue> &values,
                                  size_t &bytes) {
  std::vector<size_t> offsets;
  size_t offset = 0;
  for (const EntryValue &value : values) {
    size_t align = value.scalar ? scalarAlignment(value.spec.dtype) : 8;
    size_t size = value.scalar ? dtypeSize(value.spec.dtype)
                               : 8 * (3 + 2 * value.spec.shape.size());
    offset = (offset + align - 1) / align * align;
    offsets.push_back(offset);
    offset += size;
  }
  bytes = (offset + 7) / 8 * 8;
  return offsets;
}

/// Copies the memref a descriptor describes (any strides) into dense `out`.
void copyStrided(const int64_t *descriptor, const TensorSpec &spec,
                 const std::string &where, uint8_t *out) {
  size_t rank = spec.shape.size();
  const int64_t *sizes = descriptor + 3, *strides = descriptor + 3 + rank;
  for (size_t d = 0; d < rank; ++d)
    if (sizes[d] != spec.shape[d])
      throw Error(where + ": the compiled code returned size " +
                  std::to_string(sizes[d]) + " in dimension " +
                  std::to_string(d) + ", the manifest says " +
                  spec.typeString());
  int64_t count = spec.numElements();
  if (count == 0)
    return;
  size_t element = dtypeSize(spec.dtype);
  const uint8_t *base = reinterpret_cast<const uint8_t *>(descriptor[1]) +
                        descriptor[2] * int64_t(element);
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t at = 0;
    for (size_t d = 0; d < rank; ++d)
      at += index[d] * strides[d];
    std::memcpy(out + i * element, base + at * int64_t(element), element);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < spec.shape[d])
        break;
      index[d] = 0;
    }
  }
}

} // namespace

void CompiledModel::call(const std::string &name,
                         const std::vector<const void *> &inputs,
                         const std::vector<void *> &outputs) {
  if (!isKernels())
    throw Error(prefix_ + ": call() is for kernels libraries; this is a " +
                manifest_.kind + " model");
  auto found = kernels_.find(name);
  if (found == kernels_.end())
    throw Error(prefix_ + ": no function '" + name + "'");
  const EntryPoint &entry = manifest_.entryPoints.at(name);
  std::string where = prefix_ + ": " + name;
  if (inputs.size() != entry.inputValues.size() ||
      outputs.size() != entry.outputValues.size())
    throw Error(where + " takes " + std::to_string(entry.inputValues.size()) +
                " arguments and gives " +
                std::to_string(entry.outputValues.size()) + " results, not " +
                std::to_string(inputs.size()) + " and " +
                std::to_string(outputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i] && (entry.inputValues[i].scalar ||
                       entry.inputValues[i].spec.bytes()))
      throw Error(where + ": argument " + std::to_string(i) + " is NULL");
  for (size_t i = 0; i < outputs.size(); ++i)
    if (!outputs[i] && (entry.outputValues[i].scalar ||
                        entry.outputValues[i].spec.bytes()))
      throw Error(where + ": result " + std::to_string(i) + " is NULL");

  // The C interface: a pointer to the result (one tensor) or to the struct
  // of results (several), then the arguments; one scalar result is
  // returned, and the packed wrapper stores it through the last slot.
  const std::vector<EntryValue> &results = entry.outputValues;
  bool returnsScalar = results.size() == 1 && results[0].scalar;
  size_t resultBytes = 0;
  std::vector<size_t> offsets = resultOffsets(results, resultBytes);
  std::vector<int64_t> resultWords(std::max<size_t>(resultBytes / 8, 1), 0);
  uint8_t *resultBase = reinterpret_cast<uint8_t *>(resultWords.data());
  std::vector<void *> args;
  if (!results.empty() && !returnsScalar)
    args.push_back(resultBase);
  std::vector<AlignedBuffer> copies;
  copies.reserve(inputs.size());
  std::vector<Descriptor> descriptors;
  descriptors.reserve(inputs.size());
  std::set<const void *> inputBuffers;
  std::vector<int64_t> scalars(inputs.size(), 0);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const EntryValue &value = entry.inputValues[i];
    if (value.scalar) {
      std::memcpy(&scalars[i], inputs[i], dtypeSize(value.spec.dtype));
      args.push_back(&scalars[i]);
      continue;
    }
    copies.emplace_back(value.spec.bytes());
    if (value.spec.bytes())
      std::memcpy(copies.back().data(), inputs[i], value.spec.bytes());
    const uint8_t *data = copies.back().data();
    inputBuffers.insert(data);
    descriptors.push_back(Descriptor::input(data, value.spec.shape));
    args.push_back(descriptors.back().words.data());
  }
  if (returnsScalar)
    args.push_back(resultBase);
  found->second(args.data());

  if (returnsScalar) {
    std::memcpy(outputs[0], resultBase, dtypeSize(results[0].spec.dtype));
    return;
  }
  std::vector<void *> allocated;
  for (size_t i = 0; i < results.size(); ++i) {
    const EntryValue &value = results[i];
    uint8_t *slot = resultBase + offsets[i];
    if (value.scalar) {
      std::memcpy(outputs[i], slot, dtypeSize(value.spec.dtype));
      continue;
    }
    const int64_t *descriptor = reinterpret_cast<const int64_t *>(slot);
    copyStrided(descriptor, value.spec,
                where + ": result " + std::to_string(i),
                static_cast<uint8_t *>(outputs[i]));
    allocated.push_back(reinterpret_cast<void *>(descriptor[0]));
  }
  freeCalleeBuffers(allocated, inputBuffers);
}

std::vector<HostTensor> CompiledModel::initState() {
  requireTraining("init_state");
  Results results(manifest_.state);
  void *args[] = {results.pointer()};
  initState_(args);
  std::vector<HostTensor> state;
  for (size_t i = 0; i < manifest_.state.size(); ++i) {
    state.emplace_back(manifest_.state[i]);
    results.copy(i, state.back().data.data());
  }
  results.release({});
  return state;
}

} // namespace runtime
} // namespace dq

namespace dq {
namespace runtime {

namespace {

/// Predicts eval batches first, first + stride, ... of `data` and calls
/// `onImage(image index, predicted class)` for each valid image.
template <typename OnImage>
void predictBatches(CompiledModel &model, const std::vector<HostTensor> &state,
                    const Dataset &data, size_t first, size_t stride,
                    OnImage onImage) {
  const Manifest &m = model.manifest();
  BatchSampler sampler(data.count, m.batch, 0);
  std::vector<float> images(m.batch * data.imageElements());
  std::vector<float> logits(m.batch * m.classes);
  std::vector<Batch> batches = sampler.evalBatches();
  for (size_t k = first; k < batches.size(); k += stride) {
    const Batch &batch = batches[k];
    gatherBatch(data, batch.indices, images.data());
    model.predict(state, images.data(), logits.data());
    for (size_t i = 0; i < batch.valid; ++i) {
      const float *row = &logits[i * m.classes];
      int best = 0;
      for (int c = 1; c < m.classes; ++c)
        if (row[c] > row[best])
          best = c;
      onImage(batch.indices[i], best);
    }
  }
}

} // namespace

std::vector<int> predictClasses(CompiledModel &model,
                                const std::vector<HostTensor> &state,
                                const Dataset &data) {
  std::vector<int> predicted(data.count);
  predictBatches(model, state, data, 0, 1,
                 [&](size_t image, int best) { predicted[image] = best; });
  return predicted;
}

double accuracy(CompiledModel &model, const std::vector<HostTensor> &state,
                const Dataset &data) {
  return accuracy(model, state, data, singleProcess());
}

double accuracy(CompiledModel &model, const std::vector<HostTensor> &state,
                const Dataset &data, Communicator &comm) {
  std::vector<uint64_t> correct = {0};
  predictBatches(model, state, data, static_cast<size_t>(comm.rank()),
                 static_cast<size_t>(comm.size()),
                 [&](size_t image, int best) {
                   correct[0] += best == data.labels[image];
                 });
  comm.sum(correct);
  return static_cast<double>(correct[0]) / data.count;
}

} // namespace runtime
} // namespace dq
