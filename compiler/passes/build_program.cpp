#include "compiler/passes/build_program.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "compiler/passes/grad.h"
#include "compiler/passes/hessian.h"
#include "compiler/passes/simplify.h"

namespace losscc {

Program build_program(const LossFunction& fn, std::vector<int> grad_inputs, bool with_hessian) {
  if (!fn.body) throw std::invalid_argument("build_program: the loss has no body");
  std::sort(grad_inputs.begin(), grad_inputs.end());
  grad_inputs.erase(std::unique(grad_inputs.begin(), grad_inputs.end()), grad_inputs.end());
  std::vector<std::string> wrt;
  for (int i : grad_inputs) {
    if (i < 0 || i >= static_cast<int>(fn.inputs.size()))
      throw std::invalid_argument("build_program: no input #" + std::to_string(i));
    wrt.push_back(fn.inputs[i].name);
  }

  Program p;
  p.fn = simplify(fn);
  p.grad_inputs = std::move(grad_inputs);
  // The body is already a fixed point, so simplifying it again beside the
  // gradients returns it unchanged, and the gradients' copies of its nodes
  // stay the very same nodes.
  std::vector<Expr> outputs = gradient(p.fn.body, wrt);
  if (with_hessian) {
    // Differentiated from the simplified gradients: smaller, and what the
    // kernel computes anyway, so the two share their nodes.
    std::vector<Expr> grads = simplify(outputs);
    std::vector<Expr> hessians = hessian_diagonal(grads, wrt);
    outputs = grads;
    outputs.insert(outputs.end(), hessians.begin(), hessians.end());
    p.hessian = true;
  }
  outputs.insert(outputs.begin(), p.fn.body);
  p.outputs = simplify(outputs);
  p.fn.body = p.outputs[0];
  return p;
}

std::vector<int> trained_inputs(const LossFunction& fn) {
  std::vector<int> inputs;
  for (size_t i = 0; i < fn.inputs.size(); ++i)
    if (fn.inputs[i].role != Role::Label) inputs.push_back(static_cast<int>(i));
  return inputs;
}

Program build_program(const LossFunction& fn) { return build_program(fn, trained_inputs(fn)); }

}  // namespace losscc
