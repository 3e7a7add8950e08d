//===- CudaRuntime.cpp - the mgpu* functions GPU models call --------------===//
//
// MLIR's gpu-to-llvm lowering turns module loads, launches, allocations and
// copies into calls of mgpu* functions. This library implements them over
// the CUDA driver API, so a GPU model built by dq-compile --target cuda runs
// where neither MLIR nor the CUDA toolkit is installed (only the driver).
//
// The generated code has no way to report an error, so every failing call
// prints what failed (the driver call, the kernel, the driver's message) and
// aborts. Kernel faults surface at the next synchronization; set
// DQ_CUDA_SYNC=1 to synchronize after every launch and name the kernel.
// DQ_CUDA_DEVICE=<ordinal> picks the device (default 0).
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#define DQ_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

[[noreturn]] void fail(const char *call, CUresult result,
                       const std::string &context) {
  const char *name = nullptr, *message = nullptr;
  cuGetErrorName(result, &name);
  cuGetErrorString(result, &message);
  std::fprintf(stderr, "dq CUDA runtime: %s failed%s%s: %s (%s)\n", call,
               context.empty() ? "" : " ", context.c_str(),
               name ? name : "unknown error", message ? message : "");
  std::fflush(stderr);
  std::abort();
}

void check(CUresult result, const char *call, const std::string &context = "") {
  if (result != CUDA_SUCCESS)
    fail(call, result, context);
}

#define DQ_CHECK(call, ...) check((call), #call, ##__VA_ARGS__)

/// The device's primary context, created on first use and made current on
/// every thread that calls in.
class Context {
public:
  static Context &get() {
    static Context context;
    thread_local bool current = false;
    if (!current) {
      DQ_CHECK(cuCtxSetCurrent(context.context_));
      current = true;
    }
    return context;
  }
  CUdevice device() const { return device_; }
  bool memoryPools() const { return memoryPools_; }

  void nameFunction(CUfunction function, const char *name) {
    std::lock_guard<std::mutex> lock(mutex_);
    names_[function] = name;
  }
  std::string kernelName(CUfunction function) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = names_.find(function);
    return it == names_.end() ? std::string("?") : it->second;
  }

private:
  Context() {
    CUresult init = cuInit(0);
    if (init != CUDA_SUCCESS)
      fail("cuInit(0)", init,
           "(is an NVIDIA GPU and its driver present on this machine?)");
    int ordinal = 0;
    if (const char *env = std::getenv("DQ_CUDA_DEVICE"))
      ordinal = std::atoi(env);
    int count = 0;
    DQ_CHECK(cuDeviceGetCount(&count));
    if (ordinal < 0 || ordinal >= count) {
      std::fprintf(stderr,
                   "dq CUDA runtime: DQ_CUDA_DEVICE=%d but %d device(s)\n",
                   ordinal, count);
      std::abort();
    }
    DQ_CHECK(cuDeviceGet(&device_, ordinal));
    DQ_CHECK(cuDevicePrimaryCtxRetain(&context_, device_));
    int pools = 0;
    DQ_CHECK(cuDeviceGetAttribute(
        &pools, CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED, device_));
    memoryPools_ = pools != 0;
    if (memoryPools_) {
      // A step allocates and frees the same buffers every call: keep freed
      // memory in the pool instead of returning it at each synchronization.
      DQ_CHECK(cuCtxSetCurrent(context_));
      CUmemoryPool pool;
      DQ_CHECK(cuDeviceGetDefaultMemPool(&pool, device_));
      uint64_t keepAll = UINT64_MAX;
      DQ_CHECK(cuMemPoolSetAttribute(
          pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keepAll));
    }
  }

  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  bool memoryPools_ = false;
  std::mutex mutex_;
  std::unordered_map<CUfunction, std::string> names_;
};

