//===- ConvLibraryTest.cpp - dq/runtime/ConvLibrary.h against plain loops -===//

#include "dq/runtime/ConvLibrary.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

/// A tensor stored in `storage` order, seen through `dims` order: view
/// dimension d is storage dimension perm[d].
struct Tensor {
  std::vector<float> data;
  int64_t size[4];
  int64_t stride[4];

  Tensor(std::initializer_list<int64_t> dims, std::mt19937 &rng,
         std::initializer_list<int> perm = {0, 1, 2, 3}) {
    std::copy(dims.begin(), dims.end(), size);
    const int *p = perm.begin();
    int64_t storageSize[4];
    for (int d = 0; d < 4; ++d)
      storageSize[p[d]] = size[d];
    int64_t storageStride[4];
    storageStride[3] = 1;
    for (int d = 2; d >= 0; --d)
      storageStride[d] = storageStride[d + 1] * storageSize[d + 1];
    for (int d = 0; d < 4; ++d)
      stride[d] = storageStride[p[d]];
    data.resize(size[0] * size[1] * size[2] * size[3]);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (float &v : data)
      v = u(rng);
  }
  float &at(int64_t a, int64_t b, int64_t c, int64_t d) {
    return data[a * stride[0] + b * stride[1] + c * stride[2] + d * stride[3]];
  }
  DQMemRef4F32 memref() {
    DQMemRef4F32 m;
    m.allocated = m.aligned = data.data();
    m.offset = 0;
    std::copy(size, size + 4, m.sizes);
    std::copy(stride, stride + 4, m.strides);
    return m;
  }
};

struct Case {
  int64_t n, h, w, ci, co, k, oh, ow, s, dil;
};

/// The error bound of a float sum of `terms` products of magnitude <= 1.
double bound(int64_t terms) { return 1e-5 * terms + 1e-6; }

void checkForward(const Case &c, std::initializer_list<int> weightPerm) {
  std::mt19937 rng(7);
  Tensor x({c.n, c.h, c.w, c.ci}, rng);
  Tensor wt({c.k, c.k, c.ci, c.co}, rng, weightPerm);
  Tensor y({c.n, c.oh, c.ow, c.co}, rng);
  Tensor expected = y;
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t oy = 0; oy < c.oh; ++oy)
      for (int64_t ox = 0; ox < c.ow; ++ox)
        for (int64_t o = 0; o < c.co; ++o) {
          double sum = expected.at(n, oy, ox, o);
          for (int64_t ky = 0; ky < c.k; ++ky)
            for (int64_t kx = 0; kx < c.k; ++kx)
              for (int64_t i = 0; i < c.ci; ++i)
                sum += double(x.at(n, oy * c.s + ky * c.dil,
                                   ox * c.s + kx * c.dil, i)) *
                       wt.at(ky, kx, i, o);
          expected.at(n, oy, ox, o) = float(sum);
        }
  DQMemRef4F32 mx = x.memref(), mw = wt.memref(), my = y.memref();
  ASSERT_EQ(_mlir_ciface_dq_conv2d_accumulate_f32(&mx, &mw, &my, c.s, c.s,
                                                  c.dil, c.dil),
            0)
      << dq_conv_last_error();
  double tolerance = bound(c.k * c.k * c.ci);
  for (size_t i = 0; i < y.data.size(); ++i)
    ASSERT_NEAR(y.data[i], expected.data[i], tolerance) << "element " << i;
}

void checkWeightGrad(const Case &c, std::initializer_list<int> weightPerm) {
  std::mt19937 rng(11);
  Tensor x({c.n, c.h, c.w, c.ci}, rng);
  Tensor dy({c.n, c.oh, c.ow, c.co}, rng);
  Tensor dw({c.k, c.k, c.ci, c.co}, rng, weightPerm);
  Tensor expected = dw;
  for (int64_t ky = 0; ky < c.k; ++ky)
    for (int64_t kx = 0; kx < c.k; ++kx)
      for (int64_t i = 0; i < c.ci; ++i)
        for (int64_t o = 0; o < c.co; ++o) {
          double sum = expected.at(ky, kx, i, o);
          for (int64_t n = 0; n < c.n; ++n)
            for (int64_t oy = 0; oy < c.oh; ++oy)
              for (int64_t ox = 0; ox < c.ow; ++ox)
                sum += double(x.at(n, oy * c.s + ky * c.dil,
                                   ox * c.s + kx * c.dil, i)) *
                       dy.at(n, oy, ox, o);
          expected.at(ky, kx, i, o) = float(sum);
        }
  DQMemRef4F32 mx = x.memref(), md = dy.memref(), mw = dw.memref();
  ASSERT_EQ(_mlir_ciface_dq_conv2d_weight_grad_accumulate_f32(
                &mx, &md, &mw, c.s, c.s, c.dil, c.dil),
            0)
      << dq_conv_last_error();
  double tolerance = bound(c.n * c.oh * c.ow);
  for (size_t i = 0; i < dw.data.size(); ++i)
    ASSERT_NEAR(dw.data[i], expected.data[i], tolerance) << "element " << i;
}

