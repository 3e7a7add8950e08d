// Tests of the recorded input preprocessing (docs/Runtime.md, "Input
// preprocessing"): presets and defaults, validation of every value, the
// manifest field (and manifests without it), the record in state metadata
// and exports, and the refusal of a state trained on other inputs.
#include "dq/runtime/Dataset.h"
#include "dq/runtime/Error.h"
#include "dq/runtime/Export.h"
#include "dq/runtime/Manifest.h"
#include "dq/runtime/Preprocess.h"
#include "dq/runtime/StateFile.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

using namespace dq::runtime;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

::testing::AssertionResult failsWith(const std::function<void()> &fn,
                                     std::initializer_list<std::string> parts) {
  try {
    fn();
  } catch (const Error &e) {
    std::string message = e.what();
    for (const std::string &part : parts)
      if (message.find(part) == std::string::npos)
        return ::testing::AssertionFailure()
               << "message '" << message << "' lacks '" << part << "'";
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no error";
}

Preprocess make(std::vector<double> mean, std::vector<double> stddev) {
  Preprocess p;
  p.mean = std::move(mean);
  p.stddev = std::move(stddev);
  return p;
}

TEST(Preprocess, PresetsAndDefaults) {
  Preprocess fashion = preprocessPreset("fashion-mnist", 1);
  EXPECT_EQ(fashion.meanF32(), std::vector<float>{kFashionMnistMean});
  EXPECT_EQ(fashion.stddevF32(), std::vector<float>{kFashionMnistStd});
  Preprocess cifar = preprocessPreset("cifar10", 3);
  EXPECT_EQ(cifar.meanF32(),
            (std::vector<float>{0.4914f, 0.4822f, 0.4465f}));
  EXPECT_EQ(cifar.stddevF32(),
            (std::vector<float>{0.2470f, 0.2435f, 0.2616f}));
  Preprocess none = preprocessPreset("none", 4);
  EXPECT_EQ(none.mean, std::vector<double>(4, 0.0));
  EXPECT_EQ(none.stddev, std::vector<double>(4, 1.0));
  EXPECT_TRUE(failsWith([] { preprocessPreset("cifar10", 1); },
                        {"cifar10 is for 3-channel images", "have 1"}));
  EXPECT_TRUE(failsWith([] { preprocessPreset("imagenet", 3); },
                        {"unknown input preset 'imagenet'"}));

  std::string name;
  EXPECT_EQ(defaultPreprocess({28, 28, 1}, &name), fashion);
  EXPECT_EQ(name, "fashion-mnist");
  EXPECT_EQ(defaultPreprocess({32, 32, 3}, &name), cifar);
  EXPECT_EQ(name, "cifar10");
  EXPECT_EQ(defaultPreprocess({8, 8, 2}, &name), preprocessPreset("none", 2));
  EXPECT_EQ(name, "none");
  // What the tools applied before the manifest recorded it.
  EXPECT_EQ(legacyPreprocess({28, 28, 1}), fashion);
  EXPECT_EQ(legacyPreprocess({32, 32, 3}), cifar);
  EXPECT_EQ(legacyPreprocess({8, 8, 2}), make({0.286, 0.286}, {0.353, 0.353}));
}

TEST(Preprocess, EveryValueIsChecked) {
  double inf = std::numeric_limits<double>::infinity();
  double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(checkPreprocess(make({0.5}, {0.25}), 1), "");
  EXPECT_NE(checkPreprocess(make({0.5}, {0.25}), 3).find(
                "1 mean values for 3-channel images (one per channel)"),
            std::string::npos);
  EXPECT_NE(checkPreprocess(make({0.5, 0.5}, {0.25}), 2).find(
                "1 standard deviations for 2-channel images"),
            std::string::npos);
  EXPECT_NE(checkPreprocess(make({nan}, {1}), 1).find("mean of channel 0"),
            std::string::npos);
  EXPECT_NE(checkPreprocess(make({1e39}, {1}), 1).find("not a finite f32"),
            std::string::npos);
  EXPECT_NE(checkPreprocess(make({0}, {inf}), 1).find(
                "standard deviation of channel 0"),
            std::string::npos);
  EXPECT_NE(checkPreprocess(make({0, 0}, {1, 0}), 2).find(
                "standard deviation of channel 1 is 0.0, expected a positive"),
            std::string::npos);
  EXPECT_NE(checkPreprocess(make({0}, {-1}), 1).find("expected a positive"),
            std::string::npos);
  // Positive as a double, zero as f32.
  EXPECT_NE(checkPreprocess(make({0}, {1e-50}), 1).find("expected a positive"),
            std::string::npos);
  // Positive as f32, but a white pixel becomes infinite.
  EXPECT_NE(checkPreprocess(make({0}, {1e-40}), 1).find("to infinity"),
            std::string::npos);
}

TEST(Preprocess, JsonRoundTripAndErrors) {
  Preprocess p = make({0.5, 0.25, 0}, {0.5, 1, 2});
  std::string text = preprocessToJson(p);
  EXPECT_EQ(text, R"({"layout":"NHWC","pixel_scale":255,"mean":[0.5,0.25,0.0],)"
                  R"("std":[0.5,1.0,2.0]})");
  EXPECT_EQ(preprocessFromJson(text, "f", "preprocess", 3), p);

  auto fails = [](const std::string &text,
                  std::initializer_list<std::string> parts,
                  int64_t channels = 1) {
    return failsWith(
        [&] { preprocessFromJson(text, "m.json", "preprocess", channels); },
        parts);
  };
  std::string ok = R"("layout": "NHWC", "pixel_scale": 255)";
  EXPECT_TRUE(fails("[1]", {"m.json: preprocess: expected an object"}));
  EXPECT_TRUE(fails(R"({"pixel_scale": 255, "mean": [0], "std": [1]})",
                    {"preprocess.layout: missing"}));
  EXPECT_TRUE(fails(R"({"layout": "NCHW", "pixel_scale": 255, "mean": [0],
                        "std": [1]})",
                    {"preprocess.layout: expected \"NHWC\"", "\"NCHW\""}));
  EXPECT_TRUE(fails(R"({"layout": "NHWC", "pixel_scale": 1, "mean": [0],
                        "std": [1]})",
                    {"preprocess.pixel_scale: expected 255"}));
  EXPECT_TRUE(fails("{" + ok + R"(, "mean": [0]})", {"preprocess.std: missing"}));
  EXPECT_TRUE(fails("{" + ok + R"(, "mean": [], "std": []})",
                    {"preprocess.mean: expected a non-empty array"}));
  EXPECT_TRUE(fails("{" + ok + R"(, "mean": ["0"], "std": [1]})",
                    {"preprocess.mean[0]: expected a number"}));
  EXPECT_TRUE(fails("{" + ok + R"(, "mean": [0], "std": [0]})",
                    {"preprocess: standard deviation of channel 0"}));
  EXPECT_TRUE(fails("{" + ok + R"(, "mean": [0], "std": [1]})",
                    {"1 mean values for 3-channel images"}, 3));
  EXPECT_TRUE(fails("{" + ok + R"(, "mean": [0], "std": [1], "resize": 32})",
                    {"preprocess.resize: unknown field"}));
  // Integers are numbers too.
  EXPECT_EQ(preprocessFromJson("{" + ok + R"(, "mean": [0], "std": [1]})",
                               "f", "p", 1),
            make({0}, {1}));
}

