//===- Trainer.cpp - the training loop of dq-train ------------------------===//
//
// train() (Trainer.h): calibration, epochs of the compiled train_step under
// the cosine schedule, the guard against diverged steps, evaluations,
// checkpoints, metrics.jsonl, interruption and resume.
//
//===----------------------------------------------------------------------===//

#include "dq/runtime/Trainer.h"

#include "dq/runtime/Dataset.h"
#include "dq/runtime/Error.h"
#include "dq/runtime/Export.h"
#include "dq/runtime/Files.h"
#include "dq/runtime/Metrics.h"
#include "dq/runtime/StateFile.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

using namespace dq::runtime;
using Json = nlohmann::json;

namespace {

Dataset limited(Dataset d, size_t limit) {
  if (limit == 0 || limit >= d.count)
    return d;
  size_t per = d.imageElements();
  d.count = limit;
  d.raw.resize(limit * per);
  d.labels.resize(limit);
  if (!d.images.empty())
    d.images.resize(limit * per);
  return d;
}

/// A warning when the training images' per-channel statistics (pixel/255)
/// are far from the normalization the model was compiled for: a user's own
/// data under another data set's defaults trains worse than it could.
void warnIfOtherStatistics(const Dataset &data, const Preprocess &input) {
  size_t channels = static_cast<size_t>(data.channels);
  if (data.raw.empty() || input.channels() != channels)
    return;
  std::vector<uint64_t> histogram(256 * channels, 0);
  for (size_t i = 0; i < data.raw.size(); ++i)
    ++histogram[(i % channels) * 256 + data.raw[i]];
  std::vector<double> mean(channels), stddev(channels);
  bool far = false;
  for (size_t c = 0; c < channels; ++c) {
    double n = 0, sum = 0, squares = 0;
    for (int v = 0; v < 256; ++v) {
      double count = static_cast<double>(histogram[c * 256 + v]);
      double x = v / 255.0;
      n += count;
      sum += count * x;
      squares += count * x * x;
    }
    mean[c] = sum / n;
    stddev[c] = std::sqrt(std::max(0.0, squares / n - mean[c] * mean[c]));
    double ratio = stddev[c] / input.stddev[c];
    if (std::fabs(mean[c] - input.mean[c]) > 0.1 || !(ratio > 0.67) ||
        !(ratio < 1.5))
      far = true;
  }
  if (!far)
    return;
  auto list = [](const std::vector<double> &values) {
    std::string text;
    for (double v : values) {
      char number[32];
      std::snprintf(number, sizeof number, "%.4f", v);
      text += (text.empty() ? "" : ",") + std::string(number);
    }
    return text;
  };
  std::fprintf(stderr,
               "dq-train: warning: the training images have mean %s, std %s "
               "(pixel/255, per channel), but the model normalizes with %s "
               "(its manifest); for inputs near mean 0 and std 1 compile it "
               "with --input-mean %s --input-std %s\n",
               list(mean).c_str(), list(stddev).c_str(),
               describePreprocess(input).c_str(), list(mean).c_str(),
               list(stddev).c_str());
}

/// 0.5 * lr0 * (1 + cos(pi * t / T)), t = completed steps.
double cosineRate(double lr0, int64_t step, int64_t total) {
  const double pi = 3.14159265358979323846;
  return 0.5 * lr0 *
         (1.0 + std::cos(pi * static_cast<double>(step) /
                         static_cast<double>(total)));
}

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "--:--";
  long s = static_cast<long>(seconds + 0.5);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60,
                  s % 60);
  else
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  return text;
}

