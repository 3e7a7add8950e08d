// A compiled model: the shared library dq-compile wrote, checked against its
// manifest, with typed calls of its entry points.
#ifndef DQ_RUNTIME_MODEL_H
#define DQ_RUNTIME_MODEL_H

#include "dq/runtime/Collectives.h"
#include "dq/runtime/Manifest.h"
#include "dq/runtime/Tensor.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dq {
namespace runtime {

/// The prefix of dq-compile's files named by `path`: the path itself, or,
/// when it names one of the files (MODEL.so, MODEL.manifest.json,
/// MODEL.state) and no manifest of that name exists, the path without the
/// suffix.
std::string modelPrefix(const std::string &path);

/// The largest thread count a model may be asked for: 8 per online CPU.
unsigned maxThreadCount();

class CompiledModel {
public:
  /// Opens <prefix>.manifest.json and <prefix>.so (`prefix` as modelPrefix
  /// reads it) and verifies them against
  /// each other before calling anything (docs/Runtime.md): the library's
  /// size and hash against the manifest's, before it is loaded; then the
  /// signature the library embeds (module hash, batch, shapes, state,
  /// entry-point symbols) against the manifest, and that every entry point
  /// exists (train_step, predict and init_state for a training model,
  /// predict for an inference model). Throws Error naming both files on a
  /// mismatch. `threads` > 0 sets
  /// the OpenMP team size of a parallel model (OMP_NUM_THREADS, read when
  /// the OpenMP runtime starts, so it applies to the first model opened);
  /// 0 keeps the environment's choice (all cores by default).
  static std::unique_ptr<CompiledModel> open(const std::string &prefix,
                                             unsigned threads = 0);
  ~CompiledModel();
  CompiledModel(const CompiledModel &) = delete;
  CompiledModel &operator=(const CompiledModel &) = delete;

  const Manifest &manifest() const { return manifest_; }
  /// Where the code runs: "CPU", or "CUDA <GPU name> (sm_XY, N MiB)" for a
  /// model built by dq-compile --target cuda.
  std::string deviceDescription() const;
  const std::string &prefix() const { return prefix_; }
  /// An inference model (manifest kind "inference"): predict only, with an
  /// empty state; trainStep and initState throw.
  bool isInference() const { return manifest_.isInference(); }
  /// The OpenMP team size the model's parallel loops run with (its libomp's
  /// omp_get_max_threads); 1 for serial code and GPU models, whose host code
  /// has no OpenMP.
  unsigned threadCount() const;

  /// Gives a data-parallel model (manifest data_parallel) the collectives
  /// of its run's processes; until then, or with null, its all-reduces are
  /// the identity. Throws Error for a model without them.
  void setCollectives(const DQCollectives *collectives);

  struct StepResult {
    float loss = 0;
    int32_t correct = 0;
  };
  /// One training step on a batch (images [N,H,W,C], labels [N]); replaces
  /// `state` by the updated state. Throws Error for an inference model.
  StepResult trainStep(std::vector<HostTensor> &state, const float *images,
                       const int32_t *labels, float learningRate, int64_t step);
  /// Logits [N, classes] of a batch in inference mode. `state` is empty for
  /// an inference model.
  void predict(const std::vector<HostTensor> &state, const float *images,
               float *logits);
  /// The initial state, computed by the compiled @init_state. Throws Error
  /// for an inference model.
  std::vector<HostTensor> initState();
  /// A kernels library (manifest kind "kernels", dq-compile --kind
  /// kernels): plain functions, called with call().
  bool isKernels() const { return manifest_.isKernels(); }
  /// Calls entry point `name` of a kernels library: `inputs[i]` points to
  /// the i-th argument (a dense row-major tensor, or a scalar's value) of
  /// the manifest's type, `outputs[i]` to room for the i-th result (the
  /// same). Inputs are copied first (compiled code may write into its
  /// arguments); results are copied out and the buffers the code
  /// allocated for them freed. Throws Error for a count that does not match
  /// or another kind of model.
  void call(const std::string &name, const std::vector<const void *> &inputs,
            const std::vector<void *> &outputs);
  /// Whether the model has @calibrate (dq-build-training-graph
  /// calibration=true builds it).
  bool canCalibrate() const { return calibrate_ != nullptr; }
  /// Activation calibration on one batch (images [N,H,W,C]) after
  /// `batchesBefore` batches, `iterations` fits per quantizer: replaces
  /// `state` by the state with the activation bases fitted
  /// (docs/TrainingGraph.md). Throws Error when the model has no @calibrate.
  void calibrate(std::vector<HostTensor> &state, const float *images,
                 int64_t batchesBefore, int64_t iterations);

private:
  CompiledModel() = default;
  using Entry = void (*)(void **);
  Entry entry(const std::string &name) const;
  void checkState(const std::vector<HostTensor> &state) const;
  /// Throws unless the model has `name` (train_step, init_state).
  void requireTraining(const char *name) const;

  std::string prefix_;
  Manifest manifest_;
  void *library_ = nullptr;
  Entry trainStep_ = nullptr, predict_ = nullptr, initState_ = nullptr,
        calibrate_ = nullptr;
  /// The entry points of a kernels library.
  std::map<std::string, Entry> kernels_;
};

/// Throws unless `model` is a training or inference model (not a kernels
/// library, which has no images, logits or state), naming the file.
void requireModel(const CompiledModel &model);
/// Throws unless `model` was compiled for `device` ("cpu" or "cuda"; empty:
/// any), naming the dq-compile option that builds it.
void requireDevice(const CompiledModel &model, const std::string &device);

struct Dataset;

/// The predicted class (first maximum of the logits) of every image of a
/// normalized dataset, in batches of the model's size.
std::vector<int> predictClasses(CompiledModel &model,
                                const std::vector<HostTensor> &state,
                                const Dataset &data);

/// The fraction of `data`'s images whose predicted class is their label.
double accuracy(CompiledModel &model, const std::vector<HostTensor> &state,
                const Dataset &data);

class Communicator;

/// The same, evaluated by the processes of a data-parallel run together:
/// process r predicts batches r, r + N, ... of the N processes' and the
/// correct counts are summed, so the fraction is the same for any process
/// count, in 1/N of the time. Every process of the run must call it.
double accuracy(CompiledModel &model, const std::vector<HostTensor> &state,
                const Dataset &data, Communicator &comm);

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_MODEL_H