TEST(Preprocess, NumberLists) {
  EXPECT_EQ(parseNumberList("--input-mean", "0.5"), std::vector<double>{0.5});
  EXPECT_EQ(parseNumberList("--input-mean", "0.4914,0.4822,1e-1"),
            (std::vector<double>{0.4914, 0.4822, 0.1}));
  for (const char *bad : {"", "0.5,", ",0.5", "a", "0.5x", "nan", "inf",
                          "1e999", " 0.5", "0.5 ,1"})
    EXPECT_TRUE(failsWith([&] { parseNumberList("--input-std", bad); },
                          {"option --input-std", "is not a finite number"}))
        << bad;
}

TEST(Preprocess, DescribeIsShort) {
  EXPECT_EQ(describePreprocess(preprocessPreset("fashion-mnist", 1)),
            "mean 0.286, std 0.353");
  EXPECT_EQ(describePreprocess(make({0.5, 0.25}, {1, 2})),
            "mean [0.5, 0.25], std [1.0, 2.0]");
}

/// A minimal valid training manifest for 4x4x`channels` images.
json manifestJson(int64_t channels) {
  return json::parse(R"({
    "format": "dq-manifest", "version": 2, "kind": "training",
    "module_hash": "fnv1a64:0123456789abcdef",
    "library": {"bytes": 100, "hash": "fnv1a64:0123456789abcdef"},
    "batch": 2, "image_shape": [4, 4, )" +
                     std::to_string(channels) + R"(], "classes": 3,
    "state": [{"name": "w", "role": "param", "dtype": "f32", "shape": [2],
               "bytes": 8}],
    "entry_points": {
      "train_step": {"symbol": "a", "inputs": [], "outputs": []},
      "predict": {"symbol": "b", "inputs": [], "outputs": []},
      "init_state": {"symbol": "c", "inputs": [], "outputs": []}}})");
}