bool syncEveryLaunch() {
  static const bool sync = [] {
    const char *env = std::getenv("DQ_CUDA_SYNC");
    return env && *env && std::strcmp(env, "0") != 0;
  }();
  return sync;
}

} // namespace

//===----------------------------------------------------------------------===//
// Modules and kernels
//===----------------------------------------------------------------------===//

/// A cubin or fatbin image.
DQ_EXPORT CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  Context::get();
  CUmodule module = nullptr;
  DQ_CHECK(cuModuleLoadData(&module, data), "(loading a kernel binary)");
  return module;
}

/// PTX text, compiled for this device by the driver.
DQ_EXPORT CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  Context::get();
  CUmodule module = nullptr;
  char log[8192] = {0};
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel)),
                    log, reinterpret_cast<void *>(sizeof(log))};
  CUresult result = cuModuleLoadDataEx(&module, data, 3, options, values);
  if (result != CUDA_SUCCESS)
    fail("cuModuleLoadDataEx", result,
         std::string("(compiling the PTX of a GPU model for this device; is "
                     "the driver older than the PTX version?)") +
             (log[0] ? std::string("\n") + log : ""));
  return module;
}

DQ_EXPORT void mgpuModuleUnload(CUmodule module) {
  // At process exit the driver may already be shut down; nothing to free.
  CUresult result = cuModuleUnload(module);
  if (result != CUDA_SUCCESS && result != CUDA_ERROR_DEINITIALIZED)
    fail("cuModuleUnload", result, "");
}

DQ_EXPORT CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  Context &context = Context::get();
  CUfunction function = nullptr;
  DQ_CHECK(cuModuleGetFunction(&function, module, name),
           std::string("for kernel '") + name + "'");
  context.nameFunction(function, name);
  return function;
}

DQ_EXPORT void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                                intptr_t gridY, intptr_t gridZ,
                                intptr_t blockX, intptr_t blockY,
                                intptr_t blockZ, int32_t sharedMemBytes,
                                CUstream stream, void **params, void **extra,
                                size_t /*paramsCount*/) {
  Context &context = Context::get();
  if (sharedMemBytes > 48 * 1024)
    DQ_CHECK(cuFuncSetAttribute(function,
                                CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                sharedMemBytes),
             "for kernel '" + context.kernelName(function) + "'");
  CUresult result =
      cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                     sharedMemBytes, stream, params, extra);
  if (result != CUDA_SUCCESS)
    fail("cuLaunchKernel", result,
         "for kernel '" + context.kernelName(function) + "' (grid " +
             std::to_string(gridX) + "x" + std::to_string(gridY) + "x" +
             std::to_string(gridZ) + ", block " + std::to_string(blockX) +
             "x" + std::to_string(blockY) + "x" + std::to_string(blockZ) +
             ")");
  if (syncEveryLaunch())
    DQ_CHECK(cuStreamSynchronize(stream),
             "after kernel '" + context.kernelName(function) + "'");
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

DQ_EXPORT CUstream mgpuStreamCreate() {
  Context::get();
  CUstream stream = nullptr;
  DQ_CHECK(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
  return stream;
}

DQ_EXPORT void mgpuStreamDestroy(CUstream stream) {
  Context::get();
  DQ_CHECK(cuStreamDestroy(stream));
}

DQ_EXPORT void mgpuStreamSynchronize(CUstream stream) {
  Context::get();
  DQ_CHECK(cuStreamSynchronize(stream),
           "(a kernel or copy queued on this stream failed; run with "
           "DQ_CUDA_SYNC=1 to name it)");
}

DQ_EXPORT void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  Context::get();
  DQ_CHECK(cuStreamWaitEvent(stream, event, 0));
}

DQ_EXPORT CUevent mgpuEventCreate() {
  Context::get();
  CUevent event = nullptr;
  DQ_CHECK(cuEventCreate(&event, CU_EVENT_DISABLE_TIMING));
  return event;
}

DQ_EXPORT void mgpuEventDestroy(CUevent event) {
  Context::get();
  DQ_CHECK(cuEventDestroy(event));
}

