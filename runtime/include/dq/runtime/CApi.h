/* The runtime's C API: compiled models opened, verified and called by the
 * C++ runtime (dq/runtime/Model.h) from any language with a C FFI. Python's
 * dq_runtime.packed loads libdq_runtime.so with ctypes and calls these; it
 * holds no calling convention of its own (docs/Runtime.md, "C API").
 *
 * Errors: a function that fails returns NULL or a non-zero status and
 * leaves a message for the user in dq_last_error() (per thread, valid until
 * the thread's next call). No function throws, aborts or prints.
 *
 * Tensors are dense row-major buffers of the dtype and shape the manifest
 * gives (dq_model_manifest); the caller owns every buffer, and the runtime
 * copies inputs before the compiled code sees them and results into the
 * caller's buffers, so nothing crosses the boundary but plain memory. */
#ifndef DQ_RUNTIME_CAPI_H
#define DQ_RUNTIME_CAPI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dq_model dq_model;

/* The version of this API; a caller checks it before anything else. */
#define DQ_RUNTIME_C_API_VERSION 1
int dq_runtime_api_version(void);

/* The message of the calling thread's last failure ("" when none). */
const char *dq_last_error(void);

/* Opens <prefix>.so with <prefix>.manifest.json (prefix as dq-run takes it)
 * and verifies them against each other before anything is called.
 * `threads` > 0 sets the OpenMP team size (0: the environment's). NULL on
 * failure. */
dq_model *dq_model_open(const char *prefix, unsigned threads);
void dq_model_close(dq_model *model);

/* The verified manifest as JSON (the manifest file's fields; for a kernels
 * library also "entry_values": every entry point's "inputs" and "outputs"
 * as {"name", "dtype", "shape", "scalar"}); valid while the model is
 * open. */
const char *dq_model_manifest(const dq_model *model);

/* The state tensors, in manifest order, are `state` (inputs) and
 * `next_state` (outputs): one buffer per manifest state entry, of that
 * entry's size. An inference model has no state (pass NULL, count 0). */

/* The initial state of a training model, computed by the compiled
 * init_state. Returns 0 on success. */
int dq_model_init_state(dq_model *model, void *const *next_state,
                        size_t state_count);

/* One training step on a batch: images f32[batch, image_shape...], labels
 * i32[batch]. Writes the updated state (which may be the same buffers as
 * `state`), the loss and the correct count. Returns 0 on success. */
int dq_model_train_step(dq_model *model, const void *const *state,
                        void *const *next_state, size_t state_count,
                        const float *images, const int32_t *labels,
                        float learning_rate, int64_t step, float *loss,
                        int32_t *correct);

/* Logits f32[batch, classes] of a batch in inference mode. Returns 0 on
 * success. */
int dq_model_predict(dq_model *model, const void *const *state,
                     size_t state_count, const float *images, float *logits);

/* Activation calibration (a model built with calibration=true has it;
 * docs/TrainingGraph.md): the state with the activation bases fitted to one
 * batch of images after `batches_before` batches, `iterations` fits per
 * quantizer. Returns 0 on success. */
int dq_model_calibrate(dq_model *model, const void *const *state,
                       void *const *next_state, size_t state_count,
                       const float *images, int64_t batches_before,
                       int64_t iterations);

/* Calls function `name` of a kernels library (dq-compile --kind kernels):
 * inputs[i] points to the i-th argument (a tensor's data, or a scalar's
 * value), outputs[i] to room for the i-th result, each of the type the
 * manifest's entry point lists ("arg0 f32[2,3]": a tensor; "arg1 f32": a
 * scalar). Returns 0 on success. */
int dq_model_call(dq_model *model, const char *name,
                  const void *const *inputs, size_t input_count,
                  void *const *outputs, size_t output_count);

#ifdef __cplusplus
}
#endif

#endif /* DQ_RUNTIME_CAPI_H */
