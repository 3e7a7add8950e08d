// Tests of the exported quantized model: code packing at every bit width,
// the export round trip against a manifest, and rejected exports.
#include "dq/runtime/Export.h"
#include "dq/runtime/Error.h"
#include "dq/runtime/StateFile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

using namespace dq::runtime;
namespace fs = std::filesystem;

namespace {

TEST(CodePacking, RoundTripsEveryWidth) {
  std::mt19937 rng(7);
  for (int bits = 1; bits <= 8; ++bits) {
    std::vector<int8_t> codes(1001);
    for (int8_t &c : codes)
      c = static_cast<int8_t>(rng() % (1u << bits));
    std::vector<uint8_t> packed =
        packCodes(codes.data(), codes.size(), bits, "w.codes");
    EXPECT_EQ(packed.size(), (codes.size() * bits + 7) / 8) << bits;
    std::vector<int8_t> back(codes.size(), -1);
    unpackCodes(packed.data(), back.size(), bits, back.data());
    EXPECT_EQ(back, codes) << bits;
  }
}

TEST(CodePacking, LittleEndianBitStream) {
  // Codes 1, 2, 3 at two bits: 01 | 10<<2 | 11<<4 = 0b00111001.
  int8_t codes[] = {1, 2, 3};
  std::vector<uint8_t> packed = packCodes(codes, 3, 2, "w.codes");
  ASSERT_EQ(packed.size(), 1u);
  EXPECT_EQ(packed[0], 0x39);
}

TEST(CodePacking, RejectsCodesOutOfRange) {
  int8_t codes[] = {0, 3, 4};
  try {
    packCodes(codes, 3, 2, "layer.codes");
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("'layer.codes': element 2 is 4"),
              std::string::npos)
        << e.what();
  }
}

class ExportTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("dq-export-test-" + std::to_string(getpid()));
    fs::create_directories(dir);
    manifest.moduleHash = 0x1234;
    manifest.state = {
        {"conv.weight.codes", "codes", DType::I8, {4, 3}},
        {"conv.weight.basis", "basis", DType::F32, {4, 3}},
        {"conv.weight.latent", "latent", DType::F32, {4, 3}},
        {"fc.weight", "param", DType::F32, {2, 2}},
        {"fc.weight.momentum", "momentum", DType::F32, {2, 2}},
    };
    for (const TensorSpec &spec : manifest.state)
      state.emplace_back(spec);
    for (int i = 0; i < 12; ++i) {
      state[0].as<int8_t>()[i] = static_cast<int8_t>(i % 8);
      state[1].as<float>()[i] = 0.5f * i;
      state[2].as<float>()[i] = 1.0f + i;
    }
    for (int i = 0; i < 4; ++i) {
      state[3].as<float>()[i] = -1.0f * i;
      state[4].as<float>()[i] = 9.0f;
    }
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string path(const std::string &name) { return (dir / name).string(); }

  fs::path dir;
  Manifest manifest;
  std::vector<HostTensor> state;
};

TEST_F(ExportTest, KeepsInferenceTensorsAndPacksCodes) {
  writeExport(path("m.dqm"), manifest, state);
  StateFileContents raw = readStateFile(path("m.dqm"));
  ASSERT_EQ(raw.tensors.size(), 3u); // codes, basis, fc.weight
  EXPECT_EQ(raw.tensors[0].spec.shape, std::vector<int64_t>{5}); // 12*3 bits
  std::vector<HostTensor> back = readInferenceState(path("m.dqm"), manifest);
  ASSERT_EQ(back.size(), state.size());
  for (size_t i : {0u, 1u, 3u})
    EXPECT_EQ(std::memcmp(back[i].data.data(), state[i].data.data(),
                          state[i].spec.bytes()),
              0)
        << manifest.state[i].name;
  // Training-only tensors come back zero.
  EXPECT_EQ(back[2].as<float>()[5], 0.0f);
  EXPECT_EQ(back[4].as<float>()[0], 0.0f);
}

TEST_F(ExportTest, ReadsFullStateFilesToo) {
  writeStateFile(path("s.state"), manifest.moduleHash, state);
  std::vector<HostTensor> back = readInferenceState(path("s.state"), manifest);
  EXPECT_EQ(back[4].as<float>()[0], 9.0f);
}

