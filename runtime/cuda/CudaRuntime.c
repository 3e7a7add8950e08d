/*===- CudaRuntime.c - the mgpu* functions GPU models call ----------------===*
 *
 * MLIR's gpu-to-llvm lowering turns module loads, launches, allocations and
 * copies into calls of mgpu* functions. This library implements them over
 * the CUDA driver API, so a GPU model built by dq-compile --target cuda runs
 * where neither MLIR nor the CUDA toolkit is installed: it needs only libc
 * and the driver (libcuda.so.1). Plain C, so that it loads on GPU machines
 * whose C++ library is older than this one's.
 *
 * The generated code has no way to report an error, so a failing call prints
 * what failed (the driver call, the kernel, the driver's message) and
 * aborts. Kernel faults surface at the next synchronization; set
 * DQ_CUDA_SYNC=1 to synchronize after every launch and name the kernel.
 * DQ_CUDA_DEVICE=<ordinal> picks the device (default 0).
 * DQ_CUDA_PROFILE=<file> times every launch and copy with CUDA events and
 * writes, at exit, the GPU time per kernel (sorted) to <file> ("-": stderr).
 * The events cost time of their own: profile to find where the time goes,
 * not to measure a step.
 *
 *===----------------------------------------------------------------------===*/

#include <cuda.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DQ_EXPORT __attribute__((visibility("default")))

static void fail(const char *call, CUresult result, const char *context) {
  const char *name = NULL, *message = NULL;
  cuGetErrorName(result, &name);
  cuGetErrorString(result, &message);
  fprintf(stderr, "dq CUDA runtime: %s failed%s%s: %s (%s)\n", call,
          context && *context ? " " : "", context ? context : "",
          name ? name : "unknown error", message ? message : "");
  fflush(stderr);
  abort();
}

#define DQ_CHECK(call, context)                                                \
  do {                                                                         \
    CUresult dq_result = (call);                                               \
    if (dq_result != CUDA_SUCCESS)                                             \
      fail(#call, dq_result, (context));                                       \
  } while (0)

/*===----------------------------------------------------------------------===*
 * The device's primary context, created on first use and made current on
 * every thread that calls in.
 *===----------------------------------------------------------------------===*/

static pthread_once_t initOnce = PTHREAD_ONCE_INIT;
static CUdevice device;
static CUcontext context;
static bool memoryPools;
static __thread bool contextCurrent;
static long managedAllocations;

static void initialize(void) {
  CUresult init = cuInit(0);
  if (init != CUDA_SUCCESS)
    fail("cuInit(0)", init,
         "(is an NVIDIA GPU and its driver present on this machine?)");
  int ordinal = 0;
  const char *env = getenv("DQ_CUDA_DEVICE");
  if (env)
    ordinal = atoi(env);
  int count = 0;
  DQ_CHECK(cuDeviceGetCount(&count), "");
  if (ordinal < 0 || ordinal >= count) {
    fprintf(stderr, "dq CUDA runtime: DQ_CUDA_DEVICE=%d but %d device(s)\n",
            ordinal, count);
    abort();
  }
  DQ_CHECK(cuDeviceGet(&device, ordinal), "");
  DQ_CHECK(cuDevicePrimaryCtxRetain(&context, device), "");
  DQ_CHECK(cuCtxSetCurrent(context), "");
  int pools = 0;
  DQ_CHECK(cuDeviceGetAttribute(&pools,
                                CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED,
                                device),
           "");
  memoryPools = pools != 0;
  if (memoryPools) {
    /* A step allocates and frees the same buffers on every call: keep freed
     * memory in the pool instead of returning it at each synchronization. */
    CUmemoryPool pool;
    DQ_CHECK(cuDeviceGetDefaultMemPool(&pool, device), "");
    uint64_t keepAll = UINT64_MAX;
    DQ_CHECK(
        cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keepAll),
        "");
  }
}

static void useContext(void) {
  pthread_once(&initOnce, initialize);
  if (!contextCurrent) {
    DQ_CHECK(cuCtxSetCurrent(context), "");
    contextCurrent = true;
  }
}

/* Makes room for one more element in a growable array; false when out of
 * memory (the array is unchanged). */
static bool reserveOne(void **array, size_t count, size_t *capacity,
                       size_t elementSize, size_t initial) {
  if (count < *capacity)
    return true;
  size_t grown = *capacity ? 2 * *capacity : initial;
  void *bigger = realloc(*array, grown * elementSize);
  if (!bigger)
    return false;
  *array = bigger;
  *capacity = grown;
  return true;
}

