// The C API (dq/runtime/CApi.h) over CompiledModel: argument checks,
// copies between the caller's buffers and HostTensors, and exceptions
// turned into a status and dq_last_error().
#include "dq/runtime/CApi.h"

#include "dq/runtime/Error.h"
#include "dq/runtime/Manifest.h"
#include "dq/runtime/Model.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

struct dq_model {
  std::unique_ptr<dq::runtime::CompiledModel> model;
  std::string manifestJson;
};

namespace {

thread_local std::string lastError;

/// Runs `body`, returning 0, or 1 with the message kept for dq_last_error.
template <typename Body> int guarded(Body &&body) {
  try {
    lastError.clear();
    body();
    return 0;
  } catch (const std::bad_alloc &) {
    lastError = "out of memory";
  } catch (const std::exception &e) {
    lastError = e.what();
  } catch (...) {
    lastError = "unknown error";
  }
  return 1;
}

void requireModel(const dq_model *model) {
  if (!model)
    throw dq::runtime::Error("no model (NULL handle)");
}

/// The caller's state buffers as HostTensors of the manifest's specs.
std::vector<dq::runtime::HostTensor>
stateFrom(const dq_model *model, const void *const *state, size_t count) {
  const dq::runtime::Manifest &m = model->model->manifest();
  if (count != m.state.size())
    throw dq::runtime::Error(model->model->prefix() + ": " +
                             std::to_string(count) +
                             " state tensors given, the model has " +
                             std::to_string(m.state.size()));
  std::vector<dq::runtime::HostTensor> tensors;
  tensors.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (!state[i] && m.state[i].bytes())
      throw dq::runtime::Error("state tensor " + std::to_string(i) + " ('" +
                               m.state[i].name + "'): NULL buffer");
    tensors.emplace_back(m.state[i]);
    if (m.state[i].bytes())
      std::memcpy(tensors.back().data.data(), state[i], m.state[i].bytes());
  }
  return tensors;
}

void stateTo(const std::vector<dq::runtime::HostTensor> &tensors,
             void *const *out, size_t count) {
  if (count != tensors.size())
    throw dq::runtime::Error(std::to_string(count) +
                             " state buffers given for " +
                             std::to_string(tensors.size()) + " tensors");
  for (size_t i = 0; i < count; ++i) {
    size_t bytes = tensors[i].spec.bytes();
    if (!bytes)
      continue;
    if (!out[i])
      throw dq::runtime::Error("state tensor " + std::to_string(i) + " ('" +
                               tensors[i].spec.name + "'): NULL buffer");
    std::memcpy(out[i], tensors[i].data.data(), bytes);
  }
}

/// The manifest's JSON and, for a kernels library, "entry_values": each
/// entry point's arguments and results parsed ({"name", "dtype", "shape",
/// "scalar"}), so callers need no parser of the manifest's type text.
std::string describe(const dq::runtime::Manifest &manifest) {
  std::string text = dq::runtime::toJson(manifest);
  if (!manifest.isKernels())
    return text;
  using ojson = nlohmann::ordered_json;
  ojson root = ojson::parse(text);
  auto values = [](const std::vector<dq::runtime::EntryValue> &list) {
    ojson array = ojson::array();
    for (const dq::runtime::EntryValue &value : list)
      array.push_back({{"name", value.spec.name},
                       {"dtype", dq::runtime::dtypeName(value.spec.dtype)},
                       {"shape", value.spec.shape},
                       {"scalar", value.scalar}});
    return array;
  };
  ojson entries = ojson::object();
  for (const auto &[name, entry] : manifest.entryPoints)
    entries[name] = {{"inputs", values(entry.inputValues)},
                     {"outputs", values(entry.outputValues)}};
  root["entry_values"] = std::move(entries);
  return root.dump(2) + "\n";
}

void requireBuffer(const void *pointer, const char *what) {
  if (!pointer)
    throw dq::runtime::Error(std::string(what) + ": NULL buffer");
}

} // namespace

extern "C" {

int dq_runtime_api_version(void) { return DQ_RUNTIME_C_API_VERSION; }

const char *dq_last_error(void) { return lastError.c_str(); }

dq_model *dq_model_open(const char *prefix, unsigned threads) {
  dq_model *handle = nullptr;
  guarded([&] {
    if (!prefix)
      throw dq::runtime::Error("no model prefix (NULL)");
    auto opened = std::make_unique<dq_model>();
    opened->model = dq::runtime::CompiledModel::open(prefix, threads);
    opened->manifestJson = describe(opened->model->manifest());
    handle = opened.release();
  });
  return handle;
}

void dq_model_close(dq_model *model) { delete model; }

const char *dq_model_manifest(const dq_model *model) {
  if (!model) {
    lastError = "no model (NULL handle)";
    return nullptr;
  }
  return model->manifestJson.c_str();
}

int dq_model_init_state(dq_model *model, void *const *next_state,
                        size_t state_count) {
  return guarded([&] {
    requireModel(model);
    std::vector<dq::runtime::HostTensor> state = model->model->initState();
    stateTo(state, next_state, state_count);
  });
}

int dq_model_train_step(dq_model *model, const void *const *state,
                        void *const *next_state, size_t state_count,
                        const float *images, const int32_t *labels,
                        float learning_rate, int64_t step, float *loss,
                        int32_t *correct) {
  return guarded([&] {
    requireModel(model);
    requireBuffer(images, "images");
    requireBuffer(labels, "labels");
    requireBuffer(loss, "loss");
    requireBuffer(correct, "correct");
    std::vector<dq::runtime::HostTensor> tensors =
        stateFrom(model, state, state_count);
    dq::runtime::CompiledModel::StepResult result = model->model->trainStep(
        tensors, images, labels, learning_rate, step);
    stateTo(tensors, next_state, state_count);
    *loss = result.loss;
    *correct = result.correct;
  });
}

int dq_model_predict(dq_model *model, const void *const *state,
                     size_t state_count, const float *images, float *logits) {
  return guarded([&] {
    requireModel(model);
    requireBuffer(images, "images");
    requireBuffer(logits, "logits");
    model->model->predict(stateFrom(model, state, state_count), images,
                          logits);
  });
}

int dq_model_calibrate(dq_model *model, const void *const *state,
                       void *const *next_state, size_t state_count,
                       const float *images, int64_t batches_before,
                       int64_t iterations) {
  return guarded([&] {
    requireModel(model);
    requireBuffer(images, "images");
    std::vector<dq::runtime::HostTensor> tensors =
        stateFrom(model, state, state_count);
    model->model->calibrate(tensors, images, batches_before, iterations);
    stateTo(tensors, next_state, state_count);
  });
}

int dq_model_call(dq_model *model, const char *name,
                  const void *const *inputs, size_t input_count,
                  void *const *outputs, size_t output_count) {
  return guarded([&] {
    requireModel(model);
    if (!name)
      throw dq::runtime::Error("no function name (NULL)");
    if ((input_count && !inputs) || (output_count && !outputs))
      throw dq::runtime::Error(std::string(name) +
                               ": NULL argument or result array");
    model->model->call(
        name, std::vector<const void *>(inputs, inputs + input_count),
        std::vector<void *>(outputs, outputs + output_count));
  });
}

} // extern "C"