struct Progress {
  bool bar;
  std::chrono::steady_clock::time_point start =
      std::chrono::steady_clock::now();
  void update(int epoch, int epochs, size_t done, size_t total, double loss,
              double accuracy, size_t stepsDone, size_t stepsLeft) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    double rate = elapsed > 0 ? stepsDone / elapsed : 0;
    double eta = rate > 0 ? stepsLeft / rate : NAN;
    if (bar) {
      int width = 24,
          filled = total ? static_cast<int>(width * done / total) : 0;
      std::fprintf(stderr,
                   "\repoch %d/%d [%-*s] %zu/%zu  %.1f steps/s  loss %.4f  "
                   "acc %.2f%%  ETA %s   ",
                   epoch + 1, epochs, width, std::string(filled, '#').c_str(),
                   done, total, rate, loss, 100 * accuracy,
                   formatDuration(eta).c_str());
      std::fflush(stderr);
    } else if (done == total || done % 50 == 0) {
      std::fprintf(stderr,
                   "epoch %d/%d step %zu/%zu  %.1f steps/s  loss %.4f  acc "
                   "%.2f%%  ETA %s\n",
                   epoch + 1, epochs, done, total, rate, loss, 100 * accuracy,
                   formatDuration(eta).c_str());
    }
  }
  void endLine() {
    if (bar)
      std::fprintf(stderr, "\n");
  }
};

/// Where a run starts: the beginning, or a checkpoint's progress.
struct StartPoint {
  int epoch = 0;
  size_t batchInEpoch = 0;
  int64_t step = 0;
  std::string runId;
  double lossSum = 0;
  size_t correct = 0, seen = 0;
  double trainSeconds = 0; // of the run before this checkpoint
  // The metrics window so far (steps since the last "step" line).
  int64_t windowSteps = 0;
  double windowLossSum = 0;
  size_t windowCorrect = 0;
};

/// Steps since the last "step" line at `step`: lines come at multiples of
/// `every` and after the last step.
int64_t windowStepsAt(int64_t step, int64_t every, int64_t totalSteps) {
  if (every <= 0 || step >= totalSteps)
    return 0;
  return step % every;
}

/// Now, as "2026-12-02T18:00:00Z".
std::string utcNow() {
  std::time_t now = std::time(nullptr);
  std::tm parts;
  char text[32];
  if (!gmtime_r(&now, &parts) ||
      !std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts))
    return "";
  return text;
}

/// "<seconds since 1970, hex>-<pid>": tells the runs of one --out apart in
/// metrics.jsonl.
std::string newRunId() {
  char text[48];
  std::snprintf(text, sizeof text, "%llx-%ld",
                static_cast<unsigned long long>(std::time(nullptr)),
                static_cast<long>(::getpid()));
  return text;
}