/*===----------------------------------------------------------------------===*
 * Kernel names, for messages (only read when something fails).
 *===----------------------------------------------------------------------===*/

typedef struct {
  CUfunction function;
  char name[128];
} KernelName;

static pthread_mutex_t namesMutex = PTHREAD_MUTEX_INITIALIZER;
static KernelName *names;
static size_t namesCount, namesCapacity;

static void rememberName(CUfunction function, const char *name) {
  pthread_mutex_lock(&namesMutex);
  if (!reserveOne((void **)&names, namesCount, &namesCapacity,
                  sizeof(KernelName), 256)) {
    pthread_mutex_unlock(&namesMutex);
    return;
  }
  names[namesCount].function = function;
  snprintf(names[namesCount].name, sizeof(names[namesCount].name), "%s", name);
  ++namesCount;
  pthread_mutex_unlock(&namesMutex);
}

static const char *kernelName(CUfunction function) {
  const char *found = "?";
  pthread_mutex_lock(&namesMutex);
  for (size_t i = 0; i < namesCount; ++i)
    if (names[i].function == function)
      found = names[i].name;
  pthread_mutex_unlock(&namesMutex);
  return found;
}

static bool syncEveryLaunch(void) {
  static int sync = -1;
  if (sync < 0) {
    const char *env = getenv("DQ_CUDA_SYNC");
    sync = env && *env && strcmp(env, "0") != 0;
  }
  return sync;
}

/*===----------------------------------------------------------------------===*
 * Optional profile (DQ_CUDA_PROFILE): a pair of timing events around each
 * launch and copy, read back at each stream synchronization.
 *===----------------------------------------------------------------------===*/

typedef struct {
  const void *key; /* a CUfunction, or &copyKey */
  CUevent start, stop;
  long grid, block; /* threads: blocks in the grid, threads in a block */
} PendingTiming;

typedef struct {
  const void *key;
  double milliseconds;
  long calls, grid, block;
} Timing;

static char copyKey;
static pthread_mutex_t profileMutex = PTHREAD_MUTEX_INITIALIZER;
static PendingTiming *pendingTimings;
static size_t pendingCount, pendingCapacity;
static Timing *timings;
static size_t timingsCount, timingsCapacity;
static long profiledSyncs;
static const char *profilePath;

static int compareTimings(const void *a, const void *b) {
  double x = ((const Timing *)a)->milliseconds;
  double y = ((const Timing *)b)->milliseconds;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* The profile file under dq's output policy (runtime/include/dq/runtime/
 * Files.h): created or a regular file replaced, never written through a
 * symbolic link or into a device. */
static FILE *openProfile(const char *path) {
  struct stat info;
  if (lstat(path, &info) == 0 && !S_ISREG(info.st_mode)) {
    fprintf(stderr,
            "dq CUDA runtime: '%s' is not a regular file; the profile is not "
            "written\n",
            path);
    return NULL;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                0666);
  FILE *out = fd < 0 ? NULL : fdopen(fd, "w");
  if (!out) {
    if (fd >= 0)
      close(fd);
    fprintf(stderr, "dq CUDA runtime: cannot write the profile to '%s'\n",
            path);
  }
  return out;
}

static void writeProfile(void) {
  FILE *out = strcmp(profilePath, "-") == 0 ? stderr : openProfile(profilePath);
  if (!out)
    return;
  qsort(timings, timingsCount, sizeof(Timing), compareTimings);
  double total = 0;
  long calls = 0;
  for (size_t i = 0; i < timingsCount; ++i) {
    total += timings[i].milliseconds;
    calls += timings[i].calls;
  }
  fprintf(out,
          "# dq CUDA profile: %.3f ms of GPU time in %ld launches and copies "
          "over %ld synchronizations (event-timed, each on its own)\n",
          total, calls, profiledSyncs);
  fprintf(out, "# %10s %6s %8s %10s %9s %6s  %s\n", "total_ms", "share",
          "calls", "mean_us", "blocks", "thr", "kernel");
  for (size_t i = 0; i < timingsCount; ++i) {
    const Timing *t = &timings[i];
    fprintf(out, "  %10.3f %5.1f%% %8ld %10.2f %9ld %6ld  %s\n",
            t->milliseconds, total > 0 ? 100 * t->milliseconds / total : 0.0,
            t->calls, 1e3 * t->milliseconds / (double)t->calls, t->grid,
            t->block,
            t->key == &copyKey ? "(memcpy)"
                               : kernelName((CUfunction)t->key));
  }
  if (out != stderr)
    fclose(out);
}

