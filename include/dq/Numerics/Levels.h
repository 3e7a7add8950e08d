//===- Levels.h - Binary-coding quantization levels (plain C++) -*- C++ -*-===//
//
// The numeric core of dq, shared by the dialect's folders, the quantize pass
// and (later) the runtime. It depends on nothing but the C++ standard library
// so that compiled programs can use it without MLIR.
//
// The contract implemented here is the one of docs/Numerics.md:
//   * bipolar level of code c:  sum_k (2*bit_k(c) - 1) * v_k
//   * unipolar level of code c: sum_k bit_k(c) * u_k
//   * nearest: the level closest to x; on an exact tie the larger level
//     (equivalently: thresholds at midpoints, a value on a threshold goes up)
//   * stochastic: between the two levels around x, up with probability
//     (x - lo) / (hi - lo), using a counter-based hash of (seed, counter,
//     index)
//   * fit: v = (B^T W B + d I)^-1 (B^T W t + d v_prev), accumulated per code.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_NUMERICS_LEVELS_H
#define DQ_NUMERICS_LEVELS_H

#include <cstdint>
#include <vector>

namespace dq {
namespace numerics {

/// Largest supported number of bits for weights and activations.
constexpr unsigned kMaxBits = 8;

enum class Encoding { Bipolar, Unipolar };

/// Level of `code` under `basis` (basis.size() bits).
float levelOf(Encoding encoding, uint32_t code, const float *basis,
              unsigned bits);

/// All 2^bits levels of one basis, sorted, with the code of each, so that
/// nearest and stochastic projection cost O(bits) per element.
class LevelTable {
public:
  LevelTable(Encoding encoding, const float *basis, unsigned bits);

  /// Code of the level nearest to `x` (ties: the larger level).
  uint32_t nearestCode(float x) const;
  float nearestLevel(float x) const;

  /// Stochastic rounding between the two levels around `x`; `uniform` in
  /// [0, 1). Values beyond the extreme levels take the extreme level.
  uint32_t stochasticCode(float x, float uniform) const;

  /// The nearest code as a step function of x: `codes[0]` below
  /// `thresholds[0]`, `codes[i + 1]` from `thresholds[i]` on (ascending,
  /// one per distinct level above the lowest), i.e. for every non-NaN x,
  /// nearestCode(x) is the code of the last threshold <= x. Each threshold
  /// is the smallest float at which the nearest level (float distances,
  /// ties up) moves up, found by bisection on the floats, so comparing x
  /// with them is bit-exact with the distance comparisons.
  struct Steps {
    std::vector<float> thresholds;
    std::vector<uint32_t> codes;
  };
  Steps steps() const;

  float minLevel() const { return levels.front(); }
  float maxLevel() const { return levels.back(); }
  unsigned numLevels() const { return levels.size(); }

private:
  /// Index into the sorted arrays of the nearest level.
  unsigned nearestIndex(float x) const;

  std::vector<float> levels;   // ascending
  std::vector<uint32_t> codes; // codes[i] has level levels[i]
};

/// Counter-based uniform random number in [0, 1) with 24 random bits. The
/// same function is implemented by the lowering and by the PyTorch reference.
uint32_t mix32(uint32_t x);
float counterUniform(uint64_t seed, uint64_t counter, uint64_t index);

/// Accumulates the per-code weighted count and weighted target sum of one
/// fit (one channel for weights, one layer for activations).
class FitAccumulator {
public:
  FitAccumulator(Encoding encoding, unsigned bits);
  void add(uint32_t code, float target, float weight = 1.0f);
  /// Solves the ridge least-squares problem; `previous` is the basis the
  /// ridge pulls toward. Writes `bits` values to `result`.
  void solve(const float *previous, double ridge, float *result) const;

private:
  Encoding encoding;
  unsigned bits;
  std::vector<double> weightPerCode;
  std::vector<double> weightedSumPerCode;
};

/// Describes how a flat row-major tensor maps to channels: element `i`
/// belongs to channel `(i / innerSize) % numChannels`.
struct ChannelLayout {
  int64_t numChannels = 1;
  int64_t innerSize = 1;
  int64_t channelOf(int64_t flatIndex) const {
    return (flatIndex / innerSize) % numChannels;
  }
  static ChannelLayout fromShape(const std::vector<int64_t> &shape,
                                 int64_t channelAxis);
};

/// Decodes bipolar per-channel codes (basis is [numChannels x bits]).
void decodeWeights(const std::vector<uint32_t> &codes, const float *basis,
                   unsigned bits, ChannelLayout layout, float *out);

/// Nearest codes of `values`; bipolar: per-channel basis [C x bits];
/// unipolar: one basis of `bits` values for the whole tensor.
void projectNearest(Encoding encoding, const float *values, int64_t size,
                    const float *basis, unsigned bits, ChannelLayout layout,
                    uint32_t *codes);

/// Stochastic codes (see counterUniform for the random numbers).
void projectStochastic(Encoding encoding, const float *values, int64_t size,
                       const float *basis, unsigned bits, ChannelLayout layout,
                       uint64_t seed, uint64_t counter, uint32_t *codes);

/// Fits a new basis; bipolar: per channel (result [C x bits]); unipolar: one
/// basis over all elements. `channelWeights` (may be null) weighs every
/// element of channel c by channelWeights[c].
void fitLevels(Encoding encoding, const uint32_t *codes, const float *targets,
               int64_t size, const float *previousBasis, unsigned bits,
               ChannelLayout layout, const float *channelWeights, double ridge,
               float *newBasis);

/// LQ-Nets initialization of a per-output-channel weight basis from weights
/// `w`, followed by `alternations` rounds of nearest assignment and fit.
/// `fanOut` is the PyTorch fan-out of the layer. Returns codes and basis.
struct WeightState {
  std::vector<uint32_t> codes;
  std::vector<float> basis; // [numChannels x bits]
};
WeightState initWeightState(const float *w, int64_t size, unsigned bits,
                            ChannelLayout layout, int64_t fanOut,
                            unsigned alternations = 3, double ridge = 1e-4);

/// Initial activation basis u_k = 2^k * 0.6745 * 2 / (2^bits - 1).
std::vector<float> initActivationBasis(unsigned bits);

/// Bit-planes of `rows` rows of `channels` codes each (dq.pack_bits): for
/// row r, plane k, word w, bit b is bit k of codes[r * channels + 64 w + b];
/// bits past `channels` are 0. `packed` holds rows * bits * ceil(channels /
/// 64) words, in that order.
void packBitPlanes(const uint32_t *codes, int64_t rows, int64_t channels,
                   unsigned bits, uint64_t *packed);

/// Default ridge toward the previous basis.
constexpr double kDefaultRidge = 1e-4;

} // namespace numerics
} // namespace dq

#endif // DQ_NUMERICS_LEVELS_H
