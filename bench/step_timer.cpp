// Times the compiled train_step (or, with -p, predict) of one or more
// dq-compile outputs, calling
// the library directly (no dataset, no augmentation), interleaving the models
// round-robin so machine noise hits every variant alike.
//
//   c++ -O2 -std=c++17 -I runtime/include bench/step_timer.cpp \
//       build/runtime/libDQRuntime.a -ldl -lz -o /tmp/step_timer
//   /tmp/step_timer [-p] [-n STEPS] [-r ROUNDS] PREFIX...
//
// Per model: median / min ms per step over all timed steps and steps/s from
// the median; the first step of each model is a warm-up and not timed. Inputs
// are a fixed pseudo-random batch, so runs are deterministic.
#include "dq/runtime/Model.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace dq::runtime;

int main(int argc, char **argv) {
  int steps = 3, rounds = 3;
  bool predict = false;
  std::vector<std::string> prefixes;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "-p"))
      predict = true;
    else if (!std::strcmp(argv[i], "-n") && i + 1 < argc)
      steps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "-r") && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else
      prefixes.push_back(argv[i]);
  }
  if (prefixes.empty()) {
    std::fprintf(stderr,
                 "usage: step_timer [-p] [-n STEPS] [-r ROUNDS] PREFIX...\n");
    return 2;
  }
  struct Entry {
    std::string prefix;
    std::unique_ptr<CompiledModel> model;
    std::vector<HostTensor> state;
    std::vector<double> ms;
    float loss = 0;
  };
  std::vector<Entry> entries;
  for (const std::string &p : prefixes) {
    Entry e;
    e.prefix = p;
    e.model = CompiledModel::open(p);
    e.state = e.model->initState();
    entries.push_back(std::move(e));
  }
  const Manifest &m = entries[0].model->manifest();
  size_t pixels = m.batch;
  for (int64_t d : m.imageShape)
    pixels *= d;
  std::vector<float> images(pixels);
  std::vector<int32_t> labels(m.batch);
  uint32_t x = 12345;
  for (float &v : images) {
    x = x * 1664525u + 1013904223u;
    v = (x >> 8) / float(1 << 24);
  }
  for (int32_t &l : labels) {
    x = x * 1664525u + 1013904223u;
    l = (x >> 8) % m.classes;
  }
  std::vector<float> logits(m.batch * m.classes);
  auto call = [&](Entry &e, int64_t step) {
    if (predict) {
      e.model->predict(e.state, images.data(), logits.data());
      e.loss = logits[0];
    } else {
      e.loss = e.model
                   ->trainStep(e.state, images.data(), labels.data(), 0.01f,
                               step)
                   .loss;
    }
  };
  for (Entry &e : entries) // warm-up
    call(e, 0);
  for (int r = 0; r < rounds; ++r)
    for (Entry &e : entries)
      for (int s = 0; s < steps; ++s) {
        auto t0 = std::chrono::steady_clock::now();
        call(e, 1 + r * steps + s);
        auto t1 = std::chrono::steady_clock::now();
        e.ms.push_back(
            std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
  double base = 0;
  std::printf("%-40s %10s %10s %9s %8s %10s\n", "model", "median_ms", "min_ms",
              "steps/s", "speedup", "last_loss");
  for (size_t i = 0; i < entries.size(); ++i) {
    Entry &e = entries[i];
    std::sort(e.ms.begin(), e.ms.end());
    double med = e.ms[e.ms.size() / 2];
    if (i == 0)
      base = med;
    std::printf("%-40s %10.2f %10.2f %9.2f %8.2f %10.5f\n", e.prefix.c_str(),
                med, e.ms.front(), 1000.0 / med, base / med, e.loss);
  }
  return 0;
}
