// dq-train: trains a compiled dq model (dq-compile's output) on Fashion-MNIST
// (or CIFAR-10 binary), with the evaluation protocol of docs/Algorithm.md:
// seeded shuffling, pad-2 random-crop + flip augmentation, SGD through the
// compiled train_step with a cosine learning-rate schedule, a test-set
// evaluation after each epoch, JSON-lines metrics, and an atomic checkpoint
// after each epoch and on Ctrl-C that --resume continues bit for bit.
//
// Needs no LLVM or MLIR: only the runtime library and the compiled model.
#include "dq/runtime/Dataset.h"
#include "dq/runtime/Export.h"
#include "dq/runtime/Error.h"
#include "dq/runtime/Model.h"
#include "dq/runtime/StateFile.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using namespace dq::runtime;
using Json = nlohmann::json;

namespace {

volatile std::sig_atomic_t interrupted = 0;
void onInterrupt(int) { interrupted = 1; }

struct Options {
  std::string model;
  std::string data = kDefaultFashionMnistDir;
  std::string dataset = "fashion-mnist";
  std::string out = "dq-train-out";
  std::string resume;
  int epochs = 15;
  double lr = 0.1;
  uint64_t seed = 0;
  bool augment = true;
  size_t limitTrain = 0, limitTest = 0;
  int stopAfterSteps = -1; // for tests: behave as if interrupted
  bool progress = isatty(2);
  unsigned threads = 0; // 0: the OpenMP default (all cores)
  std::string device;   // empty: what the model was compiled for
};

const char *kUsage =
    "usage: dq-train MODEL [options]\n"
    "  MODEL               prefix of dq-compile's output (MODEL.so,\n"
    "                      MODEL.manifest.json, MODEL.state)\n"
    "  --data DIR          dataset directory (default "
    "/usr/share/datasets/fashion-mnist)\n"
    "  --dataset NAME      fashion-mnist (default) or cifar10 (binary "
    "batches)\n"
    "  --epochs N          epochs (default 15)\n"
    "  --lr X              initial learning rate of the cosine schedule (0.1)\n"
    "  --seed N            shuffling and augmentation seed (0)\n"
    "  --no-augment        no pad/crop/flip\n"
    "  --out DIR           checkpoint.state, metrics.jsonl, final.state,\n"
    "                      model.dqm (the export for dq-run)\n"
    "                      (default dq-train-out)\n"
    "  --resume FILE       continue from a checkpoint\n"
    "  --limit-train N     use the first N training images\n"
    "  --limit-test N      use the first N test images\n"
    "  --threads N         threads of a parallel model (default: all cores)\n"
    "  --device cpu|cuda   require a model compiled for this device\n"
    "                      (dq-compile --target); prints the device used\n"
    "  --progress/--no-progress  progress bar (default: when stderr is a tty)\n"
    "  --stop-after-steps N      stop as if interrupted after N steps "
    "(tests)\n";

[[noreturn]] void usageError(const std::string &message) {
  throw Error(message + "\n" + kUsage);
}

template <typename T>
T parseNumber(const std::string &option, const std::string &text) {
  std::istringstream in(text);
  T value;
  if (!(in >> value) || !in.eof())
    usageError("option " + option + ": not a number: '" + text + "'");
  return value;
}

Options parseOptions(int argc, char **argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size())
        usageError("option " + a + " needs a value");
      return args[++i];
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (a == "--data") {
      o.data = value();
    } else if (a == "--dataset") {
      o.dataset = value();
      if (o.dataset != "fashion-mnist" && o.dataset != "cifar10")
        usageError("option --dataset: expected fashion-mnist or cifar10");
    } else if (a == "--epochs") {
      o.epochs = parseNumber<int>(a, value());
      if (o.epochs < 1)
        usageError("option --epochs must be at least 1");
    } else if (a == "--lr") {
      o.lr = parseNumber<double>(a, value());
      if (!(o.lr > 0) || !std::isfinite(o.lr))
        usageError("option --lr must be a positive number");
    } else if (a == "--seed") {
      o.seed = parseNumber<uint64_t>(a, value());
    } else if (a == "--no-augment") {
      o.augment = false;
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--resume") {
      o.resume = value();
    } else if (a == "--limit-train") {
      o.limitTrain = parseNumber<size_t>(a, value());
    } else if (a == "--limit-test") {
      o.limitTest = parseNumber<size_t>(a, value());
    } else if (a == "--device") {
      o.device = value();
      if (o.device != "cpu" && o.device != "cuda")
        usageError("option --device: expected cpu or cuda");
    } else if (a == "--threads") {
      int threads = parseNumber<int>(a, value());
      if (threads < 1)
        usageError("option --threads must be at least 1");
      o.threads = static_cast<unsigned>(threads);
    } else if (a == "--progress") {
      o.progress = true;
    } else if (a == "--no-progress") {
      o.progress = false;
    } else if (a == "--stop-after-steps") {
      o.stopAfterSteps = parseNumber<int>(a, value());
    } else if (!a.empty() && a[0] == '-') {
      usageError("unknown option " + a);
    } else if (o.model.empty()) {
      o.model = a;
    } else {
      usageError("unexpected argument '" + a + "'");
    }
  }
  if (o.model.empty())
    usageError("missing MODEL");
  return o;
}

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