TEST_F(ExportTest, RejectsAnotherModelsExport) {
  writeExport(path("m.dqm"), manifest, state);
  Manifest other = manifest;
  other.moduleHash = 0x9999;
  EXPECT_THROW(readInferenceState(path("m.dqm"), other), Error);
  // A manifest with wider codes than the export was packed with.
  Manifest wider = manifest;
  wider.state[1].shape = {4, 4};
  try {
    readInferenceState(path("m.dqm"), wider);
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("packed codes 'conv.weight.codes'"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ExportTest, CodesWithoutBasisAreAnError) {
  manifest.state[1].name = "conv.weight.scale";
  EXPECT_THROW(writeExport(path("m.dqm"), manifest, state), Error);
  EXPECT_FALSE(fs::exists(path("m.dqm")));
}

/// The message of what `f` throws ("" when it does not throw).
template <typename F> std::string errorOf(F f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST_F(ExportTest, ValueProblemsAreFoundByTensor) {
  EXPECT_TRUE(findStateValueProblems(state, manifest).empty());
  state[0].as<int8_t>()[4] = 8; // 3-bit codes: 8 does not fit
  state[0].as<int8_t>()[7] = -1; // 255 as the unsigned code it is
  state[2].as<float>()[3] = NAN;
  state[3].as<float>()[1] = INFINITY;
  std::vector<StateValueProblem> problems =
      findStateValueProblems(state, manifest);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].tensor, "conv.weight.codes");
  EXPECT_TRUE(problems[0].unsafe);
  EXPECT_EQ(problems[0].what, "2 codes (the first at element 4) outside "
                              "[0, 8) for 3-bit codes, e.g. 8");
  EXPECT_EQ(problems[1].tensor, "conv.weight.latent");
  EXPECT_FALSE(problems[1].unsafe);
  EXPECT_EQ(problems[1].what, "1 non-finite value (the first at element 3)");
  EXPECT_EQ(problems[2].tensor, "fc.weight");
}

TEST_F(ExportTest, NegativeRunningVariances) {
  manifest.state[3].role = "running_var";
  state[3].as<float>()[0] = 0.0f; // zero is a variance
  std::vector<StateValueProblem> problems =
      findStateValueProblems(state, manifest);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].what,
            "3 negative running variances (the first at element 1)");
}

TEST_F(ExportTest, LoadingChecksValues) {
  // Codes out of range would make predict read past the levels: refused
  // always, even for inspection.
  state[0].as<int8_t>()[2] = 100;
  writeStateFile(path("codes.state"), manifest.moduleHash, state);
  for (bool allow : {false, true}) {
    std::string message = errorOf(
        [&] { readInferenceState(path("codes.state"), manifest, allow); });
    EXPECT_NE(message.find("codes.state: state values the compiled code "
                           "cannot run with:\n  tensor 'conv.weight.codes'"),
              std::string::npos)
        << message;
    EXPECT_NE(errorOf([&] {
                readStateFileFor(path("codes.state"), manifest, nullptr,
                                 allow);
              }),
              "");
  }
  // Non-finite values: refused unless asked to load them anyway.
  state[0].as<int8_t>()[2] = 1;
  state[3].as<float>()[2] = -INFINITY;
  writeStateFile(path("nan.state"), manifest.moduleHash, state);
  std::string message =
      errorOf([&] { readInferenceState(path("nan.state"), manifest); });
  EXPECT_NE(message.find("outside the model's contract:\n  tensor "
                         "'fc.weight': 1 non-finite value"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("--allow-invalid-state"), std::string::npos);
  EXPECT_EQ(errorOf([&] {
              readInferenceState(path("nan.state"), manifest, true);
            }),
            "");
  // Writing an export of such a state is refused by the reader of it later,
  // and the export of a good state reads back clean.
  state[3].as<float>()[2] = 1;
  writeExport(path("ok.dqm"), manifest, state);
  EXPECT_EQ(errorOf([&] { readInferenceState(path("ok.dqm"), manifest); }),
            "");
}

TEST_F(ExportTest, PackedEntriesOfAnotherTypeAreMismatches) {
  writeExport(path("m.dqm"), manifest, state);
  StateFileContents raw = readStateFile(path("m.dqm"));
  for (const char *metadata :
       {R"({"kind":"dq-export","packed":{"conv.weight.codes":{"bits":"3","shape":[4,3]}}})",
        R"({"kind":"dq-export","packed":{"conv.weight.codes":{"bits":3,"shape":"4x3"}}})",
        R"({"kind":"dq-export","packed":{"conv.weight.codes":[]}})",
        R"({"kind":"dq-export","packed":7})"}) {
    writeStateFile(path("bad.dqm"), raw.manifestHash, raw.tensors, metadata);
    std::string message =
        errorOf([&] { readInferenceState(path("bad.dqm"), manifest); });
    EXPECT_NE(message.find("bad.dqm: "), std::string::npos) << metadata;
    EXPECT_EQ(message.find("json.exception"), std::string::npos) << message;
  }
}

TEST_F(ExportTest, EightBitCodesAreUnsigned) {
  // 8-bit codes use the whole byte: 200 is stored as int8 -56 and is valid.
  manifest.state[1].shape = {4, 8};
  state[1] = HostTensor(manifest.state[1]);
  state[0].as<int8_t>()[0] = static_cast<int8_t>(200);
  state[0].as<int8_t>()[1] = static_cast<int8_t>(255);
  EXPECT_TRUE(findStateValueProblems(state, manifest).empty());
  writeExport(path("m8.dqm"), manifest, state);
  std::vector<HostTensor> back = readInferenceState(path("m8.dqm"), manifest);
  EXPECT_EQ(static_cast<uint8_t>(back[0].as<int8_t>()[0]), 200);
  EXPECT_EQ(static_cast<uint8_t>(back[0].as<int8_t>()[1]), 255);
}

} // namespace