TEST(Preprocess, ManifestField) {
  // Without the field: nothing recorded, the old default applies.
  Manifest old = parseManifest(manifestJson(1).dump(), "old.json");
  EXPECT_FALSE(old.preprocess);
  EXPECT_EQ(effectivePreprocess(old), preprocessPreset("fashion-mnist", 1));
  EXPECT_EQ(toJson(old).find("preprocess"), std::string::npos);

  json root = manifestJson(3);
  root["preprocess"] = json::parse(
      R"({"layout": "NHWC", "pixel_scale": 255, "mean": [0.1, 0.2, 0.3],
          "std": [0.4, 0.5, 0.6]})");
  Manifest m = parseManifest(root.dump(), "m.json");
  ASSERT_TRUE(m.preprocess);
  EXPECT_EQ(*m.preprocess, make({0.1, 0.2, 0.3}, {0.4, 0.5, 0.6}));
  EXPECT_EQ(effectivePreprocess(m), *m.preprocess);
  // Printed after "classes", read back the same.
  std::string text = toJson(m);
  EXPECT_LT(text.find("\"classes\""), text.find("\"preprocess\""));
  EXPECT_LT(text.find("\"preprocess\""), text.find("\"state\""));
  Manifest again = parseManifest(text, "again.json");
  ASSERT_TRUE(again.preprocess);
  EXPECT_EQ(*again.preprocess, *m.preprocess);
  EXPECT_EQ(toJson(again), text);
  // Not part of the library's contract.
  Manifest other = m;
  other.preprocess = preprocessPreset("none", 3);
  EXPECT_EQ(modelSignature(other), modelSignature(m));

  root["preprocess"]["mean"] = {0.5};
  EXPECT_TRUE(failsWith([&] { parseManifest(root.dump(), "m.json"); },
                        {"m.json: preprocess: 1 mean values for "
                         "3-channel images"}));
  root["preprocess"]["mean"] = {0.5, 0.5, 0.5};
  root["preprocess"]["std"] = {0.5, -1, 0.5};
  EXPECT_TRUE(failsWith([&] { parseManifest(root.dump(), "m.json"); },
                        {"m.json: preprocess: standard deviation of channel 1"}));
  root["preprocess"] = "fashion-mnist";
  EXPECT_TRUE(failsWith([&] { parseManifest(root.dump(), "m.json"); },
                        {"m.json: preprocess: expected an object"}));
  root["preprocess"] = json::parse(preprocessToJson(make({0}, {1})));
  root["image_shape"] = {16};
  EXPECT_TRUE(failsWith([&] { parseManifest(root.dump(), "m.json"); },
                        {"m.json: preprocess: layout NHWC needs an "
                         "image_shape [H, W, C]"}));
}