int run(const Options &o) {
  // From the start, so Ctrl-C during loading still ends with a checkpoint
  // at the first step boundary instead of killing the process.
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
  std::unique_ptr<CompiledModel> model = CompiledModel::open(o.model, o.threads);
  requireDevice(*model, o.device);
  if (!o.device.empty())
    std::printf("dq-train: device: %s\n", model->deviceDescription().c_str());
  const Manifest &m = model->manifest();
  std::string metadata;
  std::vector<HostTensor> state = readStateFileFor(
      o.resume.empty() ? o.model + ".state" : o.resume, m, &metadata);

  Dataset train, test;
  if (o.dataset == "fashion-mnist") {
    train = loadFashionMnist(o.data, true);
    test = loadFashionMnist(o.data, false);
    train.normalize({kFashionMnistMean}, {kFashionMnistStd});
    test.normalize({kFashionMnistMean}, {kFashionMnistStd});
  } else {
    std::vector<std::string> files;
    for (int i = 1; i <= 5; ++i)
      files.push_back(o.data + "/data_batch_" + std::to_string(i) + ".bin");
    train = loadCifar10Binary(files);
    test = loadCifar10Binary({o.data + "/test_batch.bin"});
    std::vector<float> mean = {0.4914f, 0.4822f, 0.4465f};
    std::vector<float> stddev = {0.2470f, 0.2435f, 0.2616f};
    train.normalize(mean, stddev);
    test.normalize(mean, stddev);
  }
  train = limited(std::move(train), o.limitTrain);
  test = limited(std::move(test), o.limitTest);
  std::vector<int64_t> shape = {train.height, train.width, train.channels};
  if (shape != m.imageShape)
    throw Error("the dataset's images are " + shapeString(shape) +
                " but the model takes " + shapeString(m.imageShape));
  if (train.count < static_cast<size_t>(m.batch))
    throw Error("the training set has " + std::to_string(train.count) +
                " images, fewer than one batch of " + std::to_string(m.batch));

  BatchSampler sampler(train.count, m.batch, o.seed);
  size_t perEpoch = sampler.batchesPerEpoch();
  int64_t totalSteps = static_cast<int64_t>(perEpoch) * o.epochs;

  // Where to start: a checkpoint's progress, else the beginning.
  int startEpoch = 0;
  size_t startBatch = 0;
  int64_t step = 0;
  if (!o.resume.empty()) {
    Json meta = Json::parse(metadata, nullptr, false);
    if (meta.is_discarded() || !meta.contains("step"))
      throw Error(o.resume + ": not a dq-train checkpoint (no training "
                             "progress in its metadata)");
    startEpoch = meta.at("epoch").get<int>();
    startBatch = meta.at("batch_in_epoch").get<size_t>();
    step = meta.at("step").get<int64_t>();
    if (meta.at("seed").get<uint64_t>() != o.seed ||
        meta.at("epochs").get<int>() != o.epochs ||
        meta.at("lr").get<double>() != o.lr ||
        meta.at("train_images").get<size_t>() != train.count)
      throw Error(o.resume + ": the checkpoint was written with other "
                             "--seed/--epochs/--lr/--limit-train values; "
                             "resume with the same ones");
  }

  std::string mkdir = "mkdir -p '" + o.out + "'";
  if (std::system(mkdir.c_str()) != 0)
    throw Error("cannot create the output directory '" + o.out + "'");
  std::string checkpointPath = o.out + "/checkpoint.state";
  std::ofstream metrics(o.out + "/metrics.jsonl", std::ios::app);
  if (!metrics)
    throw Error("cannot write " + o.out + "/metrics.jsonl");

  auto checkpoint = [&](int epoch, size_t batchInEpoch) {
    Json meta = {{"epoch", epoch},
                 {"batch_in_epoch", batchInEpoch},
                 {"step", step},
                 {"seed", o.seed},
                 {"epochs", o.epochs},
                 {"lr", o.lr},
                 {"train_images", train.count}};
    writeStateFile(checkpointPath, m.moduleHash, state, meta.dump());
  };

  size_t imageSize = train.imageElements();
  std::vector<float> images(m.batch * imageSize);
  std::vector<int32_t> labels(m.batch);
  Progress progress{o.progress};
  size_t stepsThisRun = 0;
  double lastTestAccuracy = NAN;
  auto runStart = std::chrono::steady_clock::now();

  for (int epoch = startEpoch; epoch < o.epochs; ++epoch) {
    std::vector<Batch> batches = sampler.batches(epoch);
    double lossSum = 0;
    size_t correct = 0, seen = 0;
    auto epochStart = std::chrono::steady_clock::now();
    for (size_t b = epoch == startEpoch ? startBatch : 0; b < batches.size();
         ++b) {
      if (interrupted ||
          (o.stopAfterSteps >= 0 &&
           stepsThisRun == static_cast<size_t>(o.stopAfterSteps))) {
        progress.endLine();
        checkpoint(epoch, b);
        std::fprintf(stderr,
                     "dq-train: interrupted at step %lld; checkpoint written "
                     "to %s (continue with --resume %s)\n",
                     static_cast<long long>(step), checkpointPath.c_str(),
                     checkpointPath.c_str());
        return 130;
      }
      const std::vector<size_t> &idx = batches[b].indices;
      if (o.augment)
        augment(train, idx, epoch, o.seed, images.data());
      else
        gatherBatch(train, idx, images.data());
      gatherLabels(train, idx, labels.data());
      float lr = static_cast<float>(cosineRate(o.lr, step, totalSteps));
      CompiledModel::StepResult r =
          model->trainStep(state, images.data(), labels.data(), lr, step);
      if (!std::isfinite(r.loss)) {
        progress.endLine();
        throw Error("the loss became " + std::to_string(r.loss) + " at step " +
                    std::to_string(step) + " (epoch " +
                    std::to_string(epoch + 1) +
                    "); stopped without writing a checkpoint, the last good "
                    "one is " +
                    checkpointPath);
      }
      ++step;
      ++stepsThisRun;
      lossSum += r.loss;
      correct += r.correct;
      seen += m.batch;
      size_t done = b + 1;
      progress.update(epoch, o.epochs, done, batches.size(),
                      lossSum / (done - (epoch == startEpoch ? startBatch : 0)),
                      static_cast<double>(correct) / seen, stepsThisRun,
                      static_cast<size_t>(totalSteps - step));
    }
    progress.endLine();
    double testAccuracy = accuracy(*model, state, test);
    lastTestAccuracy = testAccuracy;
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - epochStart)
                         .count();
    size_t trained = seen / m.batch;
    Json line = {{"epoch", epoch + 1},
                 {"step", step},
                 {"train_loss", trained ? lossSum / trained : NAN},
                 {"train_accuracy", seen ? double(correct) / seen : NAN},
                 {"test_accuracy", testAccuracy},
                 {"lr", cosineRate(o.lr, step, totalSteps)},
                 {"seconds", seconds}};
    metrics << line.dump() << "\n";
    metrics.flush();
    std::fprintf(stderr,
                 "epoch %d/%d: train loss %.4f, train acc %.2f%%, "
                 "test acc %.2f%% (%.1f s)\n",
                 epoch + 1, o.epochs, trained ? lossSum / trained : NAN,
                 seen ? 100.0 * correct / seen : NAN, 100 * testAccuracy,
                 seconds);
    checkpoint(epoch + 1, 0);
  }
  writeStateFile(o.out + "/final.state", m.moduleHash, state, "{}");
  // What inference needs, codes packed to their bit width (dq-run reads it).
  writeExport(o.out + "/model.dqm", m, state);
  double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - runStart)
          .count();
  std::printf("dq-train: %d epochs, test accuracy %.2f%%, %s, final state "
              "%s/final.state\n",
              o.epochs, 100 * lastTestAccuracy, formatDuration(total).c_str(),
              o.out.c_str());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(parseOptions(argc, argv));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "dq-train: %s\n", e.what());
    return 1;
  }
}