static bool profiling(void) {
  static int enabled = -1;
  if (enabled < 0) {
    profilePath = getenv("DQ_CUDA_PROFILE");
    enabled = profilePath && *profilePath;
    if (enabled)
      atexit(writeProfile);
  }
  return enabled;
}

static CUevent timingEvent(void) {
  CUevent event = NULL;
  DQ_CHECK(cuEventCreate(&event, CU_EVENT_DEFAULT), "(profiling)");
  return event;
}

/* Records the start of a timed launch or copy; returns its slot. */
static size_t beginTiming(const void *key, long grid, long block,
                          CUstream stream) {
  pthread_mutex_lock(&profileMutex);
  if (!reserveOne((void **)&pendingTimings, pendingCount, &pendingCapacity,
                  sizeof(PendingTiming), 4096)) {
    fprintf(stderr, "dq CUDA runtime: out of memory (profiling)\n");
    abort();
  }
  size_t slot = pendingCount++;
  pendingTimings[slot].key = key;
  pendingTimings[slot].grid = grid;
  pendingTimings[slot].block = block;
  pendingTimings[slot].start = timingEvent();
  pendingTimings[slot].stop = timingEvent();
  CUevent start = pendingTimings[slot].start;
  pthread_mutex_unlock(&profileMutex);
  DQ_CHECK(cuEventRecord(start, stream), "(profiling)");
  return slot;
}

static void endTiming(size_t slot, CUstream stream) {
  pthread_mutex_lock(&profileMutex);
  CUevent stop = pendingTimings[slot].stop;
  pthread_mutex_unlock(&profileMutex);
  DQ_CHECK(cuEventRecord(stop, stream), "(profiling)");
}

/* After a synchronization: adds the finished timings to the totals. */
static void collectTimings(void) {
  pthread_mutex_lock(&profileMutex);
  ++profiledSyncs;
  for (size_t i = 0; i < pendingCount; ++i) {
    PendingTiming *p = &pendingTimings[i];
    float ms = 0;
    DQ_CHECK(cuEventSynchronize(p->stop), "(profiling)");
    DQ_CHECK(cuEventElapsedTime(&ms, p->start, p->stop), "(profiling)");
    cuEventDestroy(p->start);
    cuEventDestroy(p->stop);
    size_t j = 0;
    while (j < timingsCount && timings[j].key != p->key)
      ++j;
    if (j == timingsCount) {
      if (!reserveOne((void **)&timings, timingsCount, &timingsCapacity,
                      sizeof(Timing), 1024)) {
        fprintf(stderr, "dq CUDA runtime: out of memory (profiling)\n");
        abort();
      }
      timings[timingsCount++] = (Timing){p->key, 0, 0, p->grid, p->block};
    }
    timings[j].milliseconds += ms;
    timings[j].calls += 1;
  }
  pendingCount = 0;
  pthread_mutex_unlock(&profileMutex);
}

/*===----------------------------------------------------------------------===*
 * Modules and kernels
 *===----------------------------------------------------------------------===*/

/* A cubin or fatbin image. */
DQ_EXPORT CUmodule mgpuModuleLoad(void *data, size_t size) {
  (void)size;
  useContext();
  CUmodule module = NULL;
  DQ_CHECK(cuModuleLoadData(&module, data), "(loading the kernels' binary)");
  return module;
}

/* PTX text, compiled for this device by the driver. */
DQ_EXPORT CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  useContext();
  CUmodule module = NULL;
  static char log[16384];
  log[0] = 0;
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {(void *)(intptr_t)optLevel, log, (void *)sizeof(log)};
  CUresult result = cuModuleLoadDataEx(&module, data, 3, options, values);
  if (result != CUDA_SUCCESS) {
    char context[sizeof(log) + 256];
    snprintf(context, sizeof(context),
             "(compiling the kernels' PTX for this device; a driver older "
             "than the PTX version cannot)%s%s",
             log[0] ? "\n" : "", log);
    fail("cuModuleLoadDataEx", result, context);
  }
  return module;
}

DQ_EXPORT void mgpuModuleUnload(CUmodule module) {
  /* At process exit the driver may already be shut down: nothing to free. */
  CUresult result = cuModuleUnload(module);
  if (result != CUDA_SUCCESS && result != CUDA_ERROR_DEINITIALIZED)
    fail("cuModuleUnload", result, "");
}

