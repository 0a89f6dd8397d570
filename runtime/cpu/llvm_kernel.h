// The LLVM backend as a Kernel: the JIT-compiled loop of
// compiler/codegen/llvm run by the blocked executor.
#pragma once

#ifdef LOSSCC_HAVE_LLVM

#include <memory>
#include <string_view>

#include "compiler/codegen/llvm/llvm_codegen.h"
#include "runtime/cpu/host_kernel.h"

namespace losscc::rt::cpu {

class LlvmKernel final : public HostKernel {
 public:
  // Compiles `program` for this CPU. `object` (optional) receives the object
  // file, for the disk cache.
  static std::shared_ptr<const LlvmKernel> compile(const Program& program,
                                                   std::string* object = nullptr);
  // Links an object from compile_to_object (e.g. read back from the disk
  // cache); compile_seconds() is then the link time.
  static std::shared_ptr<const LlvmKernel> load(const Program& program, std::string_view object);

  LlvmKernel(Program program, llvm_backend::JitModule module, double seconds);
  Backend backend() const override { return Backend::Llvm; }

 private:
  double run_range(const HostArgs& args, int64_t begin, int64_t end,
                   double grad_scale) const override;
  double run_queries(const HostArgs& args, int64_t q_begin, int64_t q_end,
                     double grad_scale) const override;
  llvm_backend::JitModule module_;
  int scratch_slots_ = 0;
};

}  // namespace losscc::rt::cpu

#endif  // LOSSCC_HAVE_LLVM