DQ_EXPORT void mgpuEventSynchronize(CUevent event) {
  Context::get();
  DQ_CHECK(cuEventSynchronize(event));
}

DQ_EXPORT void mgpuEventRecord(CUevent event, CUstream stream) {
  Context::get();
  DQ_CHECK(cuEventRecord(event, stream));
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

DQ_EXPORT void *mgpuMemAlloc(uint64_t bytes, CUstream stream,
                             bool isHostShared) {
  Context &context = Context::get();
  if (bytes == 0)
    return nullptr;
  CUdeviceptr pointer = 0;
  std::string what = "(" + std::to_string(bytes) + " bytes)";
  if (isHostShared)
    DQ_CHECK(cuMemAllocManaged(&pointer, bytes, CU_MEM_ATTACH_GLOBAL), what);
  else if (context.memoryPools())
    DQ_CHECK(cuMemAllocAsync(&pointer, bytes, stream), what);
  else
    DQ_CHECK(cuMemAlloc(&pointer, bytes), what);
  return reinterpret_cast<void *>(pointer);
}

DQ_EXPORT void mgpuMemFree(void *pointer, CUstream stream) {
  Context &context = Context::get();
  if (!pointer)
    return;
  CUdeviceptr device = reinterpret_cast<CUdeviceptr>(pointer);
  // Pool allocations are freed in stream order; others (managed memory,
  // devices without pools) after the stream's work.
  bool managed = false;
  unsigned isManaged = 0;
  if (cuPointerGetAttribute(&isManaged, CU_POINTER_ATTRIBUTE_IS_MANAGED,
                            device) == CUDA_SUCCESS)
    managed = isManaged != 0;
  if (context.memoryPools() && !managed) {
    DQ_CHECK(cuMemFreeAsync(device, stream));
    return;
  }
  if (stream)
    DQ_CHECK(cuStreamSynchronize(stream));
  DQ_CHECK(cuMemFree(device));
}

DQ_EXPORT void mgpuMemcpy(void *dst, void *src, size_t bytes, CUstream stream) {
  Context::get();
  if (bytes == 0)
    return;
  DQ_CHECK(cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                         reinterpret_cast<CUdeviceptr>(src), bytes, stream),
           "(" + std::to_string(bytes) + " bytes)");
}

DQ_EXPORT void mgpuMemset32(void *dst, unsigned int value, size_t count,
                            CUstream stream) {
  Context::get();
  DQ_CHECK(cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                            stream));
}

DQ_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                            CUstream stream) {
  Context::get();
  DQ_CHECK(cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                            stream));
}

DQ_EXPORT void mgpuSetDefaultDevice(int32_t ordinal) {
  // The device is chosen once, by DQ_CUDA_DEVICE, before the first call.
  (void)ordinal;
}

//===----------------------------------------------------------------------===//
// For the drivers
//===----------------------------------------------------------------------===//

/// Writes "<name> (sm_XY, N MiB)" of the device in use into `buffer`.
DQ_EXPORT void dqCudaDescribeDevice(char *buffer, size_t size) {
  Context &context = Context::get();
  char name[256] = {0};
  DQ_CHECK(cuDeviceGetName(name, sizeof(name), context.device()));
  int major = 0, minor = 0;
  DQ_CHECK(cuDeviceGetAttribute(
      &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, context.device()));
  DQ_CHECK(cuDeviceGetAttribute(
      &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, context.device()));
  size_t bytes = 0;
  DQ_CHECK(cuDeviceTotalMem(&bytes, context.device()));
  std::snprintf(buffer, size, "%s (sm_%d%d, %zu MiB)", name, major, minor,
                bytes >> 20);
}

/// Waits for all work on the device (for timing from the drivers).
DQ_EXPORT void dqCudaSynchronize() {
  Context::get();
  DQ_CHECK(cuCtxSynchronize());
}
