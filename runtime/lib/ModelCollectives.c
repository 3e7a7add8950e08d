/*===- ModelCollectives.c - dq.all_reduce of a compiled model ------------===*
 *
 * dq.all_reduce bufferizes to a call of dq_model_all_reduce_<reduction>_
 * <type> on a contiguous buffer (lib/Conversion/DQToLinalg/
 * AllReduceBufferization.cpp). They run the collective the host gave the
 * model (dq/runtime/Collectives.h), or nothing in a single process. Linked
 * into the models that call them, from libDQModelSupport.a.
 *
 *===---------------------------------------------------------------------===*/

#include "dq/runtime/Collectives.h"

#include <stdio.h>
#include <stdlib.h>

static const DQCollectives *dqCollectives;

void dq_model_set_collectives(const DQCollectives *collectives) {
  dqCollectives = collectives;
}

/* The descriptor of a memref<?xT> (the C interface of MLIR's calls). */
typedef struct {
  void *allocated;
  char *aligned;
  int64_t offset;
  int64_t size;
  int64_t stride;
} DQMemRef1;

static void dqAllReduce(const DQMemRef1 *m, int64_t elementSize, int32_t type,
                        int32_t reduction) {
  if (!dqCollectives || m->size == 0)
    return;
  if (m->stride != 1) {
    fprintf(stderr, "dq model: all-reduce of a strided buffer\n");
    abort();
  }
  if (dqCollectives->all_reduce(dqCollectives->context,
                                m->aligned + m->offset * elementSize, m->size,
                                type, reduction) != 0) {
    fprintf(stderr, "dq model: an all-reduce of %lld elements failed; the "
                    "training step cannot go on\n",
            (long long)m->size);
    abort();
  }
}

#define DQ_ALL_REDUCE(NAME, T, TYPE, REDUCTION)                                \
  void _mlir_ciface_##NAME(const DQMemRef1 *m) {                               \
    dqAllReduce(m, sizeof(T), TYPE, REDUCTION);                                \
  }

DQ_ALL_REDUCE(dq_model_all_reduce_sum_f32, float, DQ_COLLECTIVE_F32,
              DQ_COLLECTIVE_SUM)
DQ_ALL_REDUCE(dq_model_all_reduce_mean_f32, float, DQ_COLLECTIVE_F32,
              DQ_COLLECTIVE_MEAN)
DQ_ALL_REDUCE(dq_model_all_reduce_sum_f64, double, DQ_COLLECTIVE_F64,
              DQ_COLLECTIVE_SUM)
DQ_ALL_REDUCE(dq_model_all_reduce_mean_f64, double, DQ_COLLECTIVE_F64,
              DQ_COLLECTIVE_MEAN)
DQ_ALL_REDUCE(dq_model_all_reduce_sum_i32, int32_t, DQ_COLLECTIVE_I32,
              DQ_COLLECTIVE_SUM)
