// Where the figures were measured: the machine every benchmark records
// (benchmarks/common/machine.h), plus what only the kernels depend on: the
// LLVM version, how the hand-written peer loops were compiled, the backends.

#include "benchmarks/common/machine.h"
#include "benchmarks/kernels/bench.h"
#include "benchmarks/kernels/hand_loops.h"
#include "runtime/kernel.h"

namespace losscc::bench {

json machine_info(const Options& options) {
  json m = machine_info(options.source_dir);
  m["hand_loop_compiler"] = LOSSCC_HAND_COMPILER;
  m["hand_loop_flags"] = LOSSCC_HAND_FLAGS;
  m["llvm_version"] = LOSSCC_BENCH_LLVM_VERSION;
  m["backends"] = {{"llvm", rt::backend_available(rt::Backend::Llvm)},
                   {"cuda", rt::backend_available(rt::Backend::Cuda)}};
  return m;
}

}  // namespace losscc::bench