TEST(Preprocess, NormalizeAppliesTheF32Values) {
  Dataset data;
  data.count = 1;
  data.height = data.width = 1;
  data.channels = 2;
  data.raw = {0, 255};
  data.normalize(make({0.5, 0.25}, {0.5, 0.25}));
  EXPECT_FLOAT_EQ(data.images[0], (0.0f - 0.5f) / 0.5f);
  EXPECT_FLOAT_EQ(data.images[1], (1.0f - 0.25f) / 0.25f);
}

class RecordedPreprocessTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("dq-preprocess-test-" + std::to_string(getpid()));
    fs::create_directories(dir);
    manifest = parseManifest(manifestJson(1).dump(), "m.json");
    manifest.preprocess = make({0.5}, {0.25});
    state.emplace_back(manifest.state[0]);
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string path(const std::string &name) { return (dir / name).string(); }

  fs::path dir;
  Manifest manifest;
  std::vector<HostTensor> state;
};

TEST_F(RecordedPreprocessTest, StateMetadata) {
  EXPECT_FALSE(recordedPreprocess("s", "{}", manifest));
  EXPECT_FALSE(recordedPreprocess("s", R"({"step": 3})", manifest));
  checkRecordedPreprocess("s", "{}", manifest);

  std::string same =
      R"({"preprocess": )" + preprocessToJson(make({0.5}, {0.25})) + "}";
  ASSERT_TRUE(recordedPreprocess("s", same, manifest));
  checkRecordedPreprocess("s", same, manifest);

  std::string other =
      R"({"preprocess": )" + preprocessToJson(make({0.286}, {0.353})) + "}";
  EXPECT_TRUE(failsWith(
      [&] { checkRecordedPreprocess("run/final.state", other, manifest); },
      {"run/final.state: trained on inputs normalized with mean 0.286, std "
       "0.353, but the model's manifest records mean 0.5, std 0.25",
       "--input-mean 0.286 --input-std 0.353"}));
  // Against a manifest without the field: its default.
  Manifest old = manifest;
  old.preprocess.reset();
  EXPECT_TRUE(failsWith([&] { checkRecordedPreprocess("s", same, old); },
                        {"records none (mean 0.286, std 0.353 is the "
                         "default)"}));
  checkRecordedPreprocess("s", other, old);

  EXPECT_TRUE(failsWith(
      [&] {
        recordedPreprocess("s", R"({"preprocess": {"layout": "NHWC"}})",
                           manifest);
      },
      {"s: metadata.preprocess.pixel_scale: missing"}));
}

TEST_F(RecordedPreprocessTest, ExportCarriesIt) {
  std::string file = path("model.dqm");
  writeExport(file, manifest, state);
  std::string metadata;
  readInferenceState(file, manifest, false, &metadata);
  EXPECT_TRUE(isExportMetadata(metadata));
  std::optional<Preprocess> recorded =
      recordedPreprocess(file, metadata, manifest);
  ASSERT_TRUE(recorded);
  EXPECT_EQ(*recorded, make({0.5}, {0.25}));
  checkRecordedPreprocess(file, metadata, manifest);

  // The same module compiled with another normalization: refused.
  Manifest other = manifest;
  other.preprocess = make({0.286}, {0.353});
  readInferenceState(file, other, false, &metadata);
  EXPECT_TRUE(failsWith([&] { checkRecordedPreprocess(file, metadata, other); },
                        {"model.dqm: trained on inputs normalized with mean "
                         "0.5, std 0.25"}));

  // A full state file is not an export.
  std::string full = path("final.state");
  writeStateFile(full, manifest.moduleHash, state, "{}");
  readInferenceState(full, manifest, false, &metadata);
  EXPECT_FALSE(isExportMetadata(metadata));
  EXPECT_FALSE(recordedPreprocess(full, metadata, manifest));
}

} // namespace
