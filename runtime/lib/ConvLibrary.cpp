//===- ConvLibrary.cpp - convolutions of compiled models in oneDNN --------===//
//
// dq/runtime/ConvLibrary.h, behind dq-compile --conv-library. What it is
// worth against dq's own kernels and the idiomatic PyTorch step:
// bench/RESULTS-throughput.md (2026-12-04).
//
//===----------------------------------------------------------------------===//

#include "dq/runtime/ConvLibrary.h"

#include <dnnl.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

using namespace dnnl;
using Tag = memory::format_tag;
using DT = memory::data_type;

thread_local std::string lastError;

/// A rank-4 view [d0, d1, d2, d3] (NHWC activations or KH,KW,CI,CO
/// weights) with element strides.
struct View {
  float *data;
  int64_t size[4];
  int64_t stride[4];
};

View viewOf(const DQMemRef4F32 *m) {
  View v;
  v.data = m->aligned + m->offset;
  for (int d = 0; d < 4; ++d) {
    v.size[d] = m->sizes[d];
    v.stride[d] = m->strides[d];
  }
  return v;
}

bool isDense(const View &v) {
  return v.stride[3] == 1 && v.stride[2] == v.size[3] &&
         v.stride[1] == v.size[2] * v.size[3] &&
         v.stride[0] == v.size[1] * v.size[2] * v.size[3];
}

/// The leading `size` elements of `v` (size[d] <= v.size[d]) as a dense
/// copy, or the view itself when that is already dense.
struct Dense {
  float *data;
  int64_t size[4];
  std::vector<float> storage;
};

Dense denseOf(const View &v, const int64_t (&size)[4]) {
  Dense out;
  std::copy(size, size + 4, out.size);
  View head = v;
  std::copy(size, size + 4, head.size);
  if (isDense(head)) {
    out.data = v.data;
    return out;
  }
  out.storage.resize(size[0] * size[1] * size[2] * size[3]);
  float *to = out.storage.data();
  for (int64_t a = 0; a < size[0]; ++a)
    for (int64_t b = 0; b < size[1]; ++b)
      for (int64_t c = 0; c < size[2]; ++c) {
        const float *from =
            v.data + a * v.stride[0] + b * v.stride[1] + c * v.stride[2];
        for (int64_t d = 0; d < size[3]; ++d)
          *to++ = from[d * v.stride[3]];
      }
  out.data = out.storage.data();
  return out;
}

/// Writes a dense copy back into the view it was made of.
void storeInto(const View &v, const Dense &dense) {
  if (dense.storage.empty())
    return;
  const float *from = dense.data;
  for (int64_t a = 0; a < dense.size[0]; ++a)
    for (int64_t b = 0; b < dense.size[1]; ++b)
      for (int64_t c = 0; c < dense.size[2]; ++c) {
        float *to =
            v.data + a * v.stride[0] + b * v.stride[1] + c * v.stride[2];
        for (int64_t d = 0; d < dense.size[3]; ++d)
          to[d * v.stride[3]] = *from++;
      }
}

/// The OpenMP runtimes in the process. dq's code runs on libomp; Debian's
/// oneDNN is linked with libgomp, which a Python process with PyTorch has
/// loaded first, so oneDNN may ask either for its thread count.
struct OpenMPRuntime {
  void (*setNumThreads)(int);
  int (*getMaxThreads)();
};

const std::vector<OpenMPRuntime> &openmpRuntimes() {
  static const std::vector<OpenMPRuntime> runtimes = [] {
    std::vector<OpenMPRuntime> found;
    for (const char *name : {"libgomp.so.1", "libomp.so.5"}) {
      void *handle = dlopen(name, RTLD_NOW | RTLD_NOLOAD);
      if (!handle)
        continue;
      auto set = reinterpret_cast<void (*)(int)>(
          dlsym(handle, "omp_set_num_threads"));
      auto get =
          reinterpret_cast<int (*)()>(dlsym(handle, "omp_get_max_threads"));
      if (set && get)
        found.push_back({set, get});
    }
    return found;
  }();
  return runtimes;
}

