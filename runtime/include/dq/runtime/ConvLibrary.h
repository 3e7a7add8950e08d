/*===- ConvLibrary.h - convolutions of compiled models in oneDNN --------===*
 *
 * The two contractions every convolution and convolution gradient of a
 * training step reduces to (lib/Training/TosaGradients.cpp emits them as
 * linalg generics over explicitly padded tensors), run by oneDNN. A
 * compiled model calls them through memref descriptors, as MLIR's
 * `llvm.emit_c_interface` passes them; views may have any strides.
 *
 * Both accumulate into their destination. Results are independent of the
 * thread count: the batch is cut into fixed chunks of
 * DQ_CONV_CHUNK_SAMPLES samples, each computed by one thread with
 * primitives made for one thread, and weight-gradient partials are summed
 * in chunk order. They differ from the naive loop's summation order in the
 * last bits.
 *
 *===--------------------------------------------------------------------===*/

#ifndef DQ_RUNTIME_CONVLIBRARY_H
#define DQ_RUNTIME_CONVLIBRARY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DQ_CONV_CHUNK_SAMPLES 16

/* A rank-4 f32 memref descriptor. */
typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[4];
  int64_t strides[4];
} DQMemRef4F32;

/* out[n, y, x, co] += sum over (ky, kx, ci) of
 *   in[n, y*sy + ky*dy, x*sx + kx*dx, ci] * weights[ky, kx, ci, co]
 * in: [N, H, W, CI], weights: [KH, KW, CI, CO], out: [N, OH, OW, CO]; the
 * input is read without padding. Returns 0, or -1 on a shape mismatch or a
 * library error (dq_conv_last_error says which). */
int32_t _mlir_ciface_dq_conv2d_accumulate_f32(DQMemRef4F32 *in,
                                              DQMemRef4F32 *weights,
                                              DQMemRef4F32 *out, int64_t sy,
                                              int64_t sx, int64_t dy,
                                              int64_t dx);

/* weights[ky, kx, ci, co] += sum over (n, y, x) of
 *   in[n, y*sy + ky*dy, x*sx + kx*dx, ci] * grad[n, y, x, co]
 * in: [N, H, W, CI], grad: [N, OH, OW, CO], weights: [KH, KW, CI, CO]. */
int32_t _mlir_ciface_dq_conv2d_weight_grad_accumulate_f32(
    DQMemRef4F32 *in, DQMemRef4F32 *grad, DQMemRef4F32 *weights, int64_t sy,
    int64_t sx, int64_t dy, int64_t dx);

/* What compiled models call (dq-call-library-convs): the same, with a
 * failure (which compile-time shape checks leave to the library itself,
 * such as memory) reported on stderr, then abort. */
void _mlir_ciface_dq_model_conv2d_accumulate_f32(DQMemRef4F32 *in,
                                                 DQMemRef4F32 *weights,
                                                 DQMemRef4F32 *out,
                                                 int64_t sy, int64_t sx,
                                                 int64_t dy, int64_t dx);
void _mlir_ciface_dq_model_conv2d_weight_grad_accumulate_f32(
    DQMemRef4F32 *in, DQMemRef4F32 *grad, DQMemRef4F32 *weights, int64_t sy,
    int64_t sx, int64_t dy, int64_t dx);

/* The last error of the calling thread ("" if none). */
const char *dq_conv_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
