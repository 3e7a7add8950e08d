//===- LevelsTest.cpp - tests of the numeric core -------------------------===//

#include "dq/Numerics/Levels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace dq::numerics;

TEST(Levels, BipolarLevelsAreSignedSumsOfTheBasis) {
  const float v[2] = {0.5f, 2.0f};
  EXPECT_FLOAT_EQ(levelOf(Encoding::Bipolar, 0, v, 2), -2.5f);
  EXPECT_FLOAT_EQ(levelOf(Encoding::Bipolar, 1, v, 2), -1.5f);
  EXPECT_FLOAT_EQ(levelOf(Encoding::Bipolar, 2, v, 2), 1.5f);
  EXPECT_FLOAT_EQ(levelOf(Encoding::Bipolar, 3, v, 2), 2.5f);
}

TEST(Levels, UnipolarLevelsAreBitSums) {
  const float u[2] = {0.5f, 2.0f};
  EXPECT_FLOAT_EQ(levelOf(Encoding::Unipolar, 0, u, 2), 0.0f);
  EXPECT_FLOAT_EQ(levelOf(Encoding::Unipolar, 1, u, 2), 0.5f);
  EXPECT_FLOAT_EQ(levelOf(Encoding::Unipolar, 2, u, 2), 2.0f);
  EXPECT_FLOAT_EQ(levelOf(Encoding::Unipolar, 3, u, 2), 2.5f);
}

TEST(Levels, NearestTieGoesToTheLargerLevel) {
  const float u[2] = {1.0f, 2.0f}; // levels 0, 1, 2, 3
  LevelTable table(Encoding::Unipolar, u, 2);
  EXPECT_EQ(table.nearestLevel(0.5f), 1.0f);
  EXPECT_EQ(table.nearestLevel(0.49f), 0.0f);
  EXPECT_EQ(table.nearestLevel(2.5f), 3.0f);
  EXPECT_EQ(table.nearestLevel(-7.0f), 0.0f);
  EXPECT_EQ(table.nearestLevel(99.0f), 3.0f);
  EXPECT_TRUE(std::isnan(table.nearestLevel(NAN)));
}

TEST(Levels, EqualLevelsReturnTheLowestCode) {
  const float u[2] = {1.0f, 1.0f}; // codes 1 and 2 share level 1
  LevelTable table(Encoding::Unipolar, u, 2);
  EXPECT_EQ(table.nearestCode(1.1f), 1u);
  EXPECT_EQ(table.nearestCode(0.9f), 1u);
  EXPECT_EQ(table.stochasticCode(1.0f, 0.99f), 1u);
}

TEST(Levels, StochasticRoundingIsUnbiased) {
  const float v[2] = {0.25f, 0.5f}; // levels -0.75 -0.25 0.25 0.75
  LevelTable table(Encoding::Bipolar, v, 2);
  const float x = 0.1f;
  double sum = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i)
    sum += levelOf(Encoding::Bipolar,
                   table.stochasticCode(x, counterUniform(7, 3, i)), v, 2);
  // Bernoulli between -0.25 and 0.25: std of the mean <= 0.25/sqrt(n).
  EXPECT_NEAR(sum / n, x, 5 * 0.25 / std::sqrt(double(n)));
  EXPECT_EQ(table.stochasticCode(-5.0f, 0.0f), table.nearestCode(-5.0f));
  EXPECT_EQ(table.stochasticCode(5.0f, 0.999f), table.nearestCode(5.0f));
}

TEST(Levels, CounterUniformIsReproducibleAndInRange) {
  for (uint64_t i = 0; i < 1000; ++i) {
    float u = counterUniform(42, 9, i);
    EXPECT_GE(u, 0.0f);
    EXPECT_LT(u, 1.0f);
    EXPECT_EQ(u, counterUniform(42, 9, i));
  }
  EXPECT_NE(counterUniform(42, 9, 0), counterUniform(42, 10, 0));
  EXPECT_NE(counterUniform(42, 9, 0), counterUniform(43, 9, 0));
}

TEST(Fit, RecoversTheBasisFromExactTargets) {
  const float truth[3] = {0.1f, 0.3f, 0.7f};
  FitAccumulator fit(Encoding::Bipolar, 3);
  for (uint32_t c = 0; c < 8; ++c)
    for (int r = 0; r < 5; ++r)
      fit.add(c, levelOf(Encoding::Bipolar, c, truth, 3));
  const float previous[3] = {0, 0, 0};
  float result[3];
  fit.solve(previous, 1e-9, result);
  for (int k = 0; k < 3; ++k)
    EXPECT_NEAR(result[k], truth[k], 1e-6);
}

