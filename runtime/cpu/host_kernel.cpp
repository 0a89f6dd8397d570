#include "runtime/cpu/host_kernel.h"

#include <limits>
#include <string>

#include "runtime/cpu/executor.h"

namespace losscc::rt::cpu {
namespace {

void check_args(const Program& p, const HostArgs& args) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("run(): " + what); };
  if (args.n < 0) fail("n is negative");
  if (args.inputs.size() != p.fn.inputs.size())
    fail(std::to_string(args.inputs.size()) + " input arrays for " +
         std::to_string(p.fn.inputs.size()) + " declared inputs");
  if (args.grads.size() != p.stored_outputs())
    fail(std::to_string(args.grads.size()) + " gradient arrays for " + std::to_string(p.stored_outputs()) +
         (p.hessian ? " gradients and Hessian diagonals" : " gradients"));
  if (args.n == 0) return;
  for (size_t j = 0; j < args.inputs.size(); ++j)
    if (!args.inputs[j]) fail("input array for '" + p.fn.inputs[j].name + "' is null");
  for (float* g : args.grads)
    if (!g) fail("a gradient array is null");
}

}  // namespace

double HostKernel::run(const HostArgs& args) const {
  check_args(program_, args);
  if (program_.grouped()) {
    check_offsets(args.offsets, args.queries, args.n, kMaxListSize);
    const bool mean = program_.fn.reduction == Reduction::Mean;
    if (args.queries == 0) return mean ? std::numeric_limits<double>::quiet_NaN() : 0.0;
    const double scale = mean ? 1.0 / static_cast<double>(args.queries) : 1.0;
    // Documents per query vary, so the parallel threshold counts documents:
    // fewer than kMinParallelDocuments run on the calling thread.
    const int64_t min_parallel = args.n < kMinParallelDocuments ? args.queries + 1 : 0;
    const double total = run_blocks(args.queries, args.threads, kQueryBlock, min_parallel,
                                    [&](int64_t begin, int64_t end) { return run_queries(args, begin, end, scale); });
    return mean ? total / static_cast<double>(args.queries) : total;
  }
  const bool mean = program_.fn.reduction == Reduction::Mean;
  if (args.n == 0) return mean ? std::numeric_limits<double>::quiet_NaN() : 0.0;
  const double scale = mean ? 1.0 / static_cast<double>(args.n) : 1.0;
  const double total = run_blocks(args.n, args.threads, [&](int64_t begin, int64_t end) {
    return run_range(args, begin, end, scale);
  });
  return mean ? total / static_cast<double>(args.n) : total;
}

}  // namespace losscc::rt::cpu
