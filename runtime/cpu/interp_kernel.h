// The interpreter as a Kernel: every op in double, values rounded to float
// only where they are stored (the gradients). Slow; the reference the other
// backends are compared with, and the fallback that is always there.
#pragma once

#include <memory>

#include "runtime/cpu/host_kernel.h"

namespace losscc::rt::cpu {

class InterpKernel final : public HostKernel {
 public:
  explicit InterpKernel(Program program);
  Backend backend() const override { return Backend::Interp; }

 private:
  double run_range(const HostArgs& args, int64_t begin, int64_t end,
                   double grad_scale) const override;
  double run_queries(const HostArgs& args, int64_t q_begin, int64_t q_end,
                     double grad_scale) const override;
  std::vector<std::string> input_names_;
};

}  // namespace losscc::rt::cpu