/// The progress of checkpoint `path`, every field validated against the
/// run's options and dataset before it is used.
StartPoint readProgress(const std::string &path, const std::string &metadata,
                        const TrainOptions &o, size_t trainImages,
                        size_t perEpoch, int64_t batch, int64_t totalSteps,
                        int processes) {
  Json meta = Json::parse(metadata, nullptr, false);
  if (meta.is_discarded() || !meta.is_object() || !meta.contains("step"))
    throw Error(path + ": not a dq-train checkpoint (no training progress in "
                       "its metadata)");
  auto bad = [&](const std::string &field, const std::string &why) {
    return Error(path + ": checkpoint field '" + field + "' " + why);
  };
  auto integer = [&](const char *field, int64_t min, int64_t max) {
    if (!meta.contains(field))
      throw bad(field, "is missing");
    const Json &v = meta[field];
    if (!v.is_number_integer() ||
        (v.is_number_unsigned() &&
         v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) ||
        v.get<int64_t>() < min || v.get<int64_t>() > max)
      throw bad(field, "is " + v.dump() + ", expected an integer in [" +
                           std::to_string(min) + ", " + std::to_string(max) +
                           "]");
    return v.get<int64_t>();
  };
  // The options the checkpoint's schedule was made for.
  bool sameRun = meta.contains("seed") && meta["seed"].is_number_unsigned() &&
                 meta["seed"].get<uint64_t>() == o.seed &&
                 meta.contains("epochs") && meta["epochs"] == Json(o.epochs) &&
                 meta.contains("lr") && meta["lr"].is_number() &&
                 meta["lr"].get<double>() == o.lr &&
                 meta.contains("train_images") &&
                 meta["train_images"] == Json(trainImages);
  if (!sameRun)
    throw Error(path + ": the checkpoint was written with other "
                       "--seed/--epochs/--lr/--limit-train values; resume "
                       "with the same ones");
  // Another number of processes is another batch, so another schedule.
  int64_t written = meta.contains("processes")
                        ? integer("processes", 1, 1 << 20)
                        : 1;
  if (written != processes)
    throw Error(path + ": the checkpoint was written by a run of " +
                std::to_string(written) + " process" +
                (written == 1 ? "" : "es") + ", this one has " +
                std::to_string(processes) + ": resume with " +
                std::to_string(written));
  StartPoint p;
  p.epoch = static_cast<int>(integer("epoch", 0, o.epochs));
  p.batchInEpoch = static_cast<size_t>(
      integer("batch_in_epoch", 0,
              p.epoch == o.epochs ? 0 : static_cast<int64_t>(perEpoch) - 1));
  int64_t expected =
      static_cast<int64_t>(p.epoch) * static_cast<int64_t>(perEpoch) +
      static_cast<int64_t>(p.batchInEpoch);
  p.step = integer("step", 0, INT64_MAX);
  if (p.step != expected)
    throw bad("step", "is " + std::to_string(p.step) + ", but epoch " +
                          std::to_string(p.epoch) + " and batch " +
                          std::to_string(p.batchInEpoch) + " of " +
                          std::to_string(perEpoch) + " per epoch mean step " +
                          std::to_string(expected));
  if (meta.contains("run")) {
    if (!meta["run"].is_string() || meta["run"].get<std::string>().empty() ||
        meta["run"].get<std::string>().size() > 64)
      throw bad("run", "is not a run id");
    p.runId = meta["run"].get<std::string>();
  }
  // The epoch's train metrics so far (checkpoints before these fields
  // existed restart them at the resumed batch).
  if (meta.contains("epoch_seen")) {
    int64_t seen = static_cast<int64_t>(p.batchInEpoch) * batch;
    p.seen = static_cast<size_t>(integer("epoch_seen", seen, seen));
    p.correct = static_cast<size_t>(integer("epoch_correct", 0, seen));
    if (!meta.contains("epoch_loss_sum") ||
        !meta["epoch_loss_sum"].is_number() ||
        !std::isfinite(meta["epoch_loss_sum"].get<double>()) ||
        meta["epoch_loss_sum"].get<double>() < 0)
      throw bad("epoch_loss_sum", "is not a finite non-negative number");
    p.lossSum = meta["epoch_loss_sum"].get<double>();
  } else if (p.batchInEpoch > 0) {
    std::fprintf(stderr,
                 "dq-train: warning: %s has no train metrics of the "
                 "epoch so far; epoch %d's train loss and accuracy "
                 "will cover only the resumed batches\n",
                 path.c_str(), p.epoch + 1);
  }
  auto finite = [&](const char *field, double max) {
    const Json &v = meta[field];
    if (!v.is_number() || !std::isfinite(v.get<double>()) ||
        v.get<double>() < 0 || v.get<double>() > max) {
      char limit[32];
      std::snprintf(limit, sizeof limit, "%g", max);
      throw bad(field,
                "is " + v.dump() + ", expected a number in [0, " + limit + "]");
    }
    return v.get<double>();
  };
  // The time trained before (checkpoints before the field: from 0).
  if (meta.contains("train_seconds"))
    p.trainSeconds = finite("train_seconds", 1e12);
  // The metrics window so far, when the checkpoint's lines came at the same
  // steps as this run's (else the first "step" line covers fewer steps).
  if (meta.contains("metrics_every") &&
      integer("metrics_every", 0, 1000000000) == o.metricsEvery &&
      meta.contains("window_steps")) {
    int64_t steps = windowStepsAt(p.step, o.metricsEvery, totalSteps);
    p.windowSteps = integer("window_steps", steps, steps);
    p.windowCorrect =
        static_cast<size_t>(integer("window_correct", 0, steps * batch));
    if (!meta.contains("window_loss_sum"))
      throw bad("window_loss_sum", "is missing");
    p.windowLossSum = finite("window_loss_sum", DBL_MAX);
  }
  return p;
}