DQ_EXPORT CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  useContext();
  CUfunction function = NULL;
  char context[256];
  snprintf(context, sizeof(context), "for kernel '%s'", name);
  DQ_CHECK(cuModuleGetFunction(&function, module, name), context);
  rememberName(function, name);
  return function;
}

/* The message of a failed launch (built only then: a step launches
 * thousands of kernels). */
static void failLaunch(const char *call, CUresult result, CUfunction function,
                       intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                       intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                       int32_t sharedMemBytes) {
  char context[512];
  snprintf(context, sizeof(context),
           "for kernel '%s' (grid %ldx%ldx%ld, block %ldx%ldx%ld, %d bytes of "
           "dynamic shared memory)",
           kernelName(function), (long)gridX, (long)gridY, (long)gridZ,
           (long)blockX, (long)blockY, (long)blockZ, sharedMemBytes);
  fail(call, result, context);
}

DQ_EXPORT void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                                intptr_t gridY, intptr_t gridZ,
                                intptr_t blockX, intptr_t blockY,
                                intptr_t blockZ, int32_t sharedMemBytes,
                                CUstream stream, void **params, void **extra,
                                size_t paramsCount) {
  (void)paramsCount;
  useContext();
  CUresult result = CUDA_SUCCESS;
  if (sharedMemBytes > 48 * 1024) {
    result = cuFuncSetAttribute(
        function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
        sharedMemBytes);
    if (result != CUDA_SUCCESS)
      failLaunch("cuFuncSetAttribute", result, function, gridX, gridY, gridZ,
                 blockX, blockY, blockZ, sharedMemBytes);
  }
  bool timed = profiling();
  size_t slot = timed ? beginTiming(function, (long)(gridX * gridY * gridZ),
                                     (long)(blockX * blockY * blockZ), stream) : 0;
  result = cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY,
                          blockZ, sharedMemBytes, stream, params, extra);
  if (result != CUDA_SUCCESS)
    failLaunch("cuLaunchKernel", result, function, gridX, gridY, gridZ,
               blockX, blockY, blockZ, sharedMemBytes);
  if (timed)
    endTiming(slot, stream);
  if (syncEveryLaunch()) {
    result = cuStreamSynchronize(stream);
    if (result != CUDA_SUCCESS)
      failLaunch("cuStreamSynchronize after the launch", result, function,
                 gridX, gridY, gridZ, blockX, blockY, blockZ, sharedMemBytes);
  }
}

/*===----------------------------------------------------------------------===*
 * Streams and events
 *===----------------------------------------------------------------------===*/

DQ_EXPORT CUstream mgpuStreamCreate(void) {
  useContext();
  CUstream stream = NULL;
  DQ_CHECK(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "");
  return stream;
}

DQ_EXPORT void mgpuStreamDestroy(CUstream stream) {
  useContext();
  DQ_CHECK(cuStreamDestroy(stream), "");
}

DQ_EXPORT void mgpuStreamSynchronize(CUstream stream) {
  useContext();
  DQ_CHECK(cuStreamSynchronize(stream),
           "(a kernel or copy queued on this stream failed; run with "
           "DQ_CUDA_SYNC=1 to name it)");
  if (profiling())
    collectTimings();
}

DQ_EXPORT void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  useContext();
  DQ_CHECK(cuStreamWaitEvent(stream, event, 0), "");
}

DQ_EXPORT CUevent mgpuEventCreate(void) {
  useContext();
  CUevent event = NULL;
  DQ_CHECK(cuEventCreate(&event, CU_EVENT_DISABLE_TIMING), "");
  return event;
}

DQ_EXPORT void mgpuEventDestroy(CUevent event) {
  useContext();
  DQ_CHECK(cuEventDestroy(event), "");
}

DQ_EXPORT void mgpuEventSynchronize(CUevent event) {
  useContext();
  DQ_CHECK(cuEventSynchronize(event), "");
}

DQ_EXPORT void mgpuEventRecord(CUevent event, CUstream stream) {
  useContext();
  DQ_CHECK(cuEventRecord(event, stream), "");
}

/*===----------------------------------------------------------------------===*
 * Memory
 *===----------------------------------------------------------------------===*/

