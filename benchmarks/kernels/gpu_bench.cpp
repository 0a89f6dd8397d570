// GPU section (runs only where rt::backend_available(Cuda) and LibTorch has
// CUDA): the NVRTC kernel against LibTorch eager on the device and against a
// device-to-device copy of the same bytes.
//
// Device work is asynchronous, so throughput is timed as a burst of `burst`
// back-to-back calls closed by one synchronisation (reading the loss back),
// divided by `burst`; per-call latency is one call plus that synchronisation.
// Everything goes through ATen's device-agnostic API, so this file builds
// against the CPU-only LibTorch too.

#include <ATen/ATen.h>

#include <fmt/format.h>

#include "benchmarks/kernels/bench.h"
#include "benchmarks/kernels/eager_peer.h"
#include "runtime/kernel.h"

namespace losscc::bench {

json run_gpu(const Options& options, const std::vector<LossCase>& losses) {
  if (!rt::backend_available(rt::Backend::Cuda)) return {{"skipped", "no usable CUDA GPU/driver"}};
  if (!at::hasCUDA()) return {{"skipped", "LibTorch built without CUDA (no eager peer on the device)"}};

  json rows = json::array();
  const auto cuda = at::TensorOptions().dtype(at::kFloat).device(at::kCUDA);
  for (const LossCase& c : losses) {
    const Program& p = c.program;
    auto kernel = rt::get_kernel(p, {rt::Backend::Cuda});
    EagerLoss eager(p);
    for (int log2n : options.log2_sizes) {
      const std::string name = fmt::format("gpu/{}/2^{}", c.name, log2n);
      if (!options.selected(name)) continue;
      fmt::print(stderr, "  {}\n", name);
      const int64_t n = int64_t{1} << log2n;
      const uint64_t bytes = bytes_moved(p, n);
      auto host = make_inputs(p, n, options.seed);
      std::vector<at::Tensor> inputs, grads;
      rt::DeviceArgs args;
      args.n = n;
      for (auto& v : host) {
        inputs.push_back(at::from_blob(v.data(), {n}, at::kFloat).to(cuda));
        args.inputs.push_back(inputs.back().data_ptr<float>());
      }
      for (size_t k = 0; k < p.grad_inputs.size(); ++k) {
        grads.push_back(at::empty({n}, cuda));
        args.grads.push_back(grads.back().data_ptr<float>());
      }
      at::Tensor loss = at::zeros({1}, cuda);
      args.loss = loss.data_ptr<float>();
      at::Tensor copy_src = at::ones({static_cast<int64_t>(bytes / 8)}, cuda);
      at::Tensor copy_dst = at::empty_like(copy_src);

      const int burst = n <= (int64_t{1} << 18) ? 50 : 5;
      auto per_call = [&](const std::function<void()>& call, const std::function<void()>& sync) {
        return measure([&] { for (int i = 0; i < burst; ++i) call(); sync(); }, options.policy);
      };
      auto sync_loss = [&] { (void)loss.item<float>(); };
      auto scale = [&](Stats s) { s.median_s /= burst; s.p90_s /= burst; s.min_s /= burst; return s; };

      auto run_losscc = [&] { kernel->run_device(args); };
      auto run_eager = [&] { std::vector<at::Tensor> g; eager.run(inputs, &g); };
      auto run_copy = [&] { copy_dst.copy_(copy_src); };

      Stats k = scale(per_call(run_losscc, sync_loss));
      Stats e = scale(per_call(run_eager, [] {}));  // run() reads the loss back: synchronous
      Stats d = scale(per_call(run_copy, [&] { (void)copy_dst[0].item<float>(); }));
      json row = {{"name", name}, {"loss", c.name}, {"log2_n", log2n}, {"n", n}, {"bytes_moved", bytes},
                  {"peers", {{"nvrtc", stats_json(k, n, bytes)}, {"eager", stats_json(e, n, bytes)},
                             {"d2d_copy", stats_json(d, 0, bytes)}}},
                  {"ratios", {{"eager_over_nvrtc", e.median_s / k.median_s},
                              {"fraction_of_copy_bandwidth", d.median_s / k.median_s}}},
                  {"launches_per_call_nvrtc", "1 (+1 finish kernel when deterministic), from the kernel ABI"}};
      if (log2n <= 14) {
        row["latency_nvrtc"] = stats_json(measure([&] { run_losscc(); sync_loss(); }, options.policy));
        row["latency_eager"] = stats_json(measure(run_eager, options.policy));
      }
      rows.push_back(row);
    }
  }
  return {{"device", "cuda"}, {"cases", rows}};
}

}  // namespace losscc::bench
