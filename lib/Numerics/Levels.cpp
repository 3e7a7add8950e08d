//===- Levels.cpp - Binary-coding quantization levels ---------------------===//

#include "dq/Numerics/Levels.h"

#include <algorithm>
#include <cstring>
#include <cassert>
#include <cmath>
#include <numeric>

namespace dq {
namespace numerics {

static double signOrBit(Encoding encoding, uint32_t code, unsigned k) {
  unsigned bit = (code >> k) & 1u;
  if (encoding == Encoding::Bipolar)
    return bit ? 1.0 : -1.0;
  return bit ? 1.0 : 0.0;
}

float levelOf(Encoding encoding, uint32_t code, const float *basis,
              unsigned bits) {
  // Accumulate in float in bit order: the lowering does the same, so folds
  // and compiled code agree bit for bit.
  float level = 0.0f;
  for (unsigned k = 0; k < bits; ++k)
    level += static_cast<float>(signOrBit(encoding, code, k)) * basis[k];
  return level;
}

LevelTable::LevelTable(Encoding encoding, const float *basis, unsigned bits) {
  unsigned n = 1u << bits;
  std::vector<std::pair<float, uint32_t>> entries(n);
  for (uint32_t c = 0; c < n; ++c)
    entries[c] = {levelOf(encoding, c, basis, bits), c};
  std::stable_sort(
      entries.begin(), entries.end(),
      [](const auto &a, const auto &b) { return a.first < b.first; });
  levels.reserve(n);
  codes.reserve(n);
  for (auto &[level, code] : entries) {
    levels.push_back(level);
    codes.push_back(code);
  }
}

unsigned LevelTable::nearestIndex(float x) const {
  // First level strictly above x; the nearest is it or its predecessor.
  // Among equal levels the first one (lowest code) represents them all, as
  // in the lowering's scan.
  auto firstEqual = [&](unsigned i) {
    while (i > 0 && levels[i - 1] == levels[i])
      --i;
    return i;
  };
  auto it = std::upper_bound(levels.begin(), levels.end(), x);
  if (it == levels.begin())
    return 0;
  if (it == levels.end())
    return firstEqual(levels.size() - 1);
  unsigned hi = it - levels.begin();
  unsigned lo = hi - 1;
  float dLo = std::fabs(x - levels[lo]);
  float dHi = std::fabs(x - levels[hi]);
  // On a tie the larger level wins.
  if (dHi <= dLo)
    return hi;
  return firstEqual(lo);
}

/// Floats in their numeric order as unsigned integers (-0 before +0).
static uint32_t orderedKey(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

static float fromOrderedKey(uint32_t key) {
  uint32_t bits = (key & 0x80000000u) ? key & 0x7fffffffu : ~key;
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

LevelTable::Steps LevelTable::steps() const {
  Steps steps;
  steps.codes.push_back(codes[0]);
  for (unsigned i = 1; i < levels.size(); ++i) {
    if (levels[i] == levels[i - 1])
      continue;
    // nearestIndex is non-decreasing in x; the step to level i lies in
    // (levels[i - 1], levels[i]]: the smallest x whose index reaches i.
    uint32_t lo = orderedKey(levels[i - 1]), hi = orderedKey(levels[i]);
    while (hi - lo > 1) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (nearestIndex(fromOrderedKey(mid)) >= i)
        hi = mid;
      else
        lo = mid;
    }
    steps.thresholds.push_back(fromOrderedKey(hi));
    steps.codes.push_back(codes[i]);
  }
  return steps;
}

uint32_t LevelTable::nearestCode(float x) const {
  // NaN has no nearest level: code 0, as the lowering's scan gives.
  if (std::isnan(x))
    return 0;
  return codes[nearestIndex(x)];
}

float LevelTable::nearestLevel(float x) const {
  if (std::isnan(x))
    return x;
  return levels[nearestIndex(x)];
}

uint32_t LevelTable::stochasticCode(float x, float uniform) const {
  if (std::isnan(x))
    return 0;
  auto it = std::upper_bound(levels.begin(), levels.end(), x);
  if (it == levels.begin())
    return codes.front();
  unsigned hi = it - levels.begin();
  unsigned lo = hi - 1;
  // Among equal levels the first (lowest code) represents them all.
  while (lo > 0 && levels[lo - 1] == levels[lo])
    --lo;
  if (it == levels.end())
    return codes[lo];
  float pUp = (x - levels[lo]) / (levels[hi] - levels[lo]);
  return uniform < pUp ? codes[hi] : codes[lo];
}

uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

float counterUniform(uint64_t seed, uint64_t counter, uint64_t index) {
  uint32_t h = mix32(static_cast<uint32_t>(seed) ^ 0x9e3779b9u);
  h = mix32(h ^ static_cast<uint32_t>(seed >> 32));
  h = mix32(h ^ static_cast<uint32_t>(counter));
  h = mix32(h ^ static_cast<uint32_t>(counter >> 32));
  h = mix32(h ^ static_cast<uint32_t>(index));
  return static_cast<float>(h >> 8) * (1.0f / 16777216.0f);
}

FitAccumulator::FitAccumulator(Encoding encoding, unsigned bits)
    : encoding(encoding), bits(bits), weightPerCode(1u << bits, 0.0),
      weightedSumPerCode(1u << bits, 0.0) {}

void FitAccumulator::add(uint32_t code, float target, float weight) {
  weightPerCode[code] += weight;
  weightedSumPerCode[code] += static_cast<double>(weight) * target;
}

void FitAccumulator::solve(const float *previous, double ridge,
                           float *result) const {
  // Normal equations from the histograms: A = sum_c W_c s(c) s(c)^T + d I,
  // b = sum_c S_c s(c) + d v_prev. A is SPD for d > 0: Cholesky.
  unsigned k = bits;
  std::vector<double> a(k * k, 0.0), b(k, 0.0);
  for (uint32_t c = 0; c < weightPerCode.size(); ++c) {
    if (weightPerCode[c] == 0.0 && weightedSumPerCode[c] == 0.0)
      continue;
    for (unsigned i = 0; i < k; ++i) {
      double si = signOrBit(encoding, c, i);
      b[i] += weightedSumPerCode[c] * si;
      for (unsigned j = 0; j < k; ++j)
        a[i * k + j] += weightPerCode[c] * si * signOrBit(encoding, c, j);
    }
  }
  for (unsigned i = 0; i < k; ++i) {
    a[i * k + i] += ridge;
    b[i] += ridge * previous[i];
  }
  // In-place Cholesky: A = L L^T.
  for (unsigned j = 0; j < k; ++j) {
    double d = a[j * k + j];
    for (unsigned p = 0; p < j; ++p)
      d -= a[j * k + p] * a[j * k + p];
    d = std::sqrt(std::max(d, 1e-300));
    a[j * k + j] = d;
    for (unsigned i = j + 1; i < k; ++i) {
      double s = a[i * k + j];
      for (unsigned p = 0; p < j; ++p)
        s -= a[i * k + p] * a[j * k + p];
      a[i * k + j] = s / d;
    }
  }
  std::vector<double> y(k);
  for (unsigned i = 0; i < k; ++i) {
    double s = b[i];
    for (unsigned p = 0; p < i; ++p)
      s -= a[i * k + p] * y[p];
    y[i] = s / a[i * k + i];
  }
  for (int i = static_cast<int>(k) - 1; i >= 0; --i) {
    double s = y[i];
    for (unsigned p = i + 1; p < k; ++p)
      s -= a[p * k + i] * y[p];
    y[i] = s / a[i * k + i];
  }
  for (unsigned i = 0; i < k; ++i)
    result[i] = static_cast<float>(y[i]);
}

ChannelLayout ChannelLayout::fromShape(const std::vector<int64_t> &shape,
                                       int64_t channelAxis) {
  ChannelLayout layout;
  layout.numChannels = shape.empty() ? 1 : shape[channelAxis];
  for (size_t d = channelAxis + 1; d < shape.size(); ++d)
    layout.innerSize *= shape[d];
  return layout;
}

void decodeWeights(const std::vector<uint32_t> &codes, const float *basis,
                   unsigned bits, ChannelLayout layout, float *out) {
  for (int64_t i = 0, e = codes.size(); i < e; ++i)
    out[i] = levelOf(Encoding::Bipolar, codes[i],
                     basis + layout.channelOf(i) * bits, bits);
}

static std::vector<LevelTable> makeTables(Encoding encoding, const float *basis,
                                          unsigned bits, ChannelLayout layout) {
  std::vector<LevelTable> tables;
  if (encoding == Encoding::Unipolar) {
    tables.emplace_back(encoding, basis, bits);
    return tables;
  }
  tables.reserve(layout.numChannels);
  for (int64_t c = 0; c < layout.numChannels; ++c)
    tables.emplace_back(encoding, basis + c * bits, bits);
  return tables;
}

static const LevelTable &tableFor(const std::vector<LevelTable> &tables,
                                  ChannelLayout layout, int64_t i) {
  return tables.size() == 1 ? tables[0] : tables[layout.channelOf(i)];
}

void projectNearest(Encoding encoding, const float *values, int64_t size,
                    const float *basis, unsigned bits, ChannelLayout layout,
                    uint32_t *codes) {
  auto tables = makeTables(encoding, basis, bits, layout);
  for (int64_t i = 0; i < size; ++i)
    codes[i] = tableFor(tables, layout, i).nearestCode(values[i]);
}

void projectStochastic(Encoding encoding, const float *values, int64_t size,
                       const float *basis, unsigned bits, ChannelLayout layout,
                       uint64_t seed, uint64_t counter, uint32_t *codes) {
  auto tables = makeTables(encoding, basis, bits, layout);
  for (int64_t i = 0; i < size; ++i)
    codes[i] = tableFor(tables, layout, i)
                   .stochasticCode(values[i], counterUniform(seed, counter, i));
}

void fitLevels(Encoding encoding, const uint32_t *codes, const float *targets,
               int64_t size, const float *previousBasis, unsigned bits,
               ChannelLayout layout, const float *channelWeights, double ridge,
               float *newBasis) {
  bool perChannel = encoding == Encoding::Bipolar;
  int64_t numFits = perChannel ? layout.numChannels : 1;
  std::vector<FitAccumulator> fits(numFits, FitAccumulator(encoding, bits));
  for (int64_t i = 0; i < size; ++i) {
    int64_t c = layout.channelOf(i);
    float w = channelWeights ? channelWeights[c] : 1.0f;
    fits[perChannel ? c : 0].add(codes[i], targets[i], w);
  }
  for (int64_t f = 0; f < numFits; ++f)
    fits[f].solve(previousBasis + f * bits, ridge, newBasis + f * bits);
}

WeightState initWeightState(const float *w, int64_t size, unsigned bits,
                            ChannelLayout layout, int64_t fanOut,
                            unsigned alternations, double ridge) {
  WeightState state;
  state.codes.resize(size);
  state.basis.resize(layout.numChannels * bits);
  // LQ-Nets: v_k = 2^k * sigma, sigma = 0.6745 * sqrt(2 / fan_out) / 2^(K-1).
  float sigma = 0.6745 * std::sqrt(2.0 / static_cast<double>(fanOut)) /
                std::ldexp(1.0, bits - 1);
  for (int64_t c = 0; c < layout.numChannels; ++c)
    for (unsigned k = 0; k < bits; ++k)
      state.basis[c * bits + k] = std::ldexp(sigma, k);
  std::vector<float> next(state.basis.size());
  for (unsigned round = 0; round < alternations; ++round) {
    projectNearest(Encoding::Bipolar, w, size, state.basis.data(), bits, layout,
                   state.codes.data());
    fitLevels(Encoding::Bipolar, state.codes.data(), w, size,
              state.basis.data(), bits, layout, nullptr, ridge, next.data());
    state.basis.swap(next);
  }
  // Codes consistent with the final basis.
  projectNearest(Encoding::Bipolar, w, size, state.basis.data(), bits, layout,
                 state.codes.data());
  return state;
}

std::vector<float> initActivationBasis(unsigned bits) {
  std::vector<float> u(bits);
  double step = 0.6745 * 2.0 / (std::ldexp(1.0, bits) - 1.0);
  for (unsigned k = 0; k < bits; ++k)
    u[k] = static_cast<float>(std::ldexp(step, k));
  return u;
}

void packBitPlanes(const uint32_t *codes, int64_t rows, int64_t channels,
                   unsigned bits, uint64_t *packed) {
  int64_t words = (channels + 63) / 64;
  for (int64_t r = 0; r < rows; ++r) {
    const uint32_t *row = codes + r * channels;
    for (unsigned k = 0; k < bits; ++k) {
      uint64_t *plane = packed + (r * bits + k) * words;
      for (int64_t w = 0; w < words; ++w) {
        uint64_t word = 0;
        for (int64_t b = 0; b < 64 && 64 * w + b < channels; ++b)
          word |= uint64_t((row[64 * w + b] >> k) & 1u) << b;
        plane[w] = word;
      }
    }
  }
}

} // namespace numerics
} // namespace dq
