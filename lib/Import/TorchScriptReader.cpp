//===- TorchScriptReader.cpp - TorchScript module -> TorchGraph -----------===//
//
// The only file of dq that includes LibTorch. It is compiled with RTTI and
// exceptions (LibTorch needs both) and catches everything: callers get a
// TorchGraph or an error message.
//
//===----------------------------------------------------------------------===//

#include "dq/Import/TorchGraph.h"

#include "TorchPickleScan.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/lower_tuples.h>
#include <torch/csrc/jit/passes/remove_exceptions.h>
#include <torch/csrc/jit/passes/remove_mutation.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/script.h>

#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <fstream>
#include <memory>
#include <optional>
#include <typeinfo>
#include <unordered_map>

using namespace dq::import;
namespace jit = torch::jit;

namespace {

/// LibTorch's messages can start with a newline (a script error's context
/// follows on the next lines), which left "...module 'x.pt': " looking empty.
std::string trimmed(const std::string &text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos)
    return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

/// The exception's type, for one that carries no message.
std::string typeName(const std::exception &e) {
  const char *mangled = typeid(e).name();
  int status = 0;
  char *demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  return "an exception of type " + name + " without a message";
}

/// "" when every tensor record holds exactly the bytes that data.pkl and
/// constants.pkl declare for it and every tensor lies inside its storage.
/// LibTorch trusts both and reads past a shorter record.
std::string
checkTensorRecords(const std::string &path,
                   caffe2::serialize::PyTorchStreamReader &reader) {
  std::string current;
  try {
    for (const char *archive : {"data", "constants"}) {
      std::string pickleName = std::string(archive) + ".pkl";
      // A torch.jit.save archive has both; their absence is LibTorch's to
      // report.
      if (!reader.hasRecord(pickleName))
        continue;
      current = pickleName;
      auto [pickle, pickleSize] = reader.getRecord(pickleName);
      std::vector<DeclaredStorage> storages;
      std::string error =
          scanTorchPickle(static_cast<const char *>(pickle.get()), pickleSize,
                          std::string(archive) + "/", storages);
      if (!error.empty())
        return "'" + path + "': " + pickleName + ": " + error;
      for (const DeclaredStorage &storage : storages) {
        const std::string &record = storage.record;
        std::string declared = std::to_string(storage.numBytes) +
                               " bytes (" + std::to_string(storage.numel) +
                               " x " + storage.type + ")";
        if (!reader.hasRecord(record))
          return "'" + path + "': tensor record '" + record +
                 "' is missing; " + pickleName + " declares " + declared;
        current = record;
        // PyTorchStreamReader has no size query: the record is read.
        size_t actual = std::get<1>(reader.getRecord(record));
        if (actual != storage.numBytes)
          return "'" + path + "': tensor record '" + record + "' has " +
                 std::to_string(actual) + " bytes; " + pickleName +
                 " declares " + declared;
      }
    }
  } catch (const c10::Error &e) {
    return "'" + path + "': cannot read record '" + current +
           "': " + trimmed(e.what_without_backtrace());
  } catch (const std::exception &e) {
    return "'" + path + "': cannot read record '" + current +
           "': " + trimmed(e.what());
  }
  return "";
}

/// A message for files that are not TorchScript archives, or "" when the
/// file looks like one. torch.jit.load's own messages ("failed finding
/// central directory", "file not found: constants.pkl") do not tell a user
/// what is wrong with the file.
std::string checkArchive(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return "cannot open '" + path + "': " + std::strerror(errno);
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  if (in.gcount() < 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0)
    return "'" + path +
           "' is not a TorchScript module: not a zip archive (save the "
           "module with torch.jit.trace(...).save() or "
           "torch.jit.script(...).save())";
  in.close();
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  std::vector<std::string> records;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
    records = reader->getAllRecords();
  } catch (const std::exception &) {
    return "'" + path +
           "' is not a TorchScript module: a damaged or truncated zip "
           "archive (its central directory cannot be read)";
  }
  bool hasCode = false, hasConstants = false, hasData = false;
  for (const std::string &name : records) {
    hasCode |= name.rfind("code/", 0) == 0;
    hasConstants |= name == "constants.pkl";
    hasData |= name == "data.pkl";
  }
  if (!hasCode || !hasConstants) {
    if (hasData)
      return "'" + path +
             "' is a torch.save() file (a state_dict or pickled object), not "
             "a TorchScript module: dq-import needs the model's code; export "
             "it with torch.jit.trace(model, example).save(path)";
    return "'" + path +
           "' is a zip archive but not a TorchScript module (no code/ and "
           "constants.pkl records)";
  }
  return checkTensorRecords(path, *reader);
}