/// While alive, oneDNN sees one thread in the calling thread, whichever
/// OpenMP runtime it uses. A primitive fixes its thread count when it is
/// made; one made for more threads than run it waits forever at its
/// kernels' barriers, and one made for the machine's thread count would
/// sum in an order that depends on it.
class OneThread {
public:
  OneThread() {
    for (const OpenMPRuntime &r : openmpRuntimes()) {
      saved_.push_back(r.getMaxThreads());
      r.setNumThreads(1);
    }
  }
  ~OneThread() {
    const std::vector<OpenMPRuntime> &runtimes = openmpRuntimes();
    for (size_t i = 0; i < runtimes.size(); ++i)
      runtimes[i].setNumThreads(saved_[i]);
  }
  OneThread(const OneThread &) = delete;
  OneThread &operator=(const OneThread &) = delete;

private:
  std::vector<int> saved_;
};

engine &cpuEngine() {
  static engine cpu(engine::kind::cpu, 0);
  return cpu;
}

/// One convolution's geometry: input [N,H,W,CI] (already cut to the rows
/// and columns the windows reach), weights [KH,KW,CI,CO], output
/// [N,OH,OW,CO].
struct Geometry {
  int64_t n, h, w, ci, kh, kw, co, oh, ow, sy, sx, dy, dx;

  memory::desc source(int64_t samples) const {
    return memory::desc({samples, ci, h, w}, DT::f32, Tag::nhwc);
  }
  memory::desc result(int64_t samples) const {
    return memory::desc({samples, co, oh, ow}, DT::f32, Tag::nhwc);
  }
  memory::desc anyWeights() const {
    return memory::desc({co, ci, kh, kw}, DT::f32, Tag::any);
  }
  memory::dims strides() const { return {sy, sx}; }
  // oneDNN counts dilation from 0.
  memory::dims dilation() const { return {dy - 1, dx - 1}; }
};

/// Checks the shapes of (in, weights, out) and returns the geometry, with
/// the input cut to the extent the windows read.
bool geometryOf(const View &in, const View &weights, const View &out,
                int64_t sy, int64_t sx, int64_t dy, int64_t dx,
                Geometry &g) {
  g = {in.size[0],      0,           0,          in.size[3], weights.size[0],
       weights.size[1], out.size[3], out.size[1], out.size[2], sy,
       sx,              dy,          dx};
  if (sy < 1 || sx < 1 || dy < 1 || dx < 1) {
    lastError = "strides and dilations must be >= 1";
    return false;
  }
  if (out.size[0] != g.n || weights.size[2] != g.ci ||
      weights.size[3] != g.co) {
    lastError = "convolution operands disagree in batch or channels";
    return false;
  }
  g.h = (g.oh - 1) * sy + (g.kh - 1) * dy + 1;
  g.w = (g.ow - 1) * sx + (g.kw - 1) * dx + 1;
  if (g.oh < 1 || g.ow < 1 || g.h > in.size[1] || g.w > in.size[2]) {
    lastError = "the convolution's windows reach outside its input";
    return false;
  }
  return true;
}

/// The weights view [KH,KW,CI,CO] as oneDNN's (CO, CI, KH, KW) dims.
memory::desc userWeights(const View &weights) {
  return memory::desc(
      {weights.size[3], weights.size[2], weights.size[0], weights.size[1]},
      DT::f32,
      {weights.stride[3], weights.stride[2], weights.stride[0],
       weights.stride[1]});
}

int64_t chunkCount(int64_t n) {
  return (n + DQ_CONV_CHUNK_SAMPLES - 1) / DQ_CONV_CHUNK_SAMPLES;
}

