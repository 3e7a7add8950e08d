//===- dq-import.cpp - TorchScript module -> dq model IR ------------------===//
//
//   dq-import model.pt --input-shape 1x3x32x32 -o model.mlir
//
// Loads a traced or scripted TorchScript module with LibTorch, freezes it
// and writes dq's model IR (func + TOSA on NHWC tensors, dq.batch_norm,
// parameters as constants, PyTorch module names as NameLocs).
//
//===----------------------------------------------------------------------===//

#include "dq/Import/TorchGraph.h"
#include "dq/Import/TorchGraphToMLIR.h"
#include "dq/Support/AtomicFileStream.h"
#include "dq/runtime/Error.h"
#include "dq/runtime/Files.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory importCategory("dq-import options");

static cl::opt<std::string> inputPath(cl::Positional, cl::Required,
                                      cl::desc("<TorchScript module .pt>"),
                                      cl::cat(importCategory));
static cl::opt<std::string>
    inputShapeText("input-shape", cl::Required,
                   cl::desc("the input's shape in PyTorch's NCHW order, "
                            "e.g. 1x3x32x32"),
                   cl::cat(importCategory));
static cl::opt<std::string> outputPath("o",
                                       cl::desc("output file ('-': stdout)"),
                                       cl::value_desc("file"), cl::init("-"),
                                       cl::cat(importCategory));
static cl::opt<bool> emitBytecode("emit-bytecode",
                                  cl::desc("write MLIR bytecode"),
                                  cl::cat(importCategory));
static cl::opt<int64_t> resourceThreshold(
    "resource-threshold",
    cl::desc("constants with more elements are written as dense_resource "
             "blobs (-1: all inline)"),
    cl::init(256), cl::cat(importCategory));
static cl::opt<std::string> functionName("function-name",
                                         cl::desc("name of the function"),
                                         cl::init("model"),
                                         cl::cat(importCategory));
static cl::opt<bool> timing("timing",
                            cl::desc("print how long each phase took"),
                            cl::cat(importCategory));
static cl::opt<bool> printDebugInfo(
    "print-locations",
    cl::desc("print op locations (module names) in the text output"),
    cl::init(true), cl::cat(importCategory));

/// "1x3x32x32" -> {1, 3, 32, 32}; empty on malformed input.
static std::vector<int64_t> parseShape(StringRef text) {
  std::vector<int64_t> shape;
  SmallVector<StringRef> parts;
  text.split(parts, 'x');
  for (StringRef part : parts) {
    int64_t size;
    if (part.trim().getAsInteger(10, size) || size < 1)
      return {};
    shape.push_back(size);
  }
  return shape;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(importCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "dq-import: TorchScript module -> dq model IR\n");

  std::vector<int64_t> shape = parseShape(inputShapeText);
  if (shape.size() != 4) {
    errs() << "dq-import: error: --input-shape '" << inputShapeText
           << "' is not a shape like 1x3x32x32 (four positive sizes, NCHW)\n";
    return 1;
  }

  // The name is printed as a symbol (@name) and passed to later tools
  // (func=name): an empty one would print unparsable IR.
  if (!llvm::Regex("^[A-Za-z_][A-Za-z0-9_$.]*$").match(functionName)) {
    errs() << "dq-import: error: --function-name '" << functionName
           << "' is not a valid function name (a letter or '_', then "
              "letters, digits, '_', '$' or '.')\n";
    return 1;
  }

  // The project's output-file policy, before the import's work: no empty
  // name, symbolic link, directory or device is ever written.
  bool toStdout = outputPath == "-";
  if (!toStdout) {
    try {
      dq::runtime::checkOutputFile(outputPath);
    } catch (const dq::runtime::Error &e) {
      errs() << "dq-import: error: " << e.what() << "\n";
      return 1;
    }
  }

  mlir::DefaultTimingManager timingManager;
  timingManager.setEnabled(timing);
  mlir::TimingScope rootTimer = timingManager.getRootScope();

  dq::import::TorchGraph graph;
  std::string error;
  mlir::TimingScope readTimer =
      rootTimer.nest("read TorchScript (LibTorch: load, freeze, inline)");
  if (!dq::import::readTorchScript(inputPath, graph, error)) {
    errs() << "dq-import: error: " << error << "\n";
    return 1;
  }
  readTimer.stop();

  mlir::MLIRContext context;
  // Prints "file:line:col: error: ..." and, where the Python file exists,
  // the source line.
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  dq::import::ImportOptions options;
  options.inputShape = shape;
  options.functionName = functionName;
  options.resourceThreshold = resourceThreshold;
  mlir::TimingScope emitTimer = rootTimer.nest("emit MLIR");
  mlir::OwningOpRef<mlir::ModuleOp> module =
      dq::import::importTorchGraph(graph, options, context);
  if (!module)
    return 1;
  emitTimer.stop();
  mlir::TimingScope writeTimer = rootTimer.nest("write output");

  auto writeModule = [&](raw_ostream &os) {
    if (emitBytecode)
      return mlir::succeeded(mlir::writeBytecodeToFile(*module, os));
    mlir::OpPrintingFlags flags;
    if (printDebugInfo)
      flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
    module->print(os, flags);
    return true;
  };
  if (toStdout) {
    if (!writeModule(outs())) {
      errs() << "dq-import: error: cannot write bytecode\n";
      return 1;
    }
    return 0;
  }
  // Through a temporary file and a rename: a failed import or write never
  // leaves a partial file at the output path.
  try {
    dq::runtime::AtomicFileWriter file(outputPath);
    mlir::dq::AtomicFileStream os(file);
    bool written = writeModule(os);
    os.flush();
    if (!os.error().empty())
      throw dq::runtime::Error(os.error());
    if (!written) {
      errs() << "dq-import: error: cannot write bytecode\n";
      return 1;
    }
    file.commit();
  } catch (const std::exception &e) {
    errs() << "dq-import: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
