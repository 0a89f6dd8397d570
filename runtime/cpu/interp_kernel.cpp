#include "runtime/cpu/interp_kernel.h"

#include <vector>

#include "compiler/interp/interp.h"
#include "compiler/interp/segmented.h"

namespace losscc::rt::cpu {

InterpKernel::InterpKernel(Program program) : HostKernel(std::move(program), 0.0) {
  for (const InputDecl& in : this->program().fn.inputs) input_names_.push_back(in.name);
  // Rejects undeclared inputs now, not in run().
  if (this->program().grouped())
    GroupEvaluator(this->program().outputs, input_names_);
  else
    Evaluator(this->program().outputs, input_names_);
}

double InterpKernel::run_range(const HostArgs& args, int64_t begin, int64_t end,
                               double grad_scale) const {
  // An Evaluator owns scratch registers, so each range gets its own; building
  // one is a walk over the DAG, small next to a block of elements.
  Evaluator eval(program().outputs, input_names_);
  std::vector<double> in(args.inputs.size()), out(eval.num_outputs());
  double sum = 0;
  for (int64_t i = begin; i < end; ++i) {
    for (size_t j = 0; j < in.size(); ++j) in[j] = args.inputs[j][i];
    eval.run(in.data(), out.data());
    sum += out[0];
    for (size_t k = 0; k < args.grads.size(); ++k)
      args.grads[k][i] = static_cast<float>(grad_scale * out[1 + k]);
  }
  return sum;
}

double InterpKernel::run_queries(const HostArgs& args, int64_t q_begin, int64_t q_end,
                                 double grad_scale) const {
  GroupEvaluator eval(program().outputs, input_names_);
  std::vector<std::vector<double>> in(args.inputs.size()), out(eval.num_outputs());
  std::vector<const double*> in_ptr(in.size());
  std::vector<double*> out_ptr(out.size());
  double sum = 0;
  for (int64_t q = q_begin; q < q_end; ++q) {
    const int64_t b = args.offsets[q], n = args.offsets[q + 1] - b;
    for (size_t j = 0; j < in.size(); ++j) {
      in[j].assign(args.inputs[j] + b, args.inputs[j] + b + n);
      in_ptr[j] = in[j].data();
    }
    for (size_t k = 0; k < out.size(); ++k) {
      out[k].assign(static_cast<size_t>(n), 0.0);
      out_ptr[k] = out[k].data();
    }
    eval.run(in_ptr.data(), n, out_ptr.data());
    sum += out[0][0];
    for (size_t k = 0; k < args.grads.size(); ++k)
      for (int64_t i = 0; i < n; ++i) args.grads[k][b + i] = static_cast<float>(grad_scale * out[1 + k][i]);
  }
  return sum;
}

}  // namespace losscc::rt::cpu
