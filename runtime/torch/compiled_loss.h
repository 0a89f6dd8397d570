// A compiled loss as a LibTorch autograd op.
//
//   losscc::CompiledLoss loss(fn);                  // compiles nothing yet
//   at::Tensor l = loss({pred, label});             // one fused kernel call
//   l.backward();                                   // rescales stored gradients
//
// The forward pass runs the fused forward+backward Program (see
// compiler/ir/program.h) once: it returns the reduced loss and stores the
// per-element gradients of every input that requires grad. backward() then
// only multiplies the stored gradients by the incoming gradient (and skips
// even that when the incoming gradient is exactly 1 on the CPU).
//
// Which inputs get a gradient is decided at call time: the Program for a grad
// set (the inputs that require grad while grad mode is on) is built on the
// first call with that set and kept, so a loss used for many batches compiles
// once per grad set; the runtime's kernel cache shares kernels across
// CompiledLoss objects and processes.
//
// Inputs: one tensor per `fn.inputs` in declaration order, all of the same
// shape and on the same device. Any dtype, any strides: contiguous float32
// tensors are used in place; anything else is converted to a contiguous
// float32 copy first (gradients are handed back in each input's own dtype).
// CPU tensors run on the host backend of `host_options` (LLVM; the
// interpreter when LLVM is not built in or not usable). CUDA tensors run on
// the CUDA backend on the current stream; that path exists only when LibTorch
// itself was built with CUDA (LOSSCC_TORCH_CUDA), otherwise CUDA tensors are
// rejected with an error.
//
// A ranking loss (fn.grouped(), see compiler/ir/program.h) is called with
// segment offsets as well: an int64 CPU tensor of Q + 1 entries, query q
// owning elements [offsets[q], offsets[q+1]) of the inputs. It then returns
// the mean (or sum) over the Q queries of the per-query loss. Offsets are
// host-only for now: a ranking loss on CUDA tensors is rejected.
//
// The result is a 0-dim float32 tensor on the inputs' device. Copies of a
// CompiledLoss share their program cache; calls are thread-safe.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "compiler/ir/loss_function.h"
#include "runtime/kernel.h"

namespace losscc {

class CompiledLoss {
 public:
  explicit CompiledLoss(LossFunction fn, rt::CompileOptions host_options = {});

  // A pointwise loss. Throws std::invalid_argument for a ranking loss.
  at::Tensor operator()(const std::vector<at::Tensor>& inputs) const;
  // A ranking loss over the queries `offsets` (int64, CPU, Q + 1 entries).
  // Throws std::invalid_argument for a pointwise loss or bad offsets.
  at::Tensor operator()(const std::vector<at::Tensor>& inputs, const at::Tensor& offsets) const;

  const LossFunction& function() const;
  // The host backend CPU tensors actually run on (after the LLVM fallback).
  rt::Backend host_backend() const;
  // How many distinct (grad set, backend) kernels this loss has fetched so far.
  size_t kernels_built() const;

  struct State;  // the loss, the options and the per-grad-set kernels

 private:
  at::Tensor call(const std::vector<at::Tensor>& inputs, const at::Tensor& offsets) const;

  std::shared_ptr<State> state_;
};

}  // namespace losscc
