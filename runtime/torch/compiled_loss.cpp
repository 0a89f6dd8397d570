#include "runtime/torch/compiled_loss.h"

#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>
#include <torch/autograd.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "compiler/passes/build_program.h"

#ifdef LOSSCC_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

namespace losscc {

namespace {

// Bit k set ⇔ fn.inputs[k] gets a gradient.
using GradMask = uint64_t;
constexpr size_t kMaxInputs = 64;

std::vector<int> grad_indices(GradMask mask, size_t num_inputs) {
  std::vector<int> indices;
  for (size_t k = 0; k < num_inputs; ++k)
    if (mask >> k & 1) indices.push_back(static_cast<int>(k));
  return indices;
}

std::string shape_string(const at::Tensor& t) {
  return fmt::format("[{}]", fmt::join(t.sizes(), ", "));
}

rt::Backend usable_host_backend(rt::Backend wanted) {
  if (wanted == rt::Backend::Llvm && !rt::backend_available(rt::Backend::Llvm))
    return rt::Backend::Interp;
  return wanted;
}

}  // namespace

struct CompiledLoss::State {
  LossFunction fn;
  rt::CompileOptions host_options;

  std::mutex mu;
  std::map<std::pair<GradMask, rt::Backend>, std::shared_ptr<const rt::Kernel>> kernels;

  std::shared_ptr<const rt::Kernel> kernel(GradMask mask, rt::Backend backend) {
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = kernels[{mask, backend}];
    if (!slot) {
      rt::CompileOptions options = host_options;
      options.backend = backend;
      slot = rt::get_kernel(build_program(fn, grad_indices(mask, fn.inputs.size())), options);
    }
    return slot;
  }
};

namespace {

// The float32, contiguous view of every input the kernels read, and the
// gradient arrays they write (one per set bit of the mask, same shape).
struct KernelOperands {
  std::vector<at::Tensor> inputs;
  std::vector<at::Tensor> grads;
  int64_t n = 0;
  // Segment offsets of a ranking loss (int64, contiguous, CPU); undefined otherwise.
  at::Tensor offsets;

  KernelOperands(at::TensorList given, GradMask mask) {
    inputs.reserve(given.size());
    for (size_t k = 0; k < given.size(); ++k) {
      inputs.push_back(given[k].to(at::kFloat).contiguous());
      if (mask >> k & 1) grads.push_back(at::empty_like(inputs.back()));
    }
    n = given.empty() ? 0 : given[0].numel();
  }
  std::vector<const float*> input_ptrs() const {
    std::vector<const float*> ptrs;
    for (const at::Tensor& t : inputs) ptrs.push_back(t.data_ptr<float>());
    return ptrs;
  }
  std::vector<float*> grad_ptrs() const {
    std::vector<float*> ptrs;
    for (const at::Tensor& t : grads) ptrs.push_back(t.data_ptr<float>());
    return ptrs;
  }
};

// Runs the fused program; returns the 0-dim loss, fills `operands.grads`.
at::Tensor run_fused(CompiledLoss::State& state, rt::Backend host_backend, GradMask mask,
                     const KernelOperands& operands) {
  const at::Device device = operands.inputs.empty() ? at::Device(at::kCPU)
                                                    : operands.inputs[0].device();
  if (device.is_cpu()) {
    const auto kernel = state.kernel(mask, host_backend);
    rt::HostArgs args;
    args.n = operands.n;
    args.inputs = operands.input_ptrs();
    args.grads = operands.grad_ptrs();
    args.threads = at::get_num_threads();  // honour the caller's LibTorch setting
    if (operands.offsets.defined()) {
      args.offsets = operands.offsets.data_ptr<int64_t>();
      args.queries = operands.offsets.numel() - 1;
    }
    return at::scalar_tensor(kernel->run(args), at::kFloat);
  }
#ifdef LOSSCC_TORCH_CUDA
  if (device.is_cuda() && !operands.offsets.defined()) {
    const c10::DeviceGuard guard(device);
    const auto kernel = state.kernel(mask, rt::Backend::Cuda);
    at::Tensor loss = at::empty({}, at::TensorOptions().dtype(at::kFloat).device(device));
    rt::DeviceArgs args;
    args.n = operands.n;
    args.inputs = operands.input_ptrs();
    args.grads = operands.grad_ptrs();
    args.loss = loss.data_ptr<float>();
    args.stream = c10::cuda::getCurrentCUDAStream(device.index()).stream();
    kernel->run_device(args);
    return loss;
  }
#endif
  if (operands.offsets.defined())
    throw std::invalid_argument(fmt::format(
        "CompiledLoss: a ranking loss runs on CPU tensors only; inputs are on '{}'", device.str()));
  throw std::invalid_argument(fmt::format(
      "CompiledLoss: inputs on device '{}' are not supported (this build runs CPU{} tensors)",
      device.str(),
#ifdef LOSSCC_TORCH_CUDA
      " and CUDA"
#else
      ""
#endif
      ));
}

// The autograd node. forward() runs the fused kernel and keeps the gradients;
// backward() rescales them. Non-tensor arguments come after the tensors, so
// backward's result is one gradient per input tensor plus one undefined slot
// for each of them.
struct FusedLossOp : torch::autograd::Function<FusedLossOp> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                at::TensorList inputs,
                                                CompiledLoss::State* state,
                                                rt::Backend host_backend, GradMask mask,
                                                const at::Tensor* offsets) {
    KernelOperands operands(inputs, mask);
    operands.offsets = *offsets;
    at::Tensor loss = run_fused(*state, host_backend, mask, operands);

    std::vector<at::Tensor> grads(inputs.size());  // undefined where no grad
    size_t next = 0;
    for (size_t k = 0; k < inputs.size(); ++k)
      if (mask >> k & 1) grads[k] = operands.grads[next++].to(inputs[k].scalar_type());
    ctx->saved_data["grads"] = grads;
    return {loss};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    std::vector<at::Tensor> grads = ctx->saved_data["grads"].toTensorVector();
    const at::Tensor& upstream = grad_outputs[0];
    // Reading the upstream value on a GPU would synchronise the stream, so the
    // multiply by 1 is only skipped on the host.
    const bool is_one = upstream.is_cpu() && upstream.item<double>() == 1.0;
    torch::autograd::variable_list result;
    result.reserve(grads.size() + 4);
    for (at::Tensor& g : grads) result.push_back(!g.defined() || is_one ? g : g * upstream);
    result.resize(grads.size() + 4);  // state, host_backend, mask, offsets: no gradient
    return result;
  }
};

}  // namespace

