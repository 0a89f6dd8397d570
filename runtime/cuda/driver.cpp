#include "runtime/cuda/driver.h"

#include <dlfcn.h>

#include <cstdio>
#include <mutex>
#include <stdexcept>

#include "runtime/kernel.h"

// The toolkit's cuda.h is on the include path only in builds with NVRTC; a
// build without it has no CUDA backend and says so.
#ifdef LOSSCC_HAVE_NVRTC
#include "runtime/cuda/driver_api.h"

namespace losscc::rt {
namespace cuda_driver {
namespace {

// Stringify after macro expansion, so the symbol asked for is cuda.h's
// mapped name (cuMemAlloc → "cuMemAlloc_v2").
#define LOSSCC_STRINGIFY_EXPANDED(x) LOSSCC_STRINGIFY(x)
#define LOSSCC_STRINGIFY(x) #x

struct Driver {
  DriverApi api;
  std::string unavailable;  // empty when usable
};

Driver load() {
  Driver d;
  // Never dlclose()d: kernels and contexts live until the process ends.
  void* lib = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    d.unavailable = "libcuda.so.1 not found";
    return d;
  }
#define LOSSCC_RESOLVE_ENTRY(name)                                                              \
  d.api.name = reinterpret_cast<decltype(d.api.name)>(::dlsym(lib, LOSSCC_STRINGIFY_EXPANDED(name))); \
  if (!d.api.name) {                                                                            \
    d.unavailable = "libcuda.so.1 has no " LOSSCC_STRINGIFY_EXPANDED(name) " (driver too old)"; \
    return d;                                                                                   \
  }
  LOSSCC_CUDA_ENTRY_POINTS(LOSSCC_RESOLVE_ENTRY)
#undef LOSSCC_RESOLVE_ENTRY

  if (CUresult r = d.api.cuInit(0); r != CUDA_SUCCESS) {
    const char* msg = nullptr;
    d.api.cuGetErrorString(r, &msg);
    d.unavailable = std::string("cuInit failed: ") + (msg ? msg : "unknown error");
    return d;
  }
  int count = 0;
  if (d.api.cuDeviceGetCount(&count) != CUDA_SUCCESS || count == 0) d.unavailable = "no CUDA device";
  return d;
}

const Driver& driver() {
  static const Driver d = load();
  return d;
}

}  // namespace

const DriverApi& api() {
  if (!cuda_available()) throw BackendUnavailable("CUDA unavailable: " + cuda_unavailable_reason());
  return driver().api;
}

void check(CUresult result, const char* what) {
  if (result == CUDA_SUCCESS) return;
  const char* msg = nullptr;
  if (driver().api.cuGetErrorString) driver().api.cuGetErrorString(result, &msg);
  throw std::runtime_error(std::string("losscc: ") + what + ": " + (msg ? msg : "unknown CUDA error") +
                           " (" + std::to_string(static_cast<int>(result)) + ")");
}

CUcontext current_context() {
  const DriverApi& cu = api();
  CUcontext ctx = nullptr;
  check(cu.cuCtxGetCurrent(&ctx), "cuCtxGetCurrent");
  if (ctx) return ctx;
  // Retained for the life of the process, like the runtime API does.
  CUdevice dev = 0;
  check(cu.cuDeviceGet(&dev, 0), "cuDeviceGet");
  check(cu.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
  check(cu.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
  return ctx;
}

}  // namespace cuda_driver

bool cuda_available() {
  static const bool available = [] {
    const std::string& why = cuda_driver::driver().unavailable;
    if (!why.empty()) std::fprintf(stderr, "losscc: CUDA unavailable (%s); using the CPU backend\n", why.c_str());
    return why.empty();
  }();
  return available;
}

const std::string& cuda_unavailable_reason() { return cuda_driver::driver().unavailable; }

using cuda_driver::check;

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  const auto& cu = cuda_driver::api();
  cuda_driver::current_context();
  CUdeviceptr p = 0;
  check(cu.cuMemAlloc(&p, bytes == 0 ? 1 : bytes), "cuMemAlloc");
  ptr_ = p;
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cuda_driver::api().cuMemFree(ptr_);  // errors at teardown are not actionable
}

void DeviceBuffer::upload(const void* host, size_t bytes, size_t offset) {
  if (offset + bytes > bytes_) throw std::out_of_range("DeviceBuffer::upload past the end");
  check(cuda_driver::api().cuMemcpyHtoD(ptr_ + offset, host, bytes), "cuMemcpyHtoD");
}

void DeviceBuffer::download(void* host, size_t bytes, size_t offset) const {
  if (offset + bytes > bytes_) throw std::out_of_range("DeviceBuffer::download past the end");
  check(cuda_driver::api().cuMemcpyDtoH(host, ptr_ + offset, bytes), "cuMemcpyDtoH");
}

void cuda_synchronize() {
  cuda_driver::current_context();
  check(cuda_driver::api().cuCtxSynchronize(), "cuCtxSynchronize");
}

}  // namespace losscc::rt

#else  // !LOSSCC_HAVE_NVRTC

namespace losscc::rt {

bool cuda_available() {
  static const bool available = [] {
    std::fprintf(stderr, "losscc: CUDA unavailable (%s); using the CPU backend\n",
                 cuda_unavailable_reason().c_str());
    return false;
  }();
  return available;
}

const std::string& cuda_unavailable_reason() {
  static const std::string reason = "built without the CUDA toolkit";
  return reason;
}

DeviceBuffer::DeviceBuffer(size_t) { throw BackendUnavailable("CUDA unavailable: " + cuda_unavailable_reason()); }
DeviceBuffer::~DeviceBuffer() = default;
void DeviceBuffer::upload(const void*, size_t, size_t) {}
void DeviceBuffer::download(void*, size_t, size_t) const {}
void cuda_synchronize() { throw BackendUnavailable("CUDA unavailable: " + cuda_unavailable_reason()); }

}  // namespace losscc::rt
#endif  // LOSSCC_HAVE_NVRTC