/// The processes of a data-parallel run must run the same library on the
/// same data with the same options, or their all-reduces would combine
/// unrelated steps: compared before anything is read or written.
void checkProcessesAgree(Communicator &comm, const Manifest &m,
                         const TrainOptions &o) {
  auto bitsOf = [](double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return bits;
  };
  auto textHash = [](const std::string &text) {
    return fnv1a64(text.data(), text.size());
  };
  const std::pair<const char *, uint64_t> facts[] = {
      {"the model (its manifest's module hash)", m.moduleHash},
      {"the compiled library (its hash)", m.library.hash},
      {"--dataset", textHash(o.dataset)},
      {"--seed", o.seed},
      {"--epochs", static_cast<uint64_t>(o.epochs)},
      {"--lr", bitsOf(o.lr)},
      {"--limit-train", o.limitTrain},
      {"--limit-test", o.limitTest},
      {"--no-augment", o.augment ? 1u : 0u},
      {"--calibrate", static_cast<uint64_t>(o.calibrateBatches)},
      {"--calibrate-iterations", static_cast<uint64_t>(o.calibrateIterations)},
      {"--resume", textHash(o.resume)},
      {"--stop-after-steps", static_cast<uint64_t>(o.stopAfterSteps)}};
  std::vector<uint64_t> values, min, max;
  for (const auto &fact : facts)
    values.push_back(fact.second);
  comm.minMax(values, min, max);
  for (size_t i = 0; i < values.size(); ++i)
    if (min[i] != max[i])
      throw Error(std::string("the ") + std::to_string(comm.size()) +
                  " processes of this run (" + comm.describe() +
                  ") disagree about " + facts[i].first +
                  ": every process must train the same compiled model with "
                  "the same options; nothing was written");
}

} // namespace

