// The LibTorch eager peer: the same loss as ATen ops with autograd.
//
// The expression is built from the IR itself (program.fn.body, walked in
// schedule order through a table IR op → ATen function), so every loss that
// losscc compiles gets an eager peer without anyone writing it by hand. One
// run() is what a PyTorch user's training step does: the forward ops, the
// mean/sum, then autograd's backward for the gradient inputs.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "compiler/ir/program.h"

namespace losscc::bench {

class EagerLoss {
 public:
  // Throws std::invalid_argument for an op the table lacks.
  explicit EagerLoss(const Program& program);

  // `inputs[j]` holds n floats of program.fn.inputs[j]. Returns the reduced
  // loss; grads (one per program.grad_inputs) are freshly allocated by
  // autograd, as in a training step with zero_grad(set_to_none=True).
  double run(const std::vector<at::Tensor>& inputs, std::vector<at::Tensor>* grads) const;

 private:
  const Program& program_;
  std::vector<const Node*> order_;      // body nodes, children first
  std::vector<at::Tensor> constants_;   // per order_ entry: the 0-dim value of a Const
};

}  // namespace losscc::bench
