#include "runtime/cuda/cuda_kernel.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "compiler/codegen/cuda/emit_cuda.h"
#include "runtime/cache/disk_cache.h"
#include "runtime/cuda/driver.h"

#ifdef LOSSCC_HAVE_NVRTC
#include "compiler/codegen/nvrtc/nvrtc_compile.h"
#include "runtime/cuda/driver_api.h"
#endif

namespace losscc::rt {

#ifdef LOSSCC_HAVE_NVRTC
namespace {

using cuda_driver::check;

// Resident blocks per SM the grid aims for: enough to hide memory latency
// with 256-thread blocks, few enough that the deterministic second pass
// stays one short block.
constexpr int kBlocksPerSm = 8;

struct Device {
  CUcontext context = nullptr;
  std::string target;  // "sm_90"
  int sm_count = 0;
};

Device current_device() {
  const auto& cu = cuda_driver::api();
  Device d;
  d.context = cuda_driver::current_context();
  CUdevice dev = 0;
  check(cu.cuCtxGetDevice(&dev), "cuCtxGetDevice");
  int major = 0, minor = 0;
  check(cu.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "cuDeviceGetAttribute");
  check(cu.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "cuDeviceGetAttribute");
  check(cu.cuDeviceGetAttribute(&d.sm_count, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev), "cuDeviceGetAttribute");
  d.target = fmt::format("sm_{}{}", major, minor);
  return d;
}

// The cubin for `source`, from the disk cache when an identical compile was
// done before. The key holds everything the image depends on: the source
// itself (by hash, so any change to the emitter invalidates old entries),
// the target, NVRTC's version and flags.
std::string cubin_for(const std::string& source, const std::string& kernel, const cuda::NvrtcOptions& opts,
                      double& compile_seconds) {
  std::string flags;
  for (const std::string& f : cuda::nvrtc_flags(opts)) flags += " " + f;
  const std::string key = fmt::format("cuda cubin|{}|{}|nvrtc {}|{}|{:016x}", kernel, opts.target,
                                      cuda::nvrtc_version(), flags, XXH64(source.data(), source.size(), 0));
  DiskCache& cache = DiskCache::default_instance();
  if (auto hit = cache.load(key)) {
    compile_seconds = 0;
    return std::move(*hit);
  }
  cuda::NvrtcResult r = cuda::nvrtc_compile(source, opts);
  compile_seconds = r.compile_seconds;
  cache.store(key, r.image);
  return std::move(r.image);
}

class CudaKernel final : public Kernel {
 public:
  CudaKernel(const Program& program, const CompileOptions& options)
      : program_(program), deterministic_(options.deterministic), device_(current_device()) {
    const auto& cu = cuda_driver::api();
    const std::string name = cuda::kernel_name(program);
    const std::string source = cuda::emit_cuda(program);
    cuda::NvrtcOptions nvrtc;
    nvrtc.target = device_.target;
    const std::string cubin = cubin_for(source, name, nvrtc, compile_seconds_);

    check(cu.cuModuleLoadData(&module_, cubin.data()), "cuModuleLoadData");
    check(cu.cuModuleGetFunction(&main_, module_, name.c_str()), "cuModuleGetFunction");
    check(cu.cuModuleGetFunction(&finish_, module_, cuda::kFinishKernel), "cuModuleGetFunction");
  }

  ~CudaKernel() override {
    // Fails harmlessly when the context is already gone at process exit.
    if (module_) cuda_driver::api().cuModuleUnload(module_);
  }

  Backend backend() const override { return Backend::Cuda; }
  const Program& program() const override { return program_; }
  double compile_seconds() const override { return compile_seconds_; }

  double run(const HostArgs&) const override {
    throw std::logic_error("run() called on a CUDA kernel: use run_device() with device arrays");
  }

