#include "runtime/cpu/llvm_kernel.h"

#ifdef LOSSCC_HAVE_LLVM

#include <algorithm>
#include <chrono>
#include <vector>

namespace losscc::rt::cpu {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::shared_ptr<const LlvmKernel> LlvmKernel::compile(const Program& program, std::string* object) {
  const auto start = std::chrono::steady_clock::now();
  std::string code = llvm_backend::compile_to_object(program);
  auto module = llvm_backend::JitModule::load(code, program.grouped());
  if (object) *object = std::move(code);
  return std::make_shared<const LlvmKernel>(program, std::move(module), seconds_since(start));
}

std::shared_ptr<const LlvmKernel> LlvmKernel::load(const Program& program, std::string_view object) {
  const auto start = std::chrono::steady_clock::now();
  auto module = llvm_backend::JitModule::load(object, program.grouped());
  return std::make_shared<const LlvmKernel>(program, std::move(module), seconds_since(start));
}

LlvmKernel::LlvmKernel(Program program, llvm_backend::JitModule module, double seconds)
    : HostKernel(std::move(program), seconds), module_(std::move(module)),
      scratch_slots_(llvm_backend::scratch_slots(this->program())) {}

double LlvmKernel::run_range(const HostArgs& args, int64_t begin, int64_t end,
                             double grad_scale) const {
  return module_.loop()(args.inputs.data(), args.grads.data(), begin, end,
                        static_cast<float>(grad_scale));
}

double LlvmKernel::run_queries(const HostArgs& args, int64_t q_begin, int64_t q_end,
                               double grad_scale) const {
  int64_t longest = 0;
  for (int64_t q = q_begin; q < q_end; ++q) longest = std::max(longest, args.offsets[q + 1] - args.offsets[q]);
  std::vector<float> scratch(static_cast<size_t>(std::max(1, scratch_slots_) * longest));
  return module_.groups()(args.inputs.data(), args.grads.data(), args.offsets, q_begin, q_end,
                          static_cast<float>(grad_scale), scratch.data());
}

}  // namespace losscc::rt::cpu

#endif  // LOSSCC_HAVE_LLVM