/// Runs `body(chunk)` for every chunk, in parallel when OpenMP runs us,
/// and keeps the first error.
template <typename Body>
bool forEachChunk(int64_t chunks, Body body) {
  std::string error;
  openmpRuntimes();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    try {
      OneThread one;
      body(c);
    } catch (const std::exception &e) {
#pragma omp critical(dq_conv_error)
      if (error.empty())
        error = e.what();
    }
  }
  if (!error.empty()) {
    lastError = "oneDNN: " + error;
    return false;
  }
  return true;
}

int32_t forward(const View &in, const View &weights, const View &out,
                const Geometry &g) {
  int64_t inSize[4] = {g.n, g.h, g.w, g.ci};
  int64_t outSize[4] = {g.n, g.oh, g.ow, g.co};
  Dense x = denseOf(in, inSize);
  Dense y = denseOf(out, outSize);
  memory::desc userW = userWeights(weights);
  post_ops accumulate;
  accumulate.append_sum(1.0f);
  primitive_attr attr;
  attr.set_post_ops(accumulate);
  bool ok = forEachChunk(chunkCount(g.n), [&](int64_t c) {
    int64_t first = c * DQ_CONV_CHUNK_SAMPLES;
    int64_t samples = std::min<int64_t>(DQ_CONV_CHUNK_SAMPLES, g.n - first);
    engine &cpu = cpuEngine();
    convolution_forward::primitive_desc pd(
        convolution_forward::desc(prop_kind::forward_inference,
                                  algorithm::convolution_direct,
                                  g.source(samples), g.anyWeights(),
                                  g.result(samples), g.strides(),
                                  g.dilation(), {0, 0}, {0, 0}),
        attr, cpu);
    stream s(cpu);
    memory userMemory(userW, cpu, weights.data);
    memory w = userMemory;
    if (pd.weights_desc() != userW) {
      w = memory(pd.weights_desc(), cpu);
      reorder(userMemory, w).execute(s, userMemory, w);
    }
    memory src(g.source(samples), cpu, x.data + first * g.h * g.w * g.ci);
    memory dst(g.result(samples), cpu, y.data + first * g.oh * g.ow * g.co);
    convolution_forward(pd).execute(
        s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}});
    s.wait();
  });
  if (!ok)
    return -1;
  storeInto(out, y);
  return 0;
}

int32_t weightGrad(const View &in, const View &grad, const View &weights,
                   const Geometry &g) {
  int64_t inSize[4] = {g.n, g.h, g.w, g.ci};
  int64_t gradSize[4] = {g.n, g.oh, g.ow, g.co};
  Dense x = denseOf(in, inSize);
  Dense dy = denseOf(grad, gradSize);
  int64_t chunks = chunkCount(g.n);
  int64_t count = g.co * g.ci * g.kh * g.kw;
  // One partial per chunk in (CO, CI, KH, KW) order.
  std::vector<float> partials(chunks * count);
  memory::desc plain({g.co, g.ci, g.kh, g.kw}, DT::f32, Tag::oihw);
  bool ok = forEachChunk(chunks, [&](int64_t c) {
    int64_t first = c * DQ_CONV_CHUNK_SAMPLES;
    int64_t samples = std::min<int64_t>(DQ_CONV_CHUNK_SAMPLES, g.n - first);
    engine &cpu = cpuEngine();
    convolution_forward::primitive_desc hint(
        convolution_forward::desc(prop_kind::forward_training,
                                  algorithm::convolution_direct,
                                  g.source(samples), g.anyWeights(),
                                  g.result(samples), g.strides(),
                                  g.dilation(), {0, 0}, {0, 0}),
        cpu);
    convolution_backward_weights::primitive_desc pd(
        convolution_backward_weights::desc(
            algorithm::convolution_direct, g.source(samples), g.anyWeights(),
            g.result(samples), g.strides(), g.dilation(), {0, 0}, {0, 0}),
        cpu, hint);
    stream s(cpu);
    memory src(g.source(samples), cpu, x.data + first * g.h * g.w * g.ci);
    memory diffDst(g.result(samples), cpu,
                   dy.data + first * g.oh * g.ow * g.co);
    memory partial(plain, cpu, partials.data() + c * count);
    memory diffWeights = partial;
    if (pd.diff_weights_desc() != plain)
      diffWeights = memory(pd.diff_weights_desc(), cpu);
    convolution_backward_weights(pd).execute(
        s, {{DNNL_ARG_SRC, src},
            {DNNL_ARG_DIFF_DST, diffDst},
            {DNNL_ARG_DIFF_WEIGHTS, diffWeights}});
    if (pd.diff_weights_desc() != plain)
      reorder(diffWeights, partial).execute(s, diffWeights, partial);
    s.wait();
  });
  if (!ok)
    return -1;
  // Chunk order, then into the destination.
  for (int64_t c = 1; c < chunks; ++c)
    for (int64_t i = 0; i < count; ++i)
      partials[i] += partials[c * count + i];
  const float *sum = partials.data();
  for (int64_t o = 0; o < g.co; ++o)
    for (int64_t i = 0; i < g.ci; ++i)
      for (int64_t ky = 0; ky < g.kh; ++ky)
        for (int64_t kx = 0; kx < g.kw; ++kx)
          weights.data[ky * weights.stride[0] + kx * weights.stride[1] +
                       i * weights.stride[2] + o * weights.stride[3]] +=
              *sum++;
  return 0;
}