  void run_device(const DeviceArgs& args) const override {
    const auto& cu = cuda_driver::api();
    validate(args);
    CUcontext ctx = nullptr;
    check(cu.cuCtxGetCurrent(&ctx), "cuCtxGetCurrent");
    if (!ctx) check(cu.cuCtxSetCurrent(device_.context), "cuCtxSetCurrent");
    else if (ctx != device_.context)
      throw std::runtime_error("losscc: CUDA kernel run in a context other than the one it was compiled in");

    const auto stream = static_cast<CUstream>(args.stream);
    const auto loss = reinterpret_cast<CUdeviceptr>(args.loss);
    const bool mean = program_.fn.reduction == Reduction::Mean;
    if (args.n == 0) {  // no elements: a sum is 0, a mean is NaN (as in the interpreter)
      const unsigned int bits = mean ? 0x7fc00000u : 0u;
      check(cu.cuMemsetD32Async(loss, bits, 1, stream), "cuMemsetD32Async");
      return;
    }

    // Scales are rounded to float once, here; 1/n is exact for powers of two.
    const float scale = mean ? static_cast<float>(1.0 / static_cast<double>(args.n)) : 1.0f;
    const long long quads = args.n / 4;
    const long long wanted = std::max<long long>(1, (quads + cuda::kBlockSize - 1) / cuda::kBlockSize);
    const unsigned int blocks =
        static_cast<unsigned int>(std::min<long long>(wanted, static_cast<long long>(device_.sm_count) * kBlocksPerSm));

    // Kernel parameters in the order emit_cuda.h documents.
    std::vector<const float*> inputs = args.inputs;
    std::vector<float*> grads = args.grads;
    long long n = args.n;
    float grad_scale = scale, loss_scale = scale;
    float* block_sums = nullptr;
    float* loss_ptr = args.loss;
    CUdeviceptr scratch = 0;
    if (deterministic_) {
      // Stream-ordered, so concurrent runs on different streams never share it.
      check(cu.cuMemAllocAsync(&scratch, blocks * sizeof(float), stream), "cuMemAllocAsync");
      block_sums = reinterpret_cast<float*>(scratch);
    } else {
      check(cu.cuMemsetD32Async(loss, 0u, 1, stream), "cuMemsetD32Async");
    }
    std::vector<void*> params;
    for (auto& p : inputs) params.push_back(&p);
    for (auto& g : grads) params.push_back(&g);
    for (void* p : {static_cast<void*>(&n), static_cast<void*>(&grad_scale), static_cast<void*>(&loss_scale),
                    static_cast<void*>(&block_sums), static_cast<void*>(&loss_ptr)})
      params.push_back(p);
    check(cu.cuLaunchKernel(main_, blocks, 1, 1, cuda::kBlockSize, 1, 1, 0, stream, params.data(), nullptr),
          "cuLaunchKernel");

    if (deterministic_) {
      int count = static_cast<int>(blocks);
      void* finish_params[] = {&block_sums, &count, &loss_scale, &loss_ptr};
      check(cu.cuLaunchKernel(finish_, 1, 1, 1, cuda::kBlockSize, 1, 1, 0, stream, finish_params, nullptr),
            "cuLaunchKernel");
      check(cu.cuMemFreeAsync(scratch, stream), "cuMemFreeAsync");
    }
  }

 private:
  void validate(const DeviceArgs& args) const {
    if (args.inputs.size() != program_.fn.inputs.size())
      throw std::invalid_argument(fmt::format("run_device: {} input arrays for {} inputs", args.inputs.size(),
                                              program_.fn.inputs.size()));
    if (args.grads.size() != program_.stored_outputs())
      throw std::invalid_argument(fmt::format("run_device: {} gradient arrays for {} stored outputs",
                                              args.grads.size(), program_.stored_outputs()));
    if (args.n < 0) throw std::invalid_argument("run_device: n < 0");
    if (!args.loss) throw std::invalid_argument("run_device: loss is null");
  }

  Program program_;
  bool deterministic_;
  Device device_;
  double compile_seconds_ = 0;
  CUmodule module_ = nullptr;
  CUfunction main_ = nullptr;
  CUfunction finish_ = nullptr;
};

}  // namespace
#endif  // LOSSCC_HAVE_NVRTC

std::shared_ptr<const Kernel> make_cuda_kernel(const Program& program, const CompileOptions& options) {
#ifdef LOSSCC_HAVE_NVRTC
  if (!cuda_available()) throw BackendUnavailable("CUDA unavailable: " + cuda_unavailable_reason());
  return std::make_shared<CudaKernel>(program, options);
#else
  (void)program;
  (void)options;
  throw BackendUnavailable("CUDA backend not built (configure with the CUDA toolkit for NVRTC)");
#endif
}

}  // namespace losscc::rt
