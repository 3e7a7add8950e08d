// How a compiled model's input images are made from pixels: recorded at
// compile time in the manifest (and in the checkpoints, final states and
// exports dq-train writes), applied by dq-train and dq-run
// (docs/Runtime.md, "Input preprocessing").
//
//   x[n, h, w, c] = (p[n, h, w, c] / 255 - mean[c]) / std[c]
//
// p: the 8-bit pixel as a data set stores it; images are NHWC, [batch] +
// the manifest's image_shape ([H, W, C]); c is the last dimension.
#ifndef DQ_RUNTIME_PREPROCESS_H
#define DQ_RUNTIME_PREPROCESS_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dq {
namespace runtime {

/// Fashion-MNIST normalization of docs/Algorithm.md, in units of pixel/255.
constexpr float kFashionMnistMean = 0.2860f;
constexpr float kFashionMnistStd = 0.3530f;

/// The only layout and pixel scale dq reads and applies.
inline constexpr const char *kPreprocessLayout = "NHWC";
inline constexpr int kPixelScale = 255;

struct Preprocess {
  /// One per channel, in units of pixel/255 (as text reads them; the
  /// drivers apply them as f32).
  std::vector<double> mean;
  std::vector<double> stddev;

  bool operator==(const Preprocess &other) const;
  bool operator!=(const Preprocess &other) const { return !(*this == other); }
  size_t channels() const { return mean.size(); }
  std::vector<float> meanF32() const;
  std::vector<float> stddevF32() const;
};

/// The names dq-compile --input-preset takes: "fashion-mnist" (1 channel,
/// mean 0.2860, std 0.3530), "cifar10" (3 channels, the CIFAR-10 training
/// set's per-channel statistics), "none" (mean 0, std 1 per channel: the
/// model takes pixel/255).
const std::vector<std::string> &preprocessPresetNames();
/// The preset `name` for images of `channels` channels; throws Error for an
/// unknown name or a preset made for another channel count.
Preprocess preprocessPreset(const std::string &name, int64_t channels);

/// What dq-compile records without options: the fashion-mnist preset for
/// 1-channel images, cifar10 for 3 channels, none otherwise; `presetName`
/// receives the name.
Preprocess defaultPreprocess(const std::vector<int64_t> &imageShape,
                             std::string *presetName = nullptr);
/// What dq-train and dq-run applied before manifests recorded it (and apply
/// to a manifest without the field): the CIFAR-10 statistics for 3-channel
/// images, the Fashion-MNIST ones for every channel otherwise.
Preprocess legacyPreprocess(const std::vector<int64_t> &imageShape);

/// Empty when `p` is usable for images of `channels` channels; else what is
/// wrong: a count other than `channels`, a value that is not finite (as
/// f32 too), a standard deviation <= 0, or one so small that a pixel
/// normalizes to infinity.
std::string checkPreprocess(const Preprocess &p, int64_t channels);

/// The JSON object the manifest and state metadata hold:
/// {"layout": "NHWC", "pixel_scale": 255, "mean": [...], "std": [...]}.
std::string preprocessToJson(const Preprocess &p);
/// Parses and validates that object (given as JSON text); throws Error
/// "<source>: <field>: <problem>" for a missing or unknown field, another
/// layout or pixel scale, or values checkPreprocess refuses.
Preprocess preprocessFromJson(const std::string &jsonText,
                              const std::string &source,
                              const std::string &field, int64_t channels);

/// "mean 0.286, std 0.353" (one value per channel, shortest text).
std::string describePreprocess(const Preprocess &p);

/// A comma-separated list of numbers ("0.4914,0.4822,0.4465"); throws Error
/// naming `option` for anything else.
std::vector<double> parseNumberList(const std::string &option,
                                    const std::string &text);

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_PREPROCESS_H
