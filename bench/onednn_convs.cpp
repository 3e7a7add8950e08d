//===- onednn_convs.cpp - oneDNN on ResNet-20's training convolutions -----===//
//
// How fast the best library kernels run the convolutions of one ResNet-20
// training step (python/dq_reference/resnet.py: 28x28x1 inputs, 16/32/64
// channels, 3x3 kernels), forward, input gradient and weight gradient, with
// dq's layouts: NHWC activations and gradients; weights in the layout the
// library picks (dq would reorder its OHWI weights once per step). The
// first layer's input gradient is left out: training never needs it.
// Issue 14 weighs calling a library for the large contractions against
// dq's own kernels with these figures (bench/RESULTS-throughput.md).
//
//   g++ -O2 -std=c++17 -fopenmp bench/onednn_convs.cpp -ldnnl -o onednn_convs
//   OMP_NUM_THREADS=1 ./onednn_convs [--batch N] [--repeats R] [--chunk C]
//
// --chunk C: the schedule that keeps results independent of the thread
// count. The batch is cut into fixed chunks of C samples, each run by one
// thread (primitives made for C samples, inside an OpenMP loop, so the
// library runs single-threaded with a scratchpad per thread); the weight
// gradient is one partial per chunk, summed in chunk order.
//
// Needs libdnnl-dev (scripts/setup.sh installs it).
//
//===----------------------------------------------------------------------===//

#include <dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <omp.h>

namespace {

using namespace dnnl;
using Tag = memory::format_tag;
using DT = memory::data_type;

struct Layer {
  const char *name;
  int inChannels, size, outChannels, stride, count;
  bool inputGradient;
};

// ResNet-20 on 28x28 inputs: the stem, then three stages of three blocks
// (two 3x3 convolutions each); a stage's first convolution has stride 2.
const Layer kLayers[] = {
    {"stem 1->16 @28", 1, 28, 16, 1, 1, false},
    {"16->16 @28", 16, 28, 16, 1, 6, true},
    {"16->32 @28 s2", 16, 28, 32, 2, 1, true},
    {"32->32 @14", 32, 14, 32, 1, 5, true},
    {"32->64 @14 s2", 32, 14, 64, 2, 1, true},
    {"64->64 @7", 64, 7, 64, 1, 5, true},
};

double seconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Deterministic, small, normal values: uninitialized (or denormal) data
// makes every kernel an order of magnitude slower.
void fill(memory &m, int salt) {
  float *p = static_cast<float *>(m.get_data_handle());
  size_t n = m.get_desc().get_size() / sizeof(float);
  for (size_t i = 0; i < n; ++i)
    p[i] = float(int((i * 7 + salt) % 11) - 5) * 0.05f;
}

template <typename Run> double timeIt(int repeats, Run run) {
  run(); // warm-up
  double start = seconds();
  for (int r = 0; r < repeats; ++r)
    run();
  return (seconds() - start) / repeats;
}

} // namespace