// A batch that leaves a short last chunk; inputs padded as dq pads them.
const Case kStride1{20, 9, 9, 3, 5, 3, 7, 7, 1, 1};
// Stride 2 whose windows stop one row and column short of the input.
const Case kStride2{18, 10, 10, 4, 6, 3, 4, 4, 2, 1};
const Case kDilated{17, 11, 11, 2, 3, 3, 7, 7, 1, 2};
// Wider channels, as in ResNet-20's 16- and 32-channel stages.
const Case kWide{33, 16, 16, 16, 32, 3, 14, 14, 1, 1};

TEST(ConvLibrary, ForwardAccumulates) {
  checkForward(kStride1, {0, 1, 2, 3});
  checkForward(kWide, {0, 1, 2, 3});
}
TEST(ConvLibrary, ForwardStridedWindowsAndWeightViews) {
  // Weights stored OHWI (dq's layout), seen as (KH, KW, CI, CO).
  checkForward(kStride2, {1, 2, 3, 0});
  // Stored (CI, KH, KW, CO): the flipped kernel of an input gradient.
  checkForward(kDilated, {1, 2, 0, 3});
}
TEST(ConvLibrary, WeightGradAccumulates) {
  checkWeightGrad(kStride1, {0, 1, 2, 3});
  checkWeightGrad(kStride2, {1, 2, 3, 0});
  checkWeightGrad(kDilated, {3, 0, 1, 2});
  checkWeightGrad(kWide, {1, 2, 3, 0});
}

/// The same bits for 1 and 2 threads (and for every repetition).
TEST(ConvLibrary, IndependentOfThreadCount) {
  auto run = [](int threads) {
    omp_set_num_threads(threads);
    std::mt19937 rng(3);
    Tensor x({40, 16, 16, 16}, rng), w({3, 3, 16, 32}, rng, {1, 2, 3, 0});
    Tensor y({40, 14, 14, 32}, rng), dw({3, 3, 16, 32}, rng, {1, 2, 3, 0});
    DQMemRef4F32 mx = x.memref(), mw = w.memref(), my = y.memref(),
                 mdw = dw.memref();
    EXPECT_EQ(_mlir_ciface_dq_conv2d_accumulate_f32(&mx, &mw, &my, 1, 1, 1, 1),
              0);
    EXPECT_EQ(_mlir_ciface_dq_conv2d_weight_grad_accumulate_f32(
                  &mx, &my, &mdw, 1, 1, 1, 1),
              0);
    std::vector<float> bits = y.data;
    bits.insert(bits.end(), dw.data.begin(), dw.data.end());
    return bits;
  };
  int saved = omp_get_max_threads();
  std::vector<float> one = run(1), two = run(2), again = run(2);
  omp_set_num_threads(saved);
  ASSERT_EQ(one.size(), two.size());
  EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)),
            0);
  EXPECT_EQ(std::memcmp(two.data(), again.data(), two.size() * sizeof(float)),
            0);
}

TEST(ConvLibrary, RejectsBadShapes) {
  std::mt19937 rng(5);
  Tensor x({2, 5, 5, 3}, rng), w({3, 3, 4, 2}, rng), y({2, 3, 3, 2}, rng);
  DQMemRef4F32 mx = x.memref(), mw = w.memref(), my = y.memref();
  EXPECT_EQ(_mlir_ciface_dq_conv2d_accumulate_f32(&mx, &mw, &my, 1, 1, 1, 1),
            -1);
  EXPECT_STREQ(dq_conv_last_error(),
               "convolution operands disagree in batch or channels");
  Tensor w3({3, 3, 3, 2}, rng), big({2, 4, 4, 2}, rng);
  DQMemRef4F32 mw3 = w3.memref(), mbig = big.memref();
  EXPECT_EQ(
      _mlir_ciface_dq_conv2d_accumulate_f32(&mx, &mw3, &mbig, 1, 1, 1, 1), -1);
  EXPECT_STREQ(dq_conv_last_error(),
               "the convolution's windows reach outside its input");
  EXPECT_EQ(_mlir_ciface_dq_conv2d_accumulate_f32(&mx, &mw3, &my, 0, 1, 1, 1),
            -1);
  EXPECT_EQ(_mlir_ciface_dq_conv2d_accumulate_f32(&mx, &mw3, &my, 1, 1, 1, 1),
            0)
      << dq_conv_last_error();
  EXPECT_STREQ(dq_conv_last_error(), "");
}

} // namespace