DQ_EXPORT void *mgpuMemAlloc(uint64_t bytes, CUstream stream,
                             bool isHostShared) {
  useContext();
  if (bytes == 0)
    return NULL;
  CUdeviceptr pointer = 0;
  CUresult result;
  if (isHostShared) {
    result = cuMemAllocManaged(&pointer, bytes, CU_MEM_ATTACH_GLOBAL);
    if (result == CUDA_SUCCESS)
      __atomic_add_fetch(&managedAllocations, 1, __ATOMIC_RELAXED);
  } else if (memoryPools) {
    result = cuMemAllocAsync(&pointer, bytes, stream);
  } else {
    result = cuMemAlloc(&pointer, bytes);
  }
  if (result != CUDA_SUCCESS) {
    char context[64];
    snprintf(context, sizeof(context), "(%llu bytes)",
             (unsigned long long)bytes);
    fail(isHostShared ? "cuMemAllocManaged" : "cuMemAllocAsync", result,
         context);
  }
  return (void *)pointer;
}

DQ_EXPORT void mgpuMemFree(void *pointer, CUstream stream) {
  useContext();
  if (!pointer)
    return;
  CUdeviceptr address = (CUdeviceptr)pointer;
  unsigned managed = 0;
  /* Only asked when managed memory exists at all (the pipeline allocates
   * none; the query would cost every free). */
  if (__atomic_load_n(&managedAllocations, __ATOMIC_RELAXED) > 0 &&
      cuPointerGetAttribute(&managed, CU_POINTER_ATTRIBUTE_IS_MANAGED,
                            address) != CUDA_SUCCESS)
    managed = 0;
  /* Pool allocations are freed in stream order; others once the stream's
   * work is done. */
  if (memoryPools && !managed) {
    DQ_CHECK(cuMemFreeAsync(address, stream), "");
    return;
  }
  if (stream)
    DQ_CHECK(cuStreamSynchronize(stream), "");
  DQ_CHECK(cuMemFree(address), "");
  if (managed)
    __atomic_sub_fetch(&managedAllocations, 1, __ATOMIC_RELAXED);
}

DQ_EXPORT void mgpuMemcpy(void *dst, void *src, size_t bytes,
                          CUstream stream) {
  useContext();
  if (bytes == 0)
    return;
  bool timed = profiling();
  size_t slot = timed ? beginTiming(&copyKey, 0, 0, stream) : 0;
  CUresult result =
      cuMemcpyAsync((CUdeviceptr)dst, (CUdeviceptr)src, bytes, stream);
  if (timed)
    endTiming(slot, stream);
  if (result != CUDA_SUCCESS) {
    char context[64];
    snprintf(context, sizeof(context), "(%zu bytes)", bytes);
    fail("cuMemcpyAsync", result, context);
  }
}

DQ_EXPORT void mgpuMemset32(void *dst, unsigned int value, size_t count,
                            CUstream stream) {
  useContext();
  DQ_CHECK(cuMemsetD32Async((CUdeviceptr)dst, value, count, stream), "");
}

DQ_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                            CUstream stream) {
  useContext();
  DQ_CHECK(cuMemsetD16Async((CUdeviceptr)dst, value, count, stream), "");
}

DQ_EXPORT void mgpuSetDefaultDevice(int32_t ordinal) {
  /* The device is chosen once, by DQ_CUDA_DEVICE, before the first call. */
  (void)ordinal;
}

/*===----------------------------------------------------------------------===*
 * For the drivers (dq-train, dq-run, the GPU checks)
 *===----------------------------------------------------------------------===*/

/* Writes "<name> (sm_XY, N MiB)" of the device in use into `buffer`. */
DQ_EXPORT void dqCudaDescribeDevice(char *buffer, size_t size) {
  useContext();
  char name[256] = {0};
  DQ_CHECK(cuDeviceGetName(name, sizeof(name), device), "");
  int major = 0, minor = 0;
  DQ_CHECK(cuDeviceGetAttribute(
               &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
           "");
  DQ_CHECK(cuDeviceGetAttribute(
               &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
           "");
  size_t bytes = 0;
  DQ_CHECK(cuDeviceTotalMem(&bytes, device), "");
  snprintf(buffer, size, "%s (sm_%d%d, %zu MiB)", name, major, minor,
           bytes >> 20);
}

/* Waits for all work on the device. */
DQ_EXPORT void dqCudaSynchronize(void) {
  useContext();
  DQ_CHECK(cuCtxSynchronize(), "");
  if (profiling())
    collectTimings();
}