template <typename Call>
int32_t guarded(Call call) {
  lastError.clear();
  try {
    return call();
  } catch (const std::exception &e) {
    lastError = std::string("oneDNN: ") + e.what();
    return -1;
  }
}

} // namespace

extern "C" int32_t
_mlir_ciface_dq_conv2d_accumulate_f32(DQMemRef4F32 *in, DQMemRef4F32 *weights,
                                      DQMemRef4F32 *out, int64_t sy,
                                      int64_t sx, int64_t dy, int64_t dx) {
  return guarded([&]() -> int32_t {
    View x = viewOf(in), w = viewOf(weights), y = viewOf(out);
    Geometry g;
    if (!geometryOf(x, w, y, sy, sx, dy, dx, g))
      return -1;
    return forward(x, w, y, g);
  });
}

extern "C" int32_t _mlir_ciface_dq_conv2d_weight_grad_accumulate_f32(
    DQMemRef4F32 *in, DQMemRef4F32 *grad, DQMemRef4F32 *weights, int64_t sy,
    int64_t sx, int64_t dy, int64_t dx) {
  return guarded([&]() -> int32_t {
    View x = viewOf(in), w = viewOf(weights), d = viewOf(grad);
    Geometry g;
    if (!geometryOf(x, w, d, sy, sx, dy, dx, g))
      return -1;
    return weightGrad(x, d, w, g);
  });
}

namespace {
[[noreturn]] void failInModel(const char *call) {
  std::fprintf(stderr, "dq: %s failed in a compiled model: %s\n", call,
               lastError.c_str());
  std::abort();
}
} // namespace

extern "C" void _mlir_ciface_dq_model_conv2d_accumulate_f32(
    DQMemRef4F32 *in, DQMemRef4F32 *weights, DQMemRef4F32 *out, int64_t sy,
    int64_t sx, int64_t dy, int64_t dx) {
  if (_mlir_ciface_dq_conv2d_accumulate_f32(in, weights, out, sy, sx, dy,
                                            dx) != 0)
    failInModel("dq_conv2d_accumulate_f32");
}

extern "C" void _mlir_ciface_dq_model_conv2d_weight_grad_accumulate_f32(
    DQMemRef4F32 *in, DQMemRef4F32 *grad, DQMemRef4F32 *weights, int64_t sy,
    int64_t sx, int64_t dy, int64_t dx) {
  if (_mlir_ciface_dq_conv2d_weight_grad_accumulate_f32(in, grad, weights, sy,
                                                        sx, dy, dx) != 0)
    failInModel("dq_conv2d_weight_grad_accumulate_f32");
}

extern "C" const char *dq_conv_last_error(void) { return lastError.c_str(); }
