/*===- ModelSupport.c - support code linked into compiled models ---------===*
 *
 * Compiled models call a few helpers that MLIR's lowering leaves as external
 * functions. They are linked statically into every model (.so) so models
 * need nothing but libc and libm.
 *
 *===---------------------------------------------------------------------===*/

#include <stdint.h>
#include <string.h>

/* An unranked memref: the rank and a pointer to the ranked descriptor
 * { void *allocated; void *aligned; int64_t offset; int64_t sizes[rank];
 *   int64_t strides[rank]; }. */
typedef struct {
  int64_t rank;
  void *descriptor;
} DQUnrankedMemRef;

typedef struct {
  char *aligned;
  int64_t offset;
  const int64_t *sizes;
  const int64_t *strides;
} DQView;

static DQView dqView(const DQUnrankedMemRef *memref) {
  char **pointers = (char **)memref->descriptor;
  int64_t *meta = (int64_t *)(pointers + 2);
  DQView view = {pointers[1], meta[0], meta + 1, meta + 1 + memref->rank};
  return view;
}

/* Strided copy between two memrefs of the same shape (what memref.copy of
 * non-contiguous views lowers to). */
void memrefCopy(int64_t elementSize, DQUnrankedMemRef *source,
                DQUnrankedMemRef *target) {
  int64_t rank = source->rank;
  DQView src = dqView(source), dst = dqView(target);
  if (rank == 0) {
    memcpy(dst.aligned + dst.offset * elementSize,
           src.aligned + src.offset * elementSize, elementSize);
    return;
  }
  for (int64_t d = 0; d < rank; ++d)
    if (src.sizes[d] == 0)
      return;
  /* Copy the innermost dimension in one memcpy when both are contiguous. */
  int64_t inner = rank - 1;
  int contiguous = src.strides[inner] == 1 && dst.strides[inner] == 1;
  int64_t index[16] = {0};
  if (rank > 16)
    return; /* not produced by dq's pipelines */
  for (;;) {
    int64_t s = src.offset, t = dst.offset;
    for (int64_t d = 0; d < inner; ++d) {
      s += index[d] * src.strides[d];
      t += index[d] * dst.strides[d];
    }
    if (contiguous) {
      memcpy(dst.aligned + t * elementSize, src.aligned + s * elementSize,
             src.sizes[inner] * elementSize);
    } else {
      for (int64_t i = 0; i < src.sizes[inner]; ++i)
        memcpy(dst.aligned + (t + i * dst.strides[inner]) * elementSize,
               src.aligned + (s + i * src.strides[inner]) * elementSize,
               elementSize);
    }
    int64_t d = inner - 1;
    for (; d >= 0; --d) {
      if (++index[d] < src.sizes[d])
        break;
      index[d] = 0;
    }
    if (d < 0)
      return;
  }
}
