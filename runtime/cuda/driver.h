// The CUDA driver, loaded at run time: whether it is usable here, and device
// memory for tests and tools. No cuda.h in this header; the driver's entry
// points are private to runtime/cuda (driver_api.h).
#pragma once

#include <cstddef>
#include <string>

namespace losscc::rt {

// True when libcuda.so.1 loads, cuInit succeeds and there is at least one
// device. Decided once per process; the first call that finds CUDA unusable
// says why on stderr, once.
bool cuda_available();
// Why cuda_available() is false ("libcuda.so.1 not found", "no CUDA device",
// ...); empty when it is true.
const std::string& cuda_unavailable_reason();

// A device allocation in the current context (made current from device 0's
// primary context when there is none). Move-only; freed on destruction.
// Throws std::runtime_error on driver errors.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  DeviceBuffer(const DeviceBuffer&) = delete;

  void upload(const void* host, size_t bytes, size_t offset = 0);
  void download(void* host, size_t bytes, size_t offset = 0) const;
  template <class T>
  T* as(size_t byte_offset = 0) const {
    return reinterpret_cast<T*>(static_cast<unsigned long long>(ptr_ + byte_offset));
  }
  size_t size() const { return bytes_; }

 private:
  unsigned long long ptr_ = 0;  // a CUdeviceptr
  size_t bytes_ = 0;
};

// Waits for all work on the current context (tests; kernels never block).
void cuda_synchronize();

}  // namespace losscc::rt
