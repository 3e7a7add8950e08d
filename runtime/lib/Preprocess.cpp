// Input preprocessing: presets, validation, JSON; see
// dq/runtime/Preprocess.h.
#include "dq/runtime/Preprocess.h"

#include "dq/runtime/Error.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdlib>

namespace dq {
namespace runtime {

using json = nlohmann::json;

namespace {

// The CIFAR-10 training set's per-channel mean and standard deviation.
const std::vector<double> kCifar10Mean = {0.4914, 0.4822, 0.4465};
const std::vector<double> kCifar10Std = {0.2470, 0.2435, 0.2616};

int64_t channelsOf(const std::vector<int64_t> &imageShape) {
  return imageShape.empty() ? 0 : imageShape.back();
}

/// The shortest text that reads back to `value` (as JSON prints it).
std::string number(double value) { return json(value).dump(); }

std::string numbers(const std::vector<double> &values) {
  if (values.size() == 1)
    return number(values[0]);
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i)
    text += (i ? ", " : "") + number(values[i]);
  return text + "]";
}

} // namespace

bool Preprocess::operator==(const Preprocess &other) const {
  // Compared as the drivers apply them.
  return meanF32() == other.meanF32() && stddevF32() == other.stddevF32();
}

std::vector<float> Preprocess::meanF32() const {
  return std::vector<float>(mean.begin(), mean.end());
}

std::vector<float> Preprocess::stddevF32() const {
  return std::vector<float>(stddev.begin(), stddev.end());
}

const std::vector<std::string> &preprocessPresetNames() {
  static const std::vector<std::string> names = {"fashion-mnist", "cifar10",
                                                 "none"};
  return names;
}

Preprocess preprocessPreset(const std::string &name, int64_t channels) {
  if (channels < 1)
    throw Error("input preset " + name + ": the images have no channels");
  Preprocess p;
  if (name == "none") {
    p.mean.assign(channels, 0.0);
    p.stddev.assign(channels, 1.0);
    return p;
  }
  int64_t want;
  if (name == "fashion-mnist") {
    want = 1;
    p.mean = {0.2860};
    p.stddev = {0.3530};
  } else if (name == "cifar10") {
    want = 3;
    p.mean = kCifar10Mean;
    p.stddev = kCifar10Std;
  } else {
    throw Error("unknown input preset '" + name +
                "' (expected fashion-mnist, cifar10 or none)");
  }
  if (channels != want)
    throw Error("input preset " + name + " is for " + std::to_string(want) +
                "-channel images; the model's have " +
                std::to_string(channels) +
                " (give --input-mean and --input-std)");
  return p;
}

Preprocess defaultPreprocess(const std::vector<int64_t> &imageShape,
                             std::string *presetName) {
  int64_t channels = channelsOf(imageShape);
  std::string name = channels == 1   ? "fashion-mnist"
                     : channels == 3 ? "cifar10"
                                     : "none";
  if (presetName)
    *presetName = name;
  return preprocessPreset(name, channels);
}

Preprocess legacyPreprocess(const std::vector<int64_t> &imageShape) {
  int64_t channels = channelsOf(imageShape);
  if (channels == 3)
    return preprocessPreset("cifar10", 3);
  Preprocess p;
  p.mean.assign(channels > 0 ? channels : 1, 0.2860);
  p.stddev.assign(channels > 0 ? channels : 1, 0.3530);
  return p;
}

std::string checkPreprocess(const Preprocess &p, int64_t channels) {
  for (auto [values, what] : {std::pair{&p.mean, " mean values"},
                              std::pair{&p.stddev, " standard deviations"}})
    if (static_cast<int64_t>(values->size()) != channels)
      return std::to_string(values->size()) + what + " for " +
             std::to_string(channels) + "-channel images (one per channel)";
  for (size_t c = 0; c < p.mean.size(); ++c) {
    double m = p.mean[c], s = p.stddev[c];
    std::string where = " of channel " + std::to_string(c);
    if (!std::isfinite(m) || std::fabs(m) > FLT_MAX)
      return "mean" + where + " is " + number(m) +
             ", not a finite f32 number";
    if (!std::isfinite(s) || std::fabs(s) > FLT_MAX)
      return "standard deviation" + where + " is " + number(s) +
             ", not a finite f32 number";
    if (!(static_cast<float>(s) > 0))
      return "standard deviation" + where + " is " + number(s) +
             ", expected a positive number";
    // A black and a white pixel: every pixel normalizes between them.
    float lo = (0.0f - static_cast<float>(m)) / static_cast<float>(s);
    float hi = (1.0f - static_cast<float>(m)) / static_cast<float>(s);
    if (!std::isfinite(lo) || !std::isfinite(hi))
      return "mean " + number(m) + " and standard deviation " + number(s) +
             where + " normalize a pixel to infinity";
  }
  return "";
}

std::string preprocessToJson(const Preprocess &p) {
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  object["layout"] = kPreprocessLayout;
  object["pixel_scale"] = kPixelScale;
  object["mean"] = p.mean;
  object["std"] = p.stddev;
  return object.dump();
}

Preprocess preprocessFromJson(const std::string &jsonText,
                              const std::string &source,
                              const std::string &field, int64_t channels) {
  auto fail = [&](const std::string &where, const std::string &problem) {
    throw Error(source + ": " + where + ": " + problem);
  };
  json object = json::parse(jsonText, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object())
    fail(field, "expected an object with layout, pixel_scale, mean and std");
  for (auto it = object.begin(); it != object.end(); ++it)
    if (it.key() != "layout" && it.key() != "pixel_scale" &&
        it.key() != "mean" && it.key() != "std")
      fail(field + "." + it.key(),
           "unknown field (this runtime applies layout, pixel_scale, mean "
           "and std only)");
  auto member = [&](const char *key) -> const json & {
    auto it = object.find(key);
    if (it == object.end())
      fail(field + "." + key, "missing");
    return *it;
  };
  const json &layout = member("layout");
  if (layout != json(kPreprocessLayout))
    fail(field + ".layout", "expected \"NHWC\" (the only layout dq feeds), "
                            "got " + layout.dump());
  const json &scale = member("pixel_scale");
  if (!scale.is_number() || scale.get<double>() != kPixelScale)
    fail(field + ".pixel_scale",
         "expected 255 (8-bit pixels), got " + scale.dump());
  Preprocess p;
  for (auto [key, values] : {std::pair{"mean", &p.mean},
                             std::pair{"std", &p.stddev}}) {
    const json &array = member(key);
    if (!array.is_array() || array.empty())
      fail(field + "." + key, "expected a non-empty array of numbers");
    for (size_t i = 0; i < array.size(); ++i) {
      if (!array[i].is_number())
        fail(field + "." + key + "[" + std::to_string(i) + "]",
             "expected a number, got " + array[i].dump());
      values->push_back(array[i].get<double>());
    }
  }
  std::string problem = checkPreprocess(p, channels);
  if (!problem.empty())
    fail(field, problem);
  return p;
}

std::string describePreprocess(const Preprocess &p) {
  return "mean " + numbers(p.mean) + ", std " + numbers(p.stddev);
}

std::vector<double> parseNumberList(const std::string &option,
                                    const std::string &text) {
  std::vector<double> values;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    char *end = nullptr;
    errno = 0;
    double value = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || errno == ERANGE ||
        !std::isfinite(value) || item.find_first_of(" \t\n") != std::string::npos)
      throw Error("option " + option + ": '" + item +
                  "' is not a finite number (expected one value, or one per "
                  "channel separated by commas)");
    values.push_back(value);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return values;
}

} // namespace runtime
} // namespace dq