/// The dotted path of the module whose method produced `node`, from the
/// call stack that inlining left on it ("layer1.0.conv1").
std::string modulePathOf(const jit::Node *node) {
  auto callstack = node->callstack();
  if (!callstack)
    return "";
  std::string path;
  for (const jit::InlinedCallStackEntry &entry : (*callstack)->vec()) {
    const auto &instance = std::get<2>(entry);
    if (!instance)
      continue;
    std::string name = instance->instance_name();
    // Calls of a module's own methods (Conv2d.forward -> _conv_forward) are
    // recorded as the instance "SELF".
    if (name.empty() || name == "SELF")
      continue;
    if (!path.empty())
      path += '.';
    path += name;
  }
  return path;
}

/// File, line and column of a source range, mapped back to the original
/// Python where the module was loaded from serialized code.
std::optional<SourceLine> lineOf(jit::SourceRange range) {
  if (auto original = range.findSourceRangeThatGenerated())
    range = *original;
  auto flc = range.file_line_col();
  // Traced call sites carry no source ("-", line 0).
  if (!flc || std::get<1>(*flc) == 0 || std::get<0>(*flc).empty() ||
      std::get<0>(*flc) == "-")
    return std::nullopt;
  return SourceLine{std::get<0>(*flc), static_cast<int64_t>(std::get<1>(*flc)),
                    static_cast<int64_t>(std::get<2>(*flc)) + 1};
}

SourceInfo sourceOf(const jit::Node *node) {
  SourceInfo info;
  info.modulePath = modulePathOf(node);
  if (std::optional<SourceLine> line = lineOf(node->sourceRange())) {
    info.file = line->file;
    info.line = line->line;
    info.column = line->column;
  }
  if (auto callstack = node->callstack())
    for (const jit::InlinedCallStackEntry &entry : (*callstack)->vec())
      if (std::optional<SourceLine> line = lineOf(std::get<1>(entry)))
        info.callers.push_back(*line);
  return info;
}

ConstantValue constantOf(const c10::IValue &value) {
  using Kind = ConstantValue::Kind;
  ConstantValue c;
  if (value.isNone()) {
    c.kind = Kind::None;
  } else if (value.isBool()) {
    c.kind = Kind::Bool;
    c.intValue = value.toBool();
  } else if (value.isInt()) {
    c.kind = Kind::Int;
    c.intValue = value.toInt();
  } else if (value.isDouble()) {
    c.kind = Kind::Double;
    c.doubleValue = value.toDouble();
  } else if (value.isIntList()) {
    c.kind = Kind::IntList;
    c.ints = value.toIntVector();
  } else if (value.isDoubleList()) {
    c.kind = Kind::DoubleList;
    c.doubles = value.toDoubleVector();
  } else if (value.isTensor()) {
    c.kind = Kind::Tensor;
    at::Tensor t = value.toTensor().detach().to(at::kFloat).contiguous();
    auto data = std::make_shared<TensorData>();
    data->shape.assign(t.sizes().begin(), t.sizes().end());
    const float *begin = t.data_ptr<float>();
    data->values.assign(begin, begin + t.numel());
    c.tensor = std::move(data);
  } else if (value.isString()) {
    c.kind = Kind::String;
    c.text = value.toStringRef();
  } else if (value.isDevice()) {
    c.kind = Kind::Device;
    c.text = value.toDevice().str();
  } else {
    c.kind = Kind::Other;
    c.text = value.tagKind();
  }
  return c;
}

