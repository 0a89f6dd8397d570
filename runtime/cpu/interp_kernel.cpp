#include "runtime/cpu/interp_kernel.h"

#include <vector>

#include "compiler/interp/interp.h"

namespace losscc::rt::cpu {

InterpKernel::InterpKernel(Program program) : HostKernel(std::move(program), 0.0) {
  for (const InputDecl& in : this->program().fn.inputs) input_names_.push_back(in.name);
  Evaluator(this->program().outputs, input_names_);  // rejects undeclared inputs now, not in run()
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

}  // namespace losscc::rt::cpu
