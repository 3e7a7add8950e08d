// dq-run: runs a trained dq model (dq-compile's output plus a state file from
// dq-train) without LLVM or MLIR: evaluates it on a test set, or prints the
// predicted class of every image of an IDX file.
#include "dq/runtime/Dataset.h"
#include "dq/runtime/Error.h"
#include "dq/runtime/Export.h"
#include "dq/runtime/Model.h"
#include "dq/runtime/StateFile.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

using namespace dq::runtime;

namespace {

const char *kUsage =
    "usage: dq-run MODEL --state FILE [--data DIR | --images IDX [--labels "
    "IDX] | --export FILE]\n"
    "  MODEL          prefix of dq-compile's output (or the path of its .so\n"
    "                 or .manifest.json)\n"
    "  --state FILE   trained state: dq-train's model.dqm (the export),\n"
    "                 final.state or a checkpoint\n"
    "  --export FILE  write the export of --state (inference tensors, codes\n"
    "                 packed to their bit width) and stop\n"
    "  --data DIR     evaluate on the Fashion-MNIST test set in DIR (default\n"
    "                 /usr/share/datasets/fashion-mnist)\n"
    "  --images IDX   print the predicted class of every image of an IDX file\n"
    "                 as '<index> <class>' lines (with --labels, also the\n"
    "                 accuracy)\n"
    "  --device cpu|cuda  require a model compiled for this device\n"
    "                 (dq-compile --target); prints the device used\n"
    "  --threads N    threads of a parallel model (default: all cores)\n"
    "  --allow-invalid-state  load a state with non-finite values or\n"
    "                 negative variances anyway (warnings), to inspect it;\n"
    "                 codes out of range are always refused\n";

struct Options {
  std::string model, state, data = kDefaultFashionMnistDir, images, labels,
      exportPath;
  unsigned threads = 0;
  std::string device; // empty: what the model was compiled for
  bool allowInvalidState = false;
  bool exportGiven = false; // --export "" is an error, not "no export"
};

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw Error("option " + a + " needs a value\n" + kUsage);
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (a == "--state") {
      o.state = value();
    } else if (a == "--data") {
      o.data = value();
    } else if (a == "--images") {
      o.images = value();
    } else if (a == "--labels") {
      o.labels = value();
    } else if (a == "--export") {
      o.exportPath = value();
      o.exportGiven = true;
    } else if (a == "--device") {
      o.device = value();
      if (o.device != "cpu" && o.device != "cuda")
        throw Error("option --device: expected cpu or cuda\n" +
                    std::string(kUsage));
    } else if (a == "--threads") {
      std::string text = value();
      char *end = nullptr;
      long threads = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || threads < 1 ||
          threads > static_cast<long>(maxThreadCount()))
        throw Error("option --threads: expected a thread count from 1 to " +
                    std::to_string(maxThreadCount()) +
                    " (8 per CPU of this machine), got '" + text + "'\n" +
                    kUsage);
      o.threads = static_cast<unsigned>(threads);
    } else if (a == "--allow-invalid-state") {
      o.allowInvalidState = true;
    } else if (!a.empty() && a[0] == '-') {
      throw Error("unknown option " + a + "\n" + kUsage);
    } else if (o.model.empty()) {
      o.model = a;
    } else {
      throw Error("unexpected argument '" + a + "'\n" + kUsage);
    }
  }
  if (o.exportGiven && o.allowInvalidState)
    throw Error("--export writes only valid states; drop "
                "--allow-invalid-state");
  if (o.model.empty() || o.state.empty())
    throw Error(std::string("MODEL and --state are required\n") + kUsage);
  return o;
}

int run(const Options &o) {
  std::unique_ptr<CompiledModel> model = CompiledModel::open(o.model, o.threads);
  requireDevice(*model, o.device);
  if (!o.device.empty())
    std::printf("dq-run: device: %s\n", model->deviceDescription().c_str());
  std::vector<HostTensor> state =
      readInferenceState(o.state, model->manifest(), o.allowInvalidState);
  if (o.exportGiven) {
    writeExport(o.exportPath, model->manifest(), state);
    std::printf("dq-run: wrote %s\n", o.exportPath.c_str());
    return 0;
  }
  if (!o.labels.empty() && o.images.empty())
    throw Error("--labels needs --images");
  Dataset data;
  bool haveLabels = o.labels.empty() == o.images.empty();
  if (o.images.empty())
    data = loadFashionMnist(o.data, /*train=*/false);
  else if (haveLabels)
    data = loadIdx(o.images, o.labels);
  else
    data = loadIdxImages(o.images);
  data.normalize({kFashionMnistMean}, {kFashionMnistStd});
  std::vector<int64_t> shape = {data.height, data.width, data.channels};
  if (shape != model->manifest().imageShape)
    throw Error("the images are " + shapeString(shape) +
                " but the model takes " +
                shapeString(model->manifest().imageShape));
  std::vector<int> predicted = predictClasses(*model, state, data);
  size_t correct = 0;
  if (haveLabels)
    for (size_t i = 0; i < data.count; ++i)
      correct += predicted[i] == data.labels[i];
  if (!o.images.empty())
    for (size_t i = 0; i < data.count; ++i)
      std::printf("%zu %d\n", i, predicted[i]);
  if (haveLabels)
    std::printf("dq-run: %zu images, accuracy %.2f%%\n", data.count,
                100.0 * correct / data.count);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "dq-run: %s\n", e.what());
    return 1;
  }
}