class GraphWriter {
public:
  explicit GraphWriter(TorchGraph &graph) : graph(graph) {}

  int64_t idOf(const jit::Value *value) {
    auto it = ids.find(value);
    if (it != ids.end())
      return it->second;
    GraphValue v;
    v.debugName = value->debugName();
    v.type = value->type()->annotation_str();
    graph.values.push_back(std::move(v));
    int64_t id = static_cast<int64_t>(graph.values.size()) - 1;
    ids[value] = id;
    return id;
  }

  void writeBlock(const jit::Block *block, GraphBlock &out, bool isGraph) {
    for (const jit::Value *input : block->inputs()) {
      // The module itself (`self`) is gone after freezing but may linger as
      // an unused input.
      if (isGraph && input->type()->kind() == c10::TypeKind::ClassType)
        continue;
      out.inputs.push_back(idOf(input));
    }
    for (const jit::Node *node : block->nodes()) {
      if (node->kind() == c10::prim::Constant) {
        int64_t id = idOf(node->output());
        graph.values[id].isConstant = true;
        graph.values[id].constant = constantOf(*jit::toIValue(node->output()));
        continue;
      }
      GraphNode n;
      n.kind = node->kind().toQualString();
      for (const jit::Value *input : node->inputs())
        n.inputs.push_back(idOf(input));
      for (const jit::Value *output : node->outputs())
        n.outputs.push_back(idOf(output));
      for (const jit::Block *inner : node->blocks()) {
        n.blocks.emplace_back();
        writeBlock(inner, n.blocks.back(), /*isGraph=*/false);
      }
      n.source = sourceOf(node);
      out.nodes.push_back(std::move(n));
    }
    for (const jit::Value *output : block->outputs())
      out.outputs.push_back(idOf(output));
  }

private:
  TorchGraph &graph;
  std::unordered_map<const jit::Value *, int64_t> ids;
};

} // namespace

bool dq::import::readTorchScript(const std::string &path, TorchGraph &graph,
                                 std::string &error) {
  error = checkArchive(path);
  if (!error.empty())
    return false;
  try {
    jit::Module module = jit::load(path, c10::Device(c10::kCPU));
    if (!module.find_method("forward")) {
      error = "'" + path + "' has no forward method";
      return false;
    }
    graph.savedInTrainingMode = module.is_training();
    module.eval();
    // Freezing turns parameters and buffers into constants and inlines every
    // submodule call; the call stacks it leaves on nodes name the modules.
    // No numeric rewrites (conv-bn folding): dq keeps batch norm to train it.
    jit::Module frozen = jit::freeze_module(module);
    std::shared_ptr<jit::Graph> g = frozen.get_method("forward").graph();
    jit::Inline(*g);
    jit::EliminateExceptions(g);
    jit::RemoveTensorMutation(g);
    jit::RemoveListMutation(g);
    jit::LowerSimpleTuples(g);
    jit::ConstantPropagation(g);
    jit::EliminateDeadCode(g);
    GraphWriter writer(graph);
    writer.writeBlock(g->block(), graph.body, /*isGraph=*/true);
    return true;
  } catch (const c10::Error &e) {
    std::string reason = trimmed(e.what_without_backtrace());
    if (reason.empty())
      reason = trimmed(e.msg());
    error = "cannot load TorchScript module '" + path +
            "': " + (reason.empty() ? typeName(e) : reason);
  } catch (const std::exception &e) {
    std::string reason = trimmed(e.what());
    error = "cannot load TorchScript module '" + path +
            "': " + (reason.empty() ? typeName(e) : reason);
  } catch (...) {
    error = "cannot load TorchScript module '" + path +
            "': an exception that is not a std::exception";
  }
  return false;
}