int main(int argc, char **argv) {
  int batch = 128, repeats = 5, chunk = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batch"))
      batch = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeats"))
      repeats = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--chunk"))
      chunk = std::atoi(argv[i + 1]);
  }
  if (batch < 1 || repeats < 1 || chunk < 0 || (chunk && batch % chunk)) {
    std::fprintf(stderr, "onednn_convs: --batch and --repeats must be >= 1, "
                         "--chunk must divide the batch\n");
    return 2;
  }
  // Chunked: every primitive sees C samples; the loop runs the chunks.
  int samples = chunk ? chunk : batch, chunks = batch / samples;
  const dnnl_version_t *version = dnnl_version();
  std::printf("oneDNN %d.%d.%d, batch %d (%s), %d threads, mean of %d runs "
              "after a warm-up\n",
              version->major, version->minor, version->patch, batch,
              chunk ? "fixed chunks" : "library threading",
              omp_get_max_threads(), repeats);
  engine cpu(engine::kind::cpu, 0);
  primitive_attr attr;
  attr.set_scratchpad_mode(scratchpad_mode::user);
  double total[3] = {0, 0, 0};
  std::printf("%-16s %5s %10s %10s %10s  kernels\n", "layer", "count",
              "fwd ms", "dx ms", "dw ms");
  int threads = omp_get_max_threads();
  for (const Layer &l : kLayers) {
    // A primitive fixes its thread count when it is made, and kernels with
    // barriers between their threads wait forever if they later run inside
    // one thread of our loop: chunked primitives are made for one thread.
    if (chunk)
      omp_set_num_threads(1);
    int out = (l.size + 2 - 3) / l.stride + 1;
    int padEnd = (out - 1) * l.stride + 3 - l.size - 1;
    memory::dims src{samples, l.inChannels, l.size, l.size};
    memory::dims weights{l.outChannels, l.inChannels, 3, 3};
    memory::dims dst{samples, l.outChannels, out, out};
    memory::dims strides{l.stride, l.stride}, padBegin{1, 1},
        padEnds{padEnd, padEnd};
    memory::desc srcMd(src, DT::f32, Tag::nhwc), dstMd(dst, DT::f32, Tag::nhwc),
        anyWeights(weights, DT::f32, Tag::any);
    convolution_forward::primitive_desc forward(
        convolution_forward::desc(prop_kind::forward_training,
                                  algorithm::convolution_direct, srcMd,
                                  anyWeights, dstMd, strides, padBegin,
                                  padEnds),
        attr, cpu);
    convolution_backward_data::primitive_desc inputGrad(
        convolution_backward_data::desc(algorithm::convolution_direct, srcMd,
                                        anyWeights, dstMd, strides, padBegin,
                                        padEnds),
        attr, cpu, forward);
    convolution_backward_weights::primitive_desc weightGrad(
        convolution_backward_weights::desc(algorithm::convolution_direct,
                                           srcMd, anyWeights, dstMd, strides,
                                           padBegin, padEnds),
        attr, cpu, forward);
    struct Chunk {
      memory x, y, dy, dx, dw;
    };
    std::vector<Chunk> data;
    for (int c = 0; c < chunks; ++c) {
      data.push_back({memory(srcMd, cpu), memory(dstMd, cpu),
                      memory(dstMd, cpu), memory(srcMd, cpu),
                      memory(weightGrad.diff_weights_desc(), cpu)});
      fill(data.back().x, 1 + c), fill(data.back().dy, 2 + c);
    }
    memory w(forward.weights_desc(), cpu), wd(inputGrad.weights_desc(), cpu);
    fill(w, 3), fill(wd, 3);
    size_t scratch = std::max({forward.scratchpad_desc().get_size(),
                               inputGrad.scratchpad_desc().get_size(),
                               weightGrad.scratchpad_desc().get_size()});
    std::vector<std::vector<char>> scratchpads(threads,
                                               std::vector<char>(scratch));
    convolution_forward forwardPrim(forward);
    convolution_backward_data inputGradPrim(inputGrad);
    convolution_backward_weights weightGradPrim(weightGrad);
    omp_set_num_threads(threads);
    // Runs `pass(stream, chunk, scratchpad)` over the chunks: one call with
    // the library's own threads, or one thread per chunk.
    auto overChunks = [&](auto pass, const memory::desc &scratchDesc) {
      auto one = [&](int c) {
        stream s(cpu);
        memory pad(scratchDesc, cpu,
                   scratchpads[omp_get_thread_num()].data());
        pass(s, data[c], pad);
        s.wait();
      };
      if (chunks == 1)
        return one(0);
#pragma omp parallel for schedule(static)
      for (int c = 0; c < chunks; ++c)
        one(c);
    };
    double t[3];
    t[0] = timeIt(repeats, [&] {
      overChunks(
          [&](stream &s, Chunk &d, memory &pad) {
            forwardPrim.execute(s, {{DNNL_ARG_SRC, d.x},
                                    {DNNL_ARG_WEIGHTS, w},
                                    {DNNL_ARG_DST, d.y},
                                    {DNNL_ARG_SCRATCHPAD, pad}});
          },
          forward.scratchpad_desc());
    });
    t[1] = !l.inputGradient ? 0.0 : timeIt(repeats, [&] {
      overChunks(
          [&](stream &s, Chunk &d, memory &pad) {
            inputGradPrim.execute(s, {{DNNL_ARG_DIFF_SRC, d.dx},
                                      {DNNL_ARG_WEIGHTS, wd},
                                      {DNNL_ARG_DIFF_DST, d.dy},
                                      {DNNL_ARG_SCRATCHPAD, pad}});
          },
          inputGrad.scratchpad_desc());
    });
    size_t weightCount = weightGrad.diff_weights_desc().get_size() / 4;
    t[2] = timeIt(repeats, [&] {
      overChunks(
          [&](stream &s, Chunk &d, memory &pad) {
            weightGradPrim.execute(s, {{DNNL_ARG_SRC, d.x},
                                       {DNNL_ARG_DIFF_WEIGHTS, d.dw},
                                       {DNNL_ARG_DIFF_DST, d.dy},
                                       {DNNL_ARG_SCRATCHPAD, pad}});
          },
          weightGrad.scratchpad_desc());
      // The partials, summed in chunk order (part of the cost).
      float *sum = static_cast<float *>(data[0].dw.get_data_handle());
      for (int c = 1; c < chunks; ++c) {
        const float *part =
            static_cast<const float *>(data[c].dw.get_data_handle());
        for (size_t i = 0; i < weightCount; ++i)
          sum[i] += part[i];
      }
    });
    for (int k = 0; k < 3; ++k)
      total[k] += t[k] * l.count;
    std::printf("%-16s %5d %10.2f %10.2f %10.2f  %s | %s | %s\n", l.name,
                l.count, t[0] * l.count * 1e3, t[1] * l.count * 1e3,
                t[2] * l.count * 1e3, forward.impl_info_str(),
                l.inputGradient ? inputGrad.impl_info_str() : "-",
                weightGrad.impl_info_str());
  }
  std::printf("%-16s %5s %10.2f %10.2f %10.2f  sum %.2f ms\n", "total", "",
              total[0] * 1e3, total[1] * 1e3, total[2] * 1e3,
              (total[0] + total[1] + total[2]) * 1e3);
  return 0;
}
