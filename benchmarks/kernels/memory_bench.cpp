// Memory section: what one call allocates, per peer. The fused program should
// allocate nothing but (in a training step) the gradient buffers it is given;
// eager allocates every intermediate of the forward and the backward.
//
// Two measurements per peer, both taken on one warmed-up call:
//   - heap allocations (calls and bytes requested) counted by interposing
//     malloc & co. (alloc_counter.h), which sees LibTorch's CPU allocator too;
//   - the peak resident set growth during the call: VmHWM is reset through
//     /proc/self/clear_refs ("5") before the call and read after it.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "benchmarks/kernels/alloc_counter.h"
#include "benchmarks/kernels/bench.h"
#include "benchmarks/kernels/eager_peer.h"
#include "runtime/kernel.h"

namespace losscc::bench {
namespace {

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  return static_cast<bool>(f.flush());
}

struct CallMemory {
  AllocCount allocs;
  int64_t peak_rss_growth = -1;  // bytes; -1 when the peak could not be reset
};

template <class F>
CallMemory measure_call(F&& call) {
  call();  // warm: first-call allocations (thread pools, caches) are not per call
  CallMemory m;
  bool peak_ok = reset_peak_rss();
  uint64_t before = current_rss_bytes();
  AllocCounter::start();
  call();
  m.allocs = AllocCounter::stop();
  if (peak_ok) m.peak_rss_growth = static_cast<int64_t>(peak_rss_bytes()) - static_cast<int64_t>(before);
  return m;
}

json to_json(const CallMemory& m) {
  json j = {{"alloc_calls", m.allocs.calls}, {"alloc_bytes", m.allocs.bytes}};
  if (m.peak_rss_growth >= 0) j["peak_rss_growth_bytes"] = m.peak_rss_growth;
  return j;
}

}  // namespace

json run_memory(const Options& options, const std::vector<LossCase>& losses) {
  json out = {{"method", "malloc interposition (alloc calls/bytes per call) and VmHWM reset via "
                         "/proc/self/clear_refs (peak RSS growth during the call)"},
              {"malloc_interposed", AllocCounter::interposed()}};
  // One size: 2^22 when it is among the sizes, else the largest one below it.
  int log2n = -1;
  for (int k : options.log2_sizes) if (k <= 22) log2n = std::max(log2n, k);
  if (log2n < 0) return out;
  const int64_t n = int64_t{1} << log2n;
  out["log2_n"] = log2n;
  out["threads"] = 1;
  json rows = json::array();
  at::set_num_threads(1);
  for (const LossCase& c : losses) {
    const std::string name = fmt::format("memory/{}/2^{}", c.name, log2n);
    if (!options.selected(name)) continue;
    fmt::print(stderr, "  {}\n", name);
    const Program& p = c.program;
    auto data = make_inputs(p, n, options.seed);
    std::vector<const float*> in_ptrs;
    std::vector<at::Tensor> in_tensors;
    for (auto& v : data) {
      in_ptrs.push_back(v.data());
      in_tensors.push_back(at::from_blob(v.data(), {n}, at::kFloat));
    }
    json row = {{"name", name}, {"loss", c.name},
                {"gradient_bytes", static_cast<uint64_t>(n) * sizeof(float) * p.grad_inputs.size()}};
    try {
      auto jit = rt::get_kernel(p, {rt::Backend::Llvm});
      // The caller owns the gradient buffers (gradient_bytes above); what is
      // counted is what the runtime allocates on top of them.
      std::vector<std::vector<float>> grads(p.grad_inputs.size(), std::vector<float>(n));
      rt::HostArgs args{n, in_ptrs, {}, 1};
      for (auto& v : grads) args.grads.push_back(v.data());
      row["jit"] = to_json(measure_call([&] { jit->run(args); }));
    } catch (const std::exception& e) {
      row["jit"] = {{"skipped", e.what()}};
    }
    EagerLoss eager(p);
    // Autograd allocates the gradients itself, inside the call.
    row["eager"] = to_json(measure_call([&] {
      std::vector<at::Tensor> grads;
      eager.run(in_tensors, &grads);
    }));
    rows.push_back(row);
  }
  at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  out["cases"] = rows;
  out["process_peak_rss_bytes"] = peak_rss_bytes();
  return out;
}

}  // namespace losscc::bench
