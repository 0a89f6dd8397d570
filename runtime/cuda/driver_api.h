// The driver entry points losscc uses, resolved with dlsym() from
// libcuda.so.1; private to runtime/cuda. cuda.h is included for its types
// only: nothing links libcuda (it is absent on machines without a GPU).
#pragma once

#include <cuda.h>

#include <string>

namespace losscc::rt::cuda_driver {

// Each member is named like the driver function (cuda.h's macros map some
// names to versioned symbols, e.g. cuMemAlloc → cuMemAlloc_v2; the loader
// asks dlsym for the same mapped name, so the two always agree).
struct DriverApi {
#define LOSSCC_CUDA_ENTRY_POINTS(X)                                                             \
  X(cuInit) X(cuGetErrorString) X(cuDeviceGet) X(cuDeviceGetCount) X(cuDeviceGetAttribute)      \
  X(cuDevicePrimaryCtxRetain) X(cuCtxGetCurrent) X(cuCtxSetCurrent) X(cuCtxGetDevice)           \
  X(cuCtxSynchronize) X(cuModuleLoadData) X(cuModuleUnload) X(cuModuleGetFunction)              \
  X(cuLaunchKernel) X(cuMemAlloc) X(cuMemFree) X(cuMemcpyHtoD) X(cuMemcpyDtoH)                  \
  X(cuMemsetD32Async) X(cuMemAllocAsync) X(cuMemFreeAsync)
#define LOSSCC_DECLARE_ENTRY(name) decltype(&::name) name = nullptr;
  LOSSCC_CUDA_ENTRY_POINTS(LOSSCC_DECLARE_ENTRY)
#undef LOSSCC_DECLARE_ENTRY
};

// The loaded driver; only valid when cuda_available() (it throws
// losscc::rt::BackendUnavailable otherwise).
const DriverApi& api();

// Throws std::runtime_error("losscc: <what>: <driver's error string>") unless ok.
void check(CUresult result, const char* what);

// The current context, after making device 0's primary context current if
// the thread had none (what the runtime API and PyTorch would use).
CUcontext current_context();

}  // namespace losscc::rt::cuda_driver