TEST(Fit, EmptyCodesKeepThePreviousBasisThroughTheRidge) {
  FitAccumulator fit(Encoding::Unipolar, 2);
  const float previous[2] = {0.4f, 0.8f};
  float result[2];
  fit.solve(previous, 1e-4, result);
  EXPECT_FLOAT_EQ(result[0], 0.4f);
  EXPECT_FLOAT_EQ(result[1], 0.8f);
}

TEST(Fit, ChannelWeightsScaleTheirElements) {
  // Two channels, one element each, unipolar 1 bit: the fit of u is the
  // weighted mean of the targets.
  const uint32_t codes[2] = {1, 1};
  const float targets[2] = {1.0f, 3.0f};
  const float weights[2] = {3.0f, 1.0f};
  const float previous[1] = {0.0f};
  float result[1];
  ChannelLayout layout{2, 1};
  fitLevels(Encoding::Unipolar, codes, targets, 2, previous, 1, layout, weights,
            1e-12, result);
  EXPECT_NEAR(result[0], (3 * 1.0 + 1 * 3.0) / 4.0, 1e-6);
}

TEST(Init, AlternationsReduceTheQuantizationError) {
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  const int channels = 4, perChannel = 64;
  std::vector<float> w(channels * perChannel);
  for (float &x : w)
    x = normal(rng);
  ChannelLayout layout{channels, perChannel};
  auto error = [&](const WeightState &state) {
    std::vector<float> decoded(w.size());
    decodeWeights(state.codes, state.basis.data(), 2, layout, decoded.data());
    double e = 0;
    for (size_t i = 0; i < w.size(); ++i)
      e += (w[i] - decoded[i]) * (w[i] - decoded[i]);
    return e;
  };
  WeightState initial = initWeightState(w.data(), w.size(), 2, layout,
                                        /*fanOut=*/channels * 9,
                                        /*alternations=*/0);
  WeightState fitted =
      initWeightState(w.data(), w.size(), 2, layout, channels * 9, 3);
  EXPECT_LT(error(fitted), error(initial));
  // Codes are the nearest ones under the final basis.
  for (int c = 0; c < channels; ++c) {
    LevelTable table(Encoding::Bipolar, fitted.basis.data() + 2 * c, 2);
    for (int i = 0; i < perChannel; ++i)
      EXPECT_EQ(fitted.codes[c * perChannel + i],
                table.nearestCode(w[c * perChannel + i]));
  }
}

TEST(Init, ActivationBasisFollowsLQNets) {
  auto u = initActivationBasis(2);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_NEAR(u[0], 0.6745 * 2 / 3, 1e-6);
  EXPECT_NEAR(u[1], 2 * 0.6745 * 2 / 3, 1e-6);
}

/// The code of the last threshold <= x, as the lowering's compare chain.
static uint32_t stepCode(const LevelTable::Steps &steps, float x) {
  uint32_t code = steps.codes[0];
  for (size_t i = 0; i < steps.thresholds.size(); ++i)
    if (x >= steps.thresholds[i])
      code = steps.codes[i + 1];
  return code;
}

TEST(Levels, StepsAreTheNearestCodeExactly) {
  // Random bases of 1-8 bits (duplicates and ties included: integer and
  // zero components), both encodings: around every threshold (the floats
  // just below and at it, where rounding decides) and at random values,
  // the step function equals nearestCode bit for bit.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  for (int trial = 0; trial < 200; ++trial) {
    unsigned bits = 1 + trial % 8;
    std::vector<float> basis(bits);
    for (float &b : basis)
      b = trial % 3 == 0 ? std::round(uniform(rng)) : uniform(rng);
    for (Encoding encoding : {Encoding::Unipolar, Encoding::Bipolar}) {
      LevelTable table(encoding, basis.data(), bits);
      LevelTable::Steps steps = table.steps();
      ASSERT_EQ(steps.codes.size(), steps.thresholds.size() + 1);
      for (size_t i = 0; i < steps.thresholds.size(); ++i) {
        float t = steps.thresholds[i];
        if (i > 0)
          EXPECT_LT(steps.thresholds[i - 1], t);
        for (float x : {std::nextafter(t, -INFINITY), t,
                        std::nextafter(t, INFINITY)})
          EXPECT_EQ(stepCode(steps, x), table.nearestCode(x))
              << "bits " << bits << " x " << x;
      }
      for (int i = 0; i < 200; ++i) {
        float x = 3.0f * uniform(rng);
        EXPECT_EQ(stepCode(steps, x), table.nearestCode(x));
      }
      for (float x : {-INFINITY, INFINITY, 0.0f, -0.0f})
        EXPECT_EQ(stepCode(steps, x), table.nearestCode(x));
    }
  }
}
