// The CUDA backend: a Program emitted as CUDA C, compiled by NVRTC to a cubin
// for the current device (through the disk cache), loaded with the driver
// API, and launched on device arrays.
#pragma once

#include <memory>

#include "runtime/cuda/driver.h"  // cuda_available(), for callers choosing a backend
#include "runtime/kernel.h"

namespace losscc::rt {

// Compiles `program` for the device of the current context (device 0's
// primary context when the thread has none). Throws BackendUnavailable when
// !cuda_available() or the build has no NVRTC, and NvrtcError /
// std::runtime_error when compiling or loading fails.
//
// The kernel's run_device() launches on args.stream and returns without
// waiting; run() throws std::logic_error. With options.deterministic the loss
// is reduced in two passes in a fixed order (bitwise reproducible for a given
// device and n); otherwise blocks atomicAdd their sums (faster, last bits
// vary). The kernel must be run in the context it was compiled in.
std::shared_ptr<const Kernel> make_cuda_kernel(const Program& program, const CompileOptions& options);

}  // namespace losscc::rt
