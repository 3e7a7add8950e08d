// dq-train: trains a compiled dq model (dq-compile's output); a driver over
// the runtime's trainer (dq/runtime/Trainer.h: calibration, epochs of the
// compiled train_step, evaluations, checkpoints, metrics, resume). This file
// parses the options, opens the model, checks its device, and turns Ctrl-C
// into an interruption the trainer ends with a checkpoint.
//
// Needs no LLVM or MLIR: only the runtime library and the compiled model.
#include "dq/runtime/Error.h"
#include "dq/runtime/Model.h"
#include "dq/runtime/Trainer.h"
#ifdef DQ_HAVE_MPI
#include "dq/runtime/MpiCommunicator.h"
#endif

#include <fcntl.h>
#include <unistd.h>

#include <cfloat>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

using namespace dq::runtime;

namespace {

volatile std::sig_atomic_t interrupted = 0;
void onInterrupt(int) { interrupted = 1; }

/// The trainer's settings and which model, on how many threads, where.
struct Options : TrainOptions {
  std::string model;
  unsigned threads = 0; // 0: the OpenMP default (all cores)
  std::string device;   // empty: what the model was compiled for
};

const char *kUsage =
    "usage: dq-train MODEL [options]\n"
    "  MODEL               prefix of dq-compile's output (MODEL.so,\n"
    "                      MODEL.manifest.json, MODEL.state); the path of\n"
    "                      one of these files works too\n"
    "  --data DIR          dataset directory (default "
    "/usr/share/datasets/fashion-mnist)\n"
    "  --dataset NAME      fashion-mnist (default, IDX files), cifar10\n"
    "                      (binary batches), npz (DIR/train.npz and\n"
    "                      DIR/test.npz: images uint8 [N,H,W,C], labels [N])\n"
    "                      or folder (DIR/train/<class>/*.ppm|pgm and\n"
    "                      DIR/test/<class>/..., binary PPM/PGM images)\n"
    "  --epochs N          epochs (default 15; 0 with --calibrate:\n"
    "                      calibration only)\n"
    "  --calibrate N       before training, fit the activation quantizers\n"
    "                      to N batches of training images (the model's\n"
    "                      @calibrate; for a pretrained start) and report\n"
    "                      the test accuracy before and after (default 0)\n"
    "  --calibrate-iterations N  projection/fit alternations per quantizer\n"
    "                      and batch (default 3)\n"
    "  --lr X              initial learning rate of the cosine schedule (0.1)\n"
    "  --seed N            shuffling and augmentation seed (0)\n"
    "  --no-augment        no pad/crop/flip\n"
    "  --out DIR           checkpoint.state, metrics.jsonl, final.state,\n"
    "                      model.dqm (the export for dq-run)\n"
    "                      (default dq-train-out)\n"
    "  --metrics-every N   a metrics.jsonl line with the train loss and\n"
    "                      accuracy of the last N steps every N steps\n"
    "                      (default 10; 0: only the epoch lines);\n"
    "                      python/tools/plot_metrics.py plots them\n"
    "  --resume FILE       continue from a checkpoint\n"
    "  --limit-train N     use the first N training images\n"
    "  --limit-test N      use the first N test images\n"
    "  --threads N         threads of a parallel model (default: all cores)\n"
    "  --device cpu|cuda   require a model compiled for this device\n"
    "                      (dq-compile --target); prints the device used\n"
    "  --progress/--no-progress  progress bar (default: when stderr is a tty)\n"
    "  --stop-after-steps N      stop as if interrupted after N steps "
    "(tests)\n"
    "Data-parallel training: `mpirun -np N dq-train MODEL ...` with a model\n"
    "built with dq-build-training-graph data-parallel=true; each process\n"
    "takes its share of every batch of N x the model's batch, rank 0 writes\n"
    "the files and reports (docs/Runtime.md, \"Data parallelism\").\n";

[[noreturn]] void usageError(const std::string &message) {
  throw Error(message + "\n" + kUsage);
}

template <typename T>
T parseNumber(const std::string &option, const std::string &text) {
  std::istringstream in(text);
  T value;
  // istream reads "-1" into an unsigned type as its largest value.
  bool negativeUnsigned =
      std::is_unsigned<T>::value && text.find('-') != std::string::npos;
  if (negativeUnsigned || !(in >> value) || !in.eof())
    usageError("option " + option + ": not a " +
               (std::is_unsigned<T>::value ? "non-negative " : "") +
               "number: '" + text + "'");
  return value;
}

Options parseOptions(int argc, char **argv) {
  Options o;
  o.progress = isatty(2);
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
      if (o.dataset != "fashion-mnist" && o.dataset != "cifar10" &&
          o.dataset != "npz" && o.dataset != "folder")
        usageError("option --dataset: expected fashion-mnist, cifar10, npz "
                   "or folder");
    } else if (a == "--epochs") {
      o.epochs = parseNumber<int>(a, value());
      if (o.epochs < 0)
        usageError("option --epochs must be at least 0");
    } else if (a == "--calibrate-iterations") {
      o.calibrateIterations = parseNumber<int64_t>(a, value());
      if (o.calibrateIterations < 1 || o.calibrateIterations > 100)
        usageError("option --calibrate-iterations must be between 1 and "
                   "100");
    } else if (a == "--calibrate") {
      o.calibrateBatches = parseNumber<int64_t>(a, value());
      if (o.calibrateBatches < 0 || o.calibrateBatches > 1000000)
        usageError("option --calibrate must be between 0 and 1000000 "
                   "batches");
    } else if (a == "--lr") {
      o.lr = parseNumber<double>(a, value());
      // The step takes the rate as f32: it must stay finite and non-zero.
      if (!(o.lr > 0) || !(o.lr <= FLT_MAX) || !(o.lr >= FLT_MIN))
        usageError("option --lr must be a positive number that f32 "
                   "represents (between 1.2e-38 and 3.4e38)");
    } else if (a == "--seed") {
      o.seed = parseNumber<uint64_t>(a, value());
    } else if (a == "--no-augment") {
      o.augment = false;
    } else if (a == "--out") {
      o.out = value();
      if (o.out.empty())
        usageError("option --out: the directory name is empty");
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
      if (threads < 1 || static_cast<unsigned>(threads) > maxThreadCount())
        usageError("option --threads must be between 1 and " +
                   std::to_string(maxThreadCount()) +
                   " (8 per CPU of this machine)");
      o.threads = static_cast<unsigned>(threads);
    } else if (a == "--progress") {
      o.progress = true;
    } else if (a == "--no-progress") {
      o.progress = false;
    } else if (a == "--metrics-every") {
      o.metricsEvery = parseNumber<int64_t>(a, value());
      if (o.metricsEvery < 0 || o.metricsEvery > 1000000000)
        usageError("option --metrics-every must be between 0 (no step "
                   "lines) and 1000000000");
    } else if (a == "--stop-after-steps") {
      o.stopAfterSteps = parseNumber<int>(a, value());
      if (o.stopAfterSteps < 0)
        usageError("option --stop-after-steps must be at least 0");
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
  if (o.epochs == 0 && o.calibrateBatches == 0)
    usageError("option --epochs 0 trains nothing: it needs --calibrate N "
               "(calibration only)");
  return o;
}

int run(const Options &o, Communicator &comm) {
  // From the start, so Ctrl-C during loading still ends with a checkpoint
  // at the first step boundary instead of killing the process.
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
  std::unique_ptr<CompiledModel> model =
      CompiledModel::open(o.model, o.threads);
  requireModel(*model);
  requireDevice(*model, o.device);
  if (!o.device.empty())
    std::printf("dq-train: device: %s\n", model->deviceDescription().c_str());
  return train(*model, o, &interrupted, comm) == TrainStatus::Finished ? 0
                                                                     : 130;
}

/// Ranks after the first write nothing to the terminal: one progress
/// display. Their errors still reach it, through a copy of stderr.
int quietenFollower(int rank) {
  if (rank == 0)
    return STDERR_FILENO;
  int errors = dup(STDERR_FILENO);
  int null = open("/dev/null", O_WRONLY);
  if (null >= 0) {
    std::fflush(stdout);
    std::fflush(stderr);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
  }
  return errors >= 0 ? errors : STDERR_FILENO;
}

} // namespace

int main(int argc, char **argv) {
  std::unique_ptr<Communicator> mpi;
  int errors = STDERR_FILENO;
  try {
    if (launchedByMpi()) {
#ifdef DQ_HAVE_MPI
      mpi = openMpiCommunicator(&argc, &argv);
#else
      if (const char *size = std::getenv("OMPI_COMM_WORLD_SIZE");
          size && std::string(size) != "1")
        throw Error("started by mpirun with " + std::string(size) +
                    " processes, but this dq-train was built without MPI "
                    "(install libopenmpi-dev and build again)");
#endif
    }
    Communicator &comm = mpi ? *mpi : singleProcess();
    errors = quietenFollower(comm.rank());
    Options options = parseOptions(argc, argv);
    return run(options, comm);
  } catch (const std::exception &e) {
    std::string who = mpi ? "dq-train: rank " + std::to_string(mpi->rank()) +
                                " of " + std::to_string(mpi->size()) + ": "
                          : "dq-train: ";
    dprintf(errors, "%s%s\n", who.c_str(), e.what());
    // The others may be waiting in a collective for this one: end the run.
    if (mpi && mpi->size() > 1)
      mpi->abortRun(1);
    return 1;
  }
}
