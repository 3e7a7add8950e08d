/*===- Collectives.h - what a host process gives a data-parallel model ---===*
 *
 * A model compiled from a data-parallel training module (dq-build-training-
 * graph data-parallel=true) all-reduces tensors inside train_step
 * (dq.all_reduce). It does not talk to other processes itself: the host
 * process (dq-train under mpirun) hands it a DQCollectives through the
 * library's dq_model_set_collectives before the first step. Without one,
 * every all-reduce is the identity (a single process). Plain C: models
 * link only libc.
 *
 *===---------------------------------------------------------------------===*/

#ifndef DQ_RUNTIME_COLLECTIVES_H
#define DQ_RUNTIME_COLLECTIVES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { DQ_COLLECTIVES_VERSION = 1 };

/* Element types and reductions of DQCollectives::all_reduce. */
enum DQCollectiveType { DQ_COLLECTIVE_F32 = 0, DQ_COLLECTIVE_F64 = 1,
                        DQ_COLLECTIVE_I32 = 2 };
enum DQCollectiveReduction { DQ_COLLECTIVE_SUM = 0, DQ_COLLECTIVE_MEAN = 1 };

typedef struct DQCollectives {
  /* DQ_COLLECTIVES_VERSION */
  int32_t version;
  /* Reduces `count` elements at `data` in place across the processes; the
   * mean is the sum divided by the number of processes. Returns 0, or
   * another value after reporting why (the model then aborts the
   * process: a step that missed a collective cannot go on). */
  int (*all_reduce)(void *context, void *data, int64_t count, int32_t type,
                    int32_t reduction);
  void *context;
} DQCollectives;

/* Exported by a data-parallel model library. `collectives` must outlive
 * every call of the model; null restores the single-process identity. */
typedef void (*DQSetCollectivesFn)(const DQCollectives *collectives);

#ifdef __cplusplus
}
#endif

#endif
