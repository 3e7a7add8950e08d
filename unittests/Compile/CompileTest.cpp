//===- CompileTest.cpp - tests of dq::compile::compileModel ---------------===//
//
// The library behind dq-compile (dq/Compile/Compile.h), called as another
// program would: a training module built in process is compiled to a
// library, a manifest and an initial state; bad options and modules are
// CompileErrors naming what is wrong, with nothing written.
//
//===----------------------------------------------------------------------===//

#include "dq/Compile/Compile.h"
#include "dq/Registration.h"

#include "dq/runtime/Manifest.h"
#include "dq/runtime/StateFile.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <string>

using namespace dq::compile;

namespace {

/// A linear classifier of 4x4 images, batch 2, in TOSA.
constexpr const char *kModel = R"mlir(
func.func @model(%x: tensor<2x4x4x1xf32>) -> tensor<2x10xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %s1 = tosa.const_shape {values = dense<[1, 2, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %f = tosa.reshape %x, %s1 : (tensor<2x4x4x1xf32>, !tosa.shape<3>) -> tensor<1x2x16xf32>
  %w = "tosa.const"() <{values = dense<0.01> : tensor<1x16x10xf32>}> : () -> tensor<1x16x10xf32>
  %y = tosa.matmul %f, %w, %zp, %zp : (tensor<1x2x16xf32>, tensor<1x16x10xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x10xf32>
  %s2 = tosa.const_shape {values = dense<[2, 10]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %o = tosa.reshape %y, %s2 : (tensor<1x2x10xf32>, !tosa.shape<2>) -> tensor<2x10xf32>
  return %o : tensor<2x10xf32>
}
)mlir";

class CompileTest : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::SmallString<128> dir;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("dq-compile-test", dir));
    dir_ = std::string(dir);
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir_); }

  std::string path(llvm::StringRef name) const {
    llvm::SmallString<128> p(dir_);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }

  /// Writes `text` after running `pipeline` (nested under the module, as
  /// dq-compile --lowering-pipeline; empty: none) on it.
  std::string writeModule(llvm::StringRef name, llvm::StringRef text,
                          llvm::StringRef pipeline) {
    mlir::DialectRegistry registry;
    mlir::dq::registerAllDialects(registry);
    mlir::dq::registerAllPasses();
    mlir::MLIRContext context(registry);
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(text, &context);
    EXPECT_TRUE(module);
    if (!pipeline.empty()) {
      mlir::PassManager pm(&context);
      EXPECT_TRUE(mlir::succeeded(mlir::parsePassPipeline(pipeline, pm)));
      EXPECT_TRUE(mlir::succeeded(pm.run(*module)));
    }
    std::string file = path(name);
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    EXPECT_FALSE(ec);
    module->print(os);
    return file;
  }

  CompileOptions options(const std::string &input,
                         const std::string &prefix) const {
    CompileOptions o;
    o.input = input;
    o.outputPrefix = path(prefix);
    o.noCache = true; // no writes outside the test's directory
    o.codegenThreads = 1;
    return o;
  }

  /// The message of the CompileError `o` gives.
  std::string errorOf(const CompileOptions &o) {
    StageTimer timer;
    try {
      compileModel(o, timer);
    } catch (const CompileError &error) {
      return error.what();
    }
    return "(no error)";
  }

  std::string dir_;
};

TEST_F(CompileTest, TrainingModuleGivesLibraryManifestAndState) {
  std::string input =
      writeModule("train.mlir", kModel, "dq-build-training-graph");
  StageTimer timer;
  CompileResult result = compileModel(options(input, "out/model"), timer);
  EXPECT_FALSE(result.inference);
  EXPECT_EQ(result.libraryPath, path("out/model") + ".so");
  const dq::runtime::Manifest &m = result.manifest;
  EXPECT_EQ(m.batch, 2);
  EXPECT_EQ(m.classes, 10);
  EXPECT_EQ(m.imageShape, (std::vector<int64_t>{4, 4, 1}));
  // The weight and its momentum.
  ASSERT_EQ(m.state.size(), 2u);
  EXPECT_EQ(m.state[0].shape, (std::vector<int64_t>{1, 16, 10}));
  EXPECT_TRUE(m.entryPoints.count("train_step"));
  EXPECT_TRUE(m.entryPoints.count("predict"));
  EXPECT_GT(m.library.bytes, 0u);
  // What was written is what the result says.
  dq::runtime::Manifest read =
      dq::runtime::loadManifest(path("out/model") + ".manifest.json");
  EXPECT_EQ(read.moduleHash, m.moduleHash);
  EXPECT_EQ(read.library.hash, m.library.hash);
  dq::runtime::StateFileContents state =
      dq::runtime::readStateFile(path("out/model") + ".state");
  EXPECT_EQ(state.tensors.size(), 2u);
}

TEST_F(CompileTest, BadOptionsAreErrorsNamingThem) {
  std::string input =
      writeModule("train.mlir", kModel, "dq-build-training-graph");
  CompileOptions o = options(input, "model");
  o.outputPrefix = path("out") + "/";
  EXPECT_NE(errorOf(o).find("expected a path prefix ending in a file name"),
            std::string::npos);
  o = options(input, "model");
  o.target = "tpu";
  EXPECT_NE(errorOf(o).find("--target must be 'cpu' or 'cuda', got 'tpu'"),
            std::string::npos);
  o = options(input, "model");
  o.opsPerFunction = -1;
  EXPECT_NE(errorOf(o).find("--ops-per-function"), std::string::npos);
  o = options(input, "model");
  o.inputMean = "0.5";
  EXPECT_NE(errorOf(o).find("--input-mean and --input-std go together"),
            std::string::npos);
  // Nothing was written.
  EXPECT_FALSE(llvm::sys::fs::exists(path("model.so")));
  EXPECT_FALSE(llvm::sys::fs::exists(path("model.manifest.json")));
}

TEST_F(CompileTest, ModuleWithoutEntryPointsIsAnError) {
  // The forward model alone: no @init_state, @train_step or @predict.
  std::string input = writeModule("model.mlir", kModel, "");
  std::string message = errorOf(options(input, "model"));
  EXPECT_NE(message.find("lacks @init_state, @train_step or @predict"),
            std::string::npos)
      << message;
  EXPECT_NE(errorOf(options(path("missing.mlir"), "model")).find("missing"),
            std::string::npos);
}

} // namespace