CompiledLoss::CompiledLoss(LossFunction fn, rt::CompileOptions host_options)
    : state_(std::make_shared<State>()) {
  if (fn.inputs.size() > kMaxInputs)
    throw std::invalid_argument(
        fmt::format("CompiledLoss: {} inputs; at most {} are supported", fn.inputs.size(), kMaxInputs));
  host_options.backend = usable_host_backend(host_options.backend);
  state_->fn = std::move(fn);
  state_->host_options = host_options;
}

const LossFunction& CompiledLoss::function() const { return state_->fn; }

rt::Backend CompiledLoss::host_backend() const { return state_->host_options.backend; }

size_t CompiledLoss::kernels_built() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->kernels.size();
}

at::Tensor CompiledLoss::operator()(const std::vector<at::Tensor>& inputs) const {
  if (state_->fn.grouped())
    throw std::invalid_argument("CompiledLoss: a ranking loss needs segment offsets (one per query, plus the end)");
  return call(inputs, at::Tensor());
}

at::Tensor CompiledLoss::operator()(const std::vector<at::Tensor>& inputs, const at::Tensor& offsets) const {
  if (!state_->fn.grouped())
    throw std::invalid_argument("CompiledLoss: segment offsets given for a pointwise loss");
  if (!offsets.defined() || offsets.dim() != 1 || offsets.numel() < 2 || !offsets.device().is_cpu())
    throw std::invalid_argument("CompiledLoss: offsets must be a 1-D CPU tensor of at least 2 entries (Q + 1)");
  at::Tensor host = offsets.to(at::kLong).contiguous();
  const int64_t n = inputs.empty() ? 0 : inputs[0].numel();
  check_offsets(host.data_ptr<int64_t>(), host.numel() - 1, n, kMaxListSize);
  return call(inputs, host);
}

at::Tensor CompiledLoss::call(const std::vector<at::Tensor>& inputs, const at::Tensor& offsets) const {
  const LossFunction& fn = state_->fn;
  if (inputs.size() != fn.inputs.size())
    throw std::invalid_argument(fmt::format("CompiledLoss: {} tensors given for {} inputs",
                                            inputs.size(), fn.inputs.size()));
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].defined())
      throw std::invalid_argument(
          fmt::format("CompiledLoss: input '{}' is an undefined tensor", fn.inputs[k].name));
    if (inputs[k].sizes() != inputs[0].sizes() || inputs[k].device() != inputs[0].device())
      throw std::invalid_argument(fmt::format(
          "CompiledLoss: input '{}' has shape {} on {}, but '{}' has shape {} on {}",
          fn.inputs[k].name, shape_string(inputs[k]), inputs[k].device().str(), fn.inputs[0].name,
          shape_string(inputs[0]), inputs[0].device().str()));
  }

  GradMask mask = 0;
  if (at::GradMode::is_enabled())
    for (size_t k = 0; k < inputs.size(); ++k)
      if (inputs[k].requires_grad()) mask |= GradMask{1} << k;

  const rt::Backend host = state_->host_options.backend;
  if (mask == 0) {  // nothing to differentiate: no autograd node at all
    KernelOperands operands(inputs, mask);
    operands.offsets = offsets;
    return run_fused(*state_, host, mask, operands);
  }
  return FusedLossOp::apply(at::TensorList(inputs), state_.get(), host, mask, &offsets)[0];
}

}  // namespace losscc
