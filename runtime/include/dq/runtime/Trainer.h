//===- Trainer.h - the training loop of dq-train ----------------*- C++ -*-===//
//
// Trains a compiled dq model (dq-compile's output) on Fashion-MNIST, CIFAR-10
// binary, a numpy .npz data set or a folder of images, with the evaluation
// protocol of docs/Algorithm.md: optional activation calibration on the
// first training batches, seeded shuffling, pad-2 random-crop + flip
// augmentation, the compiled train_step under a cosine learning-rate
// schedule, a test-set evaluation after each epoch, JSON-lines metrics
// (Metrics.h), and an atomic checkpoint after each epoch and on interruption
// that a resumed run continues bit for bit. dq-train is a driver over it.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_RUNTIME_TRAINER_H
#define DQ_RUNTIME_TRAINER_H

#include "dq/runtime/Communicator.h"
#include "dq/runtime/Dataset.h"
#include "dq/runtime/Model.h"

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <string>

namespace dq {
namespace runtime {

/// A run's settings (dq-train's options; docs/Runtime.md).
struct TrainOptions {
  std::string data = kDefaultFashionMnistDir;
  /// fashion-mnist, cifar10, npz or folder.
  std::string dataset = "fashion-mnist";
  /// checkpoint.state, metrics.jsonl, final.state, model.dqm.
  std::string out = "dq-train-out";
  /// A checkpoint to continue from (the same seed, epochs, lr and images).
  std::string resume;
  int epochs = 15;
  /// Batches of the model's @calibrate before the first step (fresh runs).
  int64_t calibrateBatches = 0;
  /// Projection/fit alternations per quantizer and batch.
  int64_t calibrateIterations = 3;
  double lr = 0.1;
  uint64_t seed = 0;
  bool augment = true;
  /// The first N images of each set (0: all).
  size_t limitTrain = 0, limitTest = 0;
  /// Tests: behave as if interrupted after this many steps (-1: never).
  int stopAfterSteps = -1;
  /// Steps per metrics "step" line (0: epoch lines only).
  int64_t metricsEvery = 10;
  /// A progress bar on stderr (else a line every 50 steps).
  bool progress = false;
};

enum class TrainStatus {
  /// Every epoch ran; final.state and model.dqm are written.
  Finished,
  /// `*interrupted` became nonzero (or stopAfterSteps was reached): a
  /// checkpoint of the last step is written (none while calibrating).
  Interrupted,
};

/// Runs `options` on `model`; reports progress on stderr and the result on
/// stdout. Throws Error for bad input (the data, a checkpoint of another
/// run, an inference model) and for a diverged step, naming the last good
/// checkpoint; nothing of a failed step is written.
///
/// With a communicator of several processes (dq-train under mpirun), each
/// takes its share of every batch of `size() * batch` images (the seeded
/// order of one process with that batch, rank r taking images [r * batch,
/// (r + 1) * batch) of each), the model's all-reduces combine them, and
/// only rank 0 writes files and reports. The model must be data-parallel
/// and every process must run it with the same options (checked first).
TrainStatus train(CompiledModel &model, const TrainOptions &options,
                  const volatile std::sig_atomic_t *interrupted,
                  Communicator &comm = singleProcess());

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_TRAINER_H