TrainStatus dq::runtime::train(CompiledModel &model, const TrainOptions &o,
                               const volatile std::sig_atomic_t *interrupted,
                               Communicator &comm) {
  // A data-parallel run: every process trains the same model on its share
  // of each batch; the first one (rank 0) writes every file.
  const int processes = comm.size();
  const bool lead = comm.rank() == 0;
  if (model.isInference())
    throw Error(model.prefix() +
                ": an inference model (dq-compile of a "
                "--dq-build-inference-graph module) cannot be trained: it has "
                "no train_step and its trained tensors are constants in its "
                "code; train the training model it was built from, and run "
                "this one with dq-run");
  bool calibrating = o.calibrateBatches > 0 && o.resume.empty();
  if (calibrating && !model.canCalibrate())
    throw Error(model.prefix() +
                " has no calibrate entry point (--calibrate): build its "
                "training module with dq-build-training-graph "
                "calibration=true and compile it");
  if (o.calibrateBatches > 0 && !o.resume.empty())
    std::fprintf(stderr, "dq-train: note: --calibrate is not repeated when "
                         "resuming: the checkpoint's state was calibrated "
                         "when its run started\n");
  const Manifest &m = model.manifest();
  if (processes > 1) {
    if (!m.dataParallel)
      throw Error(model.prefix() + " was not built for data-parallel "
                  "training, so its " + std::to_string(processes) +
                  " processes (" + comm.describe() +
                  ") would each train alone: build its training module with "
                  "dq-build-training-graph data-parallel=true and compile it, "
                  "or run one process");
    model.setCollectives(comm.collectives());
    checkProcessesAgree(comm, m, o);
  }
  // The batch of one step: every process's share.
  const int64_t globalBatch = m.batch * processes;
  std::string metadata;
  std::string statePath =
      o.resume.empty() ? model.prefix() + ".state" : o.resume;
  std::vector<HostTensor> state = readStateFileFor(statePath, m, &metadata);
  // The inputs are normalized as the manifest says (dq-compile recorded
  // it), and as the checkpoint resumed from was trained.
  Preprocess input = effectivePreprocess(m);
  checkRecordedPreprocess(statePath, metadata, m);
  if (!m.preprocess)
    std::fprintf(stderr,
                 "dq-train: note: %s.manifest.json records no input "
                 "normalization (compiled before dq-compile recorded it); "
                 "using %s, the default for its images (compile it again "
                 "to record it)\n",
                 model.prefix().c_str(), describePreprocess(input).c_str());

  // Before anything is written or long work starts: the directory, and a
  // lock so that a second run on the same --out stops instead of
  // interleaving its files with this one's.
  std::optional<DirectoryLock> lock;
  if (lead) {
    createDirectories(o.out);
    lock.emplace(o.out, "dq-train.lock", "--out");
  }

  Dataset train = loadNamedDataset(o.dataset, o.data, /*train=*/true);
  Dataset test = loadNamedDataset(o.dataset, o.data, /*train=*/false);
  train = limited(std::move(train), o.limitTrain);
  test = limited(std::move(test), o.limitTest);
  // Both sets: the batches are copied at the model's image size.
  for (const Dataset *set : {&train, &test}) {
    std::vector<int64_t> shape = {set->height, set->width, set->channels};
    if (shape != m.imageShape)
      throw Error(imageShapeMismatch(shape, m.imageShape,
                                     "the images of " + set->source));
  }
  warnIfOtherStatistics(train, input);
  train.normalize(input);
  test.normalize(input);
  // A label is an index into the logits: more classes than logits is an
  // error, fewer a warning.
  std::string fewer = checkClassCount(
      train.classes, m.classes, "the training set (" + train.source + ")");
  checkClassCount(test.classes, m.classes,
                  "the test set (" + test.source + ")");
  if (!fewer.empty())
    std::fprintf(stderr, "dq-train: warning: %s\n", fewer.c_str());
  if (train.count < static_cast<size_t>(globalBatch))
    throw Error("the training set has " + std::to_string(train.count) +
                " images, fewer than one batch of " +
                std::to_string(globalBatch) +
                (processes > 1 ? " (" + std::to_string(m.batch) + " on each of " +
                                     std::to_string(processes) + " processes)"
                               : std::string()));

  // The batches of the whole run; this process takes its share of each.
  BatchSampler sampler(train.count, globalBatch, o.seed);
  auto shareOf = [&](const std::vector<size_t> &indices) {
    auto first = indices.begin() + comm.rank() * m.batch;
    return std::vector<size_t>(first, first + m.batch);
  };
  size_t perEpoch = sampler.batchesPerEpoch();
  int64_t totalSteps = static_cast<int64_t>(perEpoch) * o.epochs;

  // Where to start: a checkpoint's progress, else the beginning.
  StartPoint start;
  std::string runId = newRunId();
  if (!o.resume.empty()) {
    start = readProgress(o.resume, metadata, o, train.count, perEpoch,
                         globalBatch, totalSteps, processes);
    if (!start.runId.empty())
      runId = start.runId;
  }

  std::string checkpointPath = o.out + "/checkpoint.state";
  std::string metricsPath = o.out + "/metrics.jsonl";
  // Checked now, not after the first epoch's work.
  if (lead)
    for (const std::string &file : {checkpointPath, metricsPath,
                                    o.out + "/final.state",
                                    o.out + "/model.dqm"})
      checkOutputFile(file);

  int64_t step = start.step;
  // The epoch so far (restored from a mid-epoch checkpoint, so an epoch's
  // train metrics cover all of it however often it was interrupted).
  double lossSum = start.lossSum;
  size_t correct = start.correct, seen = start.seen;
  int64_t lastCheckpointStep = -1; // of this run; -1: none yet
  // The steps since the last "step" line.
  int64_t windowSteps = start.windowSteps;
  double windowLossSum = start.windowLossSum;
  size_t windowCorrect = start.windowCorrect;
  auto runStart = std::chrono::steady_clock::now();
  // Training time of the whole run, across resumes.
  auto trainSeconds = [&] {
    return start.trainSeconds + std::chrono::duration<double>(
                                    std::chrono::steady_clock::now() - runStart)
                                    .count();
  };

  // A new run starts a new metrics.jsonl; a resumed one continues its own.
  MetricsLog metrics(metricsPath, runId);
  auto writeMetrics = [&](const Json &line) {
    if (lead)
      metrics.write(line);
  };
  Json header = {{"kind", "run"},
                 {"run", runId},
                 {"format", "dq-train metrics"},
                 {"version", 1},
                 {"model", model.prefix()},
                 {"dataset", o.dataset},
                 {"classes", m.classes},
                 {"batch", globalBatch},
                 {"train_images", train.count},
                 {"test_images", test.count},
                 {"epochs", o.epochs},
                 {"steps_per_epoch", perEpoch},
                 {"total_steps", totalSteps},
                 {"lr", o.lr},
                 {"seed", o.seed},
                 {"augment", o.augment},
                 {"metrics_every", o.metricsEvery},
                 {"calibrate_batches", o.calibrateBatches},
                 {"calibrate_iterations", o.calibrateIterations},
                 {"started", utcNow()}};
  // Only a data-parallel run says how many processes took each batch.
  if (processes > 1)
    header["processes"] = processes;
  if (lead && o.resume.empty())
    metrics.startFresh(header);
  else if (lead)
    metrics.resume(start.step, header,
                   {{"kind", "resume"},
                    {"run", runId},
                    {"step", start.step},
                    {"checkpoint", o.resume},
                    {"started", utcNow()}});

  auto checkpoint = [&](int epoch, size_t batchInEpoch) {
    Json meta = {{"epoch", epoch},
                 {"batch_in_epoch", batchInEpoch},
                 {"step", step},
                 {"seed", o.seed},
                 {"epochs", o.epochs},
                 {"lr", o.lr},
                 {"train_images", train.count},
                 {"run", runId},
                 {"epoch_loss_sum", lossSum},
                 {"epoch_correct", correct},
                 {"epoch_seen", seen},
                 {"train_seconds", trainSeconds()},
                 {"metrics_every", o.metricsEvery},
                 {"window_steps", windowSteps},
                 {"window_loss_sum", windowLossSum},
                 {"window_correct", windowCorrect},
                 {"preprocess", Json::parse(preprocessToJson(input))}};
    // Absent means one process (checkpoints from before the field).
    if (processes > 1)
      meta["processes"] = processes;
    if (lead)
      writeStateFile(checkpointPath, m.moduleHash, state, meta.dump());
    lastCheckpointStep = step;
  };
  // Why a step's result cannot be kept, naming only files that exist.
  auto diverged = [&](const std::string &what, int epoch) {
    std::string message = "the training diverged at step " +
                          std::to_string(step) + " (epoch " +
                          std::to_string(epoch + 1) + "): " + what +
                          "; nothing of this step was written. ";
    if (lastCheckpointStep >= 0)
      message += "The last good checkpoint is " + checkpointPath + " (step " +
                 std::to_string(lastCheckpointStep) + ")";
    else if (!o.resume.empty())
      message += "The last good state is " + o.resume +
                 ", the checkpoint this run resumed from";
    else
      message += "No checkpoint was written by this run";
    return Error(message + "; try a smaller --lr");
  };

  size_t imageSize = train.imageElements();
  std::vector<float> images(m.batch * imageSize);
  std::vector<int32_t> labels(m.batch);
  Progress progress{o.progress && lead};
  size_t stepsThisRun = 0;
  double lastTestAccuracy = NAN;

  // Activation calibration: the quantizers fitted to the first batches of
  // epoch 0's order, without augmentation, before the first step.
  if (calibrating) {
    auto calibrationStart = std::chrono::steady_clock::now();
    std::vector<Batch> batches = sampler.batches(0);
    for (Batch &batch : batches)
      batch.indices = shareOf(batch.indices);
    int64_t count = o.calibrateBatches;
    if (count > static_cast<int64_t>(batches.size())) {
      std::fprintf(stderr,
                   "dq-train: note: --calibrate %lld: the training set has "
                   "%zu batches; calibrating on all of them\n",
                   static_cast<long long>(count), batches.size());
      count = static_cast<int64_t>(batches.size());
    }
    double before = accuracy(model, state, test, comm);
    for (int64_t k = 0; k < count; ++k) {
      if (*interrupted) {
        std::fprintf(stderr, "dq-train: interrupted while calibrating; "
                             "nothing was written\n");
        return TrainStatus::Interrupted;
      }
      gatherBatch(train, batches[k].indices, images.data());
      model.calibrate(state, images.data(), k, o.calibrateIterations);
    }
    if (std::vector<StateValueProblem> bad = findStateValueProblems(state, m);
        !bad.empty())
      throw Error("calibration made state tensor '" + bad[0].tensor + "' " +
                  bad[0].what + "; nothing was written");
    double after = accuracy(model, state, test, comm);
    lastTestAccuracy = after;
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - calibrationStart)
                         .count();
    std::fprintf(stderr,
                 "dq-train: calibrated the activation quantizers on %lld "
                 "batches (%lld images, %.1f s): test acc %.2f%% -> %.2f%%\n",
                 static_cast<long long>(count),
                 static_cast<long long>(count * globalBatch), seconds,
                 100 * before,
                 100 * after);
    writeMetrics({{"kind", "calibration"},
                   {"run", runId},
                   {"step", 0},
                   {"batches", count},
                   {"images", count * globalBatch},
                   {"test_accuracy_before", before},
                   {"test_accuracy", after},
                   {"seconds", seconds}});
  }

  for (int epoch = start.epoch; epoch < o.epochs; ++epoch) {
    std::vector<Batch> batches = sampler.batches(epoch);
    size_t firstBatch = epoch == start.epoch ? start.batchInEpoch : 0;
    auto epochStart = std::chrono::steady_clock::now();
    for (size_t b = firstBatch; b < batches.size(); ++b) {
      bool stop = *interrupted ||
                  (o.stopAfterSteps >= 0 &&
                   stepsThisRun == static_cast<size_t>(o.stopAfterSteps));
      // The processes stop at the same step, or the others would wait in
      // that step's all-reduces forever.
      if (processes > 1)
        stop = comm.any(stop);
      if (stop) {
        progress.endLine();
        checkpoint(epoch, b);
        std::fprintf(stderr,
                     "dq-train: interrupted at step %lld; checkpoint written "
                     "to %s (continue with --resume %s)\n",
                     static_cast<long long>(step), checkpointPath.c_str(),
                     checkpointPath.c_str());
        return TrainStatus::Interrupted;
      }
      const std::vector<size_t> idx = shareOf(batches[b].indices);
      if (o.augment)
        augment(train, idx, epoch, o.seed, images.data());
      else
        gatherBatch(train, idx, images.data());
      gatherLabels(train, idx, labels.data());
      float lr = static_cast<float>(cosineRate(o.lr, step, totalSteps));
      CompiledModel::StepResult r =
          model.trainStep(state, images.data(), labels.data(), lr, step);
      // The guard looks at the new state too: a finite loss can come with
      // infinite running variances, which would poison every checkpoint.
      std::string problem;
      if (!std::isfinite(r.loss))
        problem = "the loss became " + std::to_string(r.loss);
      else if (std::vector<StateValueProblem> bad =
                   findStateValueProblems(state, m);
               !bad.empty())
        problem = "state tensor '" + bad[0].tensor + "' has " + bad[0].what +
                  (bad.size() > 1 ? " (and " + std::to_string(bad.size() - 1) +
                                        " more problems)"
                                  : "");
      if (!problem.empty()) {
        progress.endLine();
        throw diverged(problem, epoch);
      }
      ++step;
      ++stepsThisRun;
      lossSum += r.loss;
      correct += r.correct;
      seen += globalBatch;
      ++windowSteps;
      windowLossSum += r.loss;
      windowCorrect += r.correct;
      if (o.metricsEvery > 0 &&
          (step % o.metricsEvery == 0 || step == totalSteps)) {
        writeMetrics(
            {{"kind", "step"},
             {"run", runId},
             {"step", step},
             {"epoch", epoch + 1},
             {"epoch_fraction", static_cast<double>(step) / perEpoch},
             {"steps", windowSteps},
             {"loss", windowLossSum / windowSteps},
             {"accuracy",
              static_cast<double>(windowCorrect) / (windowSteps * globalBatch)},
             {"lr", cosineRate(o.lr, step - 1, totalSteps)}, // this step's
             {"time", trainSeconds()}});
        windowSteps = 0;
        windowLossSum = 0;
        windowCorrect = 0;
      }
      size_t done = b + 1;
      progress.update(epoch, o.epochs, done, batches.size(),
                      lossSum / (seen / globalBatch),
                      static_cast<double>(correct) / seen, stepsThisRun,
                      static_cast<size_t>(totalSteps - step));
    }
    progress.endLine();
    double testAccuracy = accuracy(model, state, test, comm);
    lastTestAccuracy = testAccuracy;
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - epochStart)
                         .count();
    size_t trained = seen / globalBatch;
    double trainLoss = trained ? lossSum / trained : NAN;
    double trainAccuracy = seen ? double(correct) / seen : NAN;
    Json line = {{"kind", "epoch"},
                 {"run", runId},
                 {"epoch", epoch + 1},
                 {"step", step},
                 {"train_loss", trainLoss},
                 {"train_accuracy", trainAccuracy},
                 {"test_accuracy", testAccuracy},
                 {"lr", cosineRate(o.lr, step, totalSteps)},
                 {"seconds", seconds},
                 {"time", trainSeconds()}};
    std::fprintf(stderr,
                 "epoch %d/%d: train loss %.4f, train acc %.2f%%, "
                 "test acc %.2f%% (%.1f s)\n",
                 epoch + 1, o.epochs, trainLoss, 100 * trainAccuracy,
                 100 * testAccuracy, seconds);
    // The checkpoint first: an epoch is in metrics.jsonl only once a
    // checkpoint after it exists (a failed write stops before the line).
    // The next epoch's sums start here, so the checkpoint holds them empty.
    lossSum = 0;
    correct = seen = 0;
    checkpoint(epoch + 1, 0);
    writeMetrics(line);
  }
  if (std::isnan(lastTestAccuracy)) // resumed from a finished run
    lastTestAccuracy = accuracy(model, state, test, comm);
  // Never from a non-finite state: it was checked when loaded and after
  // every step.
  if (lead) {
    writeStateFile(
        o.out + "/final.state", m.moduleHash, state,
        Json({{"preprocess", Json::parse(preprocessToJson(input))}}).dump());
    // What inference needs, codes packed to their bit width (dq-run reads
    // it).
    writeExport(o.out + "/model.dqm", m, state);
  }
  double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - runStart)
          .count();
  std::string trained =
      o.epochs == 0
          ? std::string("calibrated only")
          : std::to_string(o.epochs) + (o.epochs == 1 ? " epoch" : " epochs");
  if (!lead)
    return TrainStatus::Finished;
  std::printf("dq-train: %s, test accuracy %.2f%%, %s, final state "
              "%s/final.state\n",
              trained.c_str(), 100 * lastTestAccuracy,
              formatDuration(total).c_str(), o.out.c_str());
  std::printf("dq-train: metrics in %s (plot: python/tools/plot_metrics.py "
              "%s)\n",
              metricsPath.c_str(), o.out.c_str());
  // Guessing does as well as 1/classes: say so rather than leave a user to
  // wonder why a short run learned nothing.
  double chance = 1.0 / static_cast<double>(m.classes);
  std::fflush(stdout);
  if (totalSteps > 0 && lastTestAccuracy < 1.5 * chance)
    std::fprintf(
        stderr,
        "dq-train: note: %.2f%% is about chance level (%.2f%% for %lld "
        "classes) after %lld training step%s; a low-bit model needs "
        "hundreds of steps or more to leave it (more --epochs or a "
        "larger --limit-train), or a smaller --lr if the loss rose\n",
        100 * lastTestAccuracy, 100 * chance, static_cast<long long>(m.classes),
        static_cast<long long>(totalSteps), totalSteps == 1 ? "" : "s");
  return TrainStatus::Finished;
}
