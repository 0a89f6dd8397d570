// CPU section: for each example loss, N and thread count, the fused LLVM-JIT
// kernel against the hand-written clang loop, LibTorch eager with autograd,
// the interpreter (small N) and a memcpy moving the same bytes.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <random>
#include <string_view>
#include <thread>

#include "benchmarks/kernels/bench.h"
#include "benchmarks/kernels/eager_peer.h"
#include "benchmarks/kernels/hand_loops.h"
#include "runtime/cpu/executor.h"
#include "runtime/kernel.h"

namespace losscc::bench {

std::vector<std::vector<float>> make_inputs(const Program& program, int64_t n, uint64_t seed) {
  std::vector<std::vector<float>> out;
  std::mt19937_64 rng(seed);
  for (const InputDecl& in : program.fn.inputs) {
    std::vector<float> v(static_cast<size_t>(n));
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    std::uniform_real_distribution<float> prob(1e-3f, 1.0f - 1e-3f);
    std::uniform_real_distribution<float> real(-3.0f, 3.0f);
    for (float& x : v) {
      switch (in.domain) {
        case Domain::Probability: x = prob(rng); break;
        case Domain::Binary: x = unit(rng) < 0.5f ? 0.0f : 1.0f; break;
        case Domain::Unit: x = unit(rng); break;
        case Domain::Real: x = real(rng); break;
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

uint64_t bytes_moved(const Program& program, int64_t n) {
  return static_cast<uint64_t>(n) * sizeof(float) *
         (program.fn.inputs.size() + program.grad_inputs.size());
}

void parallel_ranges(int64_t n, int threads, const std::function<void(int64_t, int64_t, int)>& fn) {
  threads = std::max(1, threads);
  // Chunk edges on 64-element (one 256-byte) boundaries so no two threads share a line.
  const int64_t chunk = ((n + threads - 1) / threads + 63) / 64 * 64;
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    int64_t b = std::min(n, t * chunk), e = std::min(n, (t + 1) * chunk);
    if (b < e) pool.emplace_back(fn, b, e, t);
  }
  fn(0, std::min(n, chunk), 0);
  for (auto& th : pool) th.join();
}

json stats_json(const Stats& s, int64_t elements, uint64_t bytes) {
  json j = {{"median_s", s.median_s}, {"p90_s", s.p90_s}, {"min_s", s.min_s}, {"repeats", s.repeats}};
  if (s.median_s > 0 && elements > 0) j["elements_per_s"] = static_cast<double>(elements) / s.median_s;
  if (s.median_s > 0 && bytes > 0) j["bytes_per_s"] = static_cast<double>(bytes) / s.median_s;
  return j;
}

namespace {

// What one peer produced, for the agreement check.
struct Result {
  double loss = 0;
  std::vector<const float*> grads;
};

// Largest |a - b| relative to the reference's scale: loss and every gradient.
double max_rel_diff(const Result& a, const Result& ref, int64_t n) {
  double d = std::abs(a.loss - ref.loss) / std::max(std::abs(ref.loss), 1e-12);
  for (size_t k = 0; k < ref.grads.size() && k < a.grads.size(); ++k) {
    double scale = 0, err = 0;
    for (int64_t i = 0; i < n; ++i) {
      scale = std::max(scale, static_cast<double>(std::abs(ref.grads[k][i])));
      err = std::max(err, static_cast<double>(std::abs(a.grads[k][i] - ref.grads[k][i])));
    }
    if (std::isnan(err)) return NAN;
    d = std::max(d, err / std::max(scale, 1e-30));
  }
  return d;
}

std::vector<std::string> split_names(std::string_view csv) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    if (comma == std::string_view::npos) comma = csv.size();
    if (comma > start) out.emplace_back(csv.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// The hand loop for `c`, if there is one and it takes exactly this program's
// inputs and gradients; otherwise null with `why` set.
const losscc_hand_loop* find_hand_loop(const LossCase& c, std::string* why) {
  for (const losscc_hand_loop* h = losscc_hand_loops; h->loss != nullptr; ++h) {
    if (c.name != h->loss) continue;
    std::vector<std::string> inputs, grads;
    for (const auto& in : c.program.fn.inputs) inputs.push_back(in.name);
    for (int g : c.program.grad_inputs) grads.push_back(c.program.fn.inputs[g].name);
    if (inputs != split_names(h->inputs) || grads != split_names(h->grads)) {
      *why = fmt::format("hand loop expects inputs ({}) grads ({})", h->inputs, h->grads);
      return nullptr;
    }
    return h;
  }
  *why = "no hand-written loop for this loss";
  return nullptr;
}

// Fewer repeats where one call takes long (eager at 2^26 is seconds per call).
RepeatPolicy policy_for(const Options& options, int64_t n) {
  RepeatPolicy p = options.policy;
  if (n >= (int64_t{1} << 24)) {
    p.warmup = 1;
    p.min_repeats = 3;
    p.min_time_s = 0;
  }
  return p;
}

constexpr double kAgreeTolerance = 2e-3;  // float kernels vs each other, relative

}  // namespace

json run_cpu(const Options& options, const std::vector<LossCase>& losses) {
  json cases = json::array();
  const int hw = std::max(1u, std::thread::hardware_concurrency());
  std::vector<int> thread_counts = {1};
  if (hw > 1) thread_counts.push_back(hw);

  for (const LossCase& c : losses) {
    const Program& p = c.program;
    std::shared_ptr<const rt::Kernel> jit;
    std::string jit_error;
    try {
      jit = rt::get_kernel(p, {rt::Backend::Llvm});
    } catch (const std::exception& e) {
      jit_error = e.what();
    }
    std::shared_ptr<const rt::Kernel> interp = rt::get_kernel(p, {rt::Backend::Interp});
    EagerLoss eager(p);
    std::string hand_why;
    const losscc_hand_loop* hand = find_hand_loop(c, &hand_why);

    for (int log2n : options.log2_sizes) {
      const int64_t n = int64_t{1} << log2n;
      std::vector<std::string> names;
      for (int t : thread_counts) names.push_back(fmt::format("cpu/{}/2^{}/t{}", c.name, log2n, t));
      if (std::none_of(names.begin(), names.end(), [&](auto& s) { return options.selected(s); })) continue;

      const uint64_t bytes = bytes_moved(p, n);
      const float grad_scale = p.fn.reduction == Reduction::Mean ? 1.0f / static_cast<float>(n) : 1.0f;
      auto data = make_inputs(p, n, options.seed + static_cast<uint64_t>(log2n));
      std::vector<const float*> in_ptrs;
      std::vector<at::Tensor> in_tensors;
      for (auto& v : data) {
        in_ptrs.push_back(v.data());
        in_tensors.push_back(at::from_blob(v.data(), {n}, at::kFloat));
      }
      auto make_grads = [&] {
        return std::vector<std::vector<float>>(p.grad_inputs.size(), std::vector<float>(n));
      };
      auto jit_grads = make_grads(), hand_grads = make_grads();
      auto ptrs = [](std::vector<std::vector<float>>& g) {
        std::vector<float*> out;
        for (auto& v : g) out.push_back(v.data());
        return out;
      };
      std::vector<float*> jit_ptrs = ptrs(jit_grads), hand_ptrs = ptrs(hand_grads);
      // The memory ceiling: a memcpy with the same traffic (half read, half written).
      std::vector<char> copy_src(bytes / 2, 1), copy_dst(bytes / 2, 0);
      const RepeatPolicy policy = policy_for(options, n);

      for (size_t ti = 0; ti < thread_counts.size(); ++ti) {
        const int threads = thread_counts[ti];
        // The hand loop and memcpy split the work by the runtime executor's
        // rule: one thread below kMinParallelElements, where starting one costs more.
        const int peer_threads = n < rt::cpu::kMinParallelElements ? 1 : threads;
        if (!options.selected(names[ti])) continue;
        fmt::print(stderr, "  {}\n", names[ti]);
        json row = {{"name", names[ti]}, {"loss", c.name}, {"log2_n", log2n}, {"n", n},
                    {"threads", threads}, {"bytes_moved", bytes}};
        json peers = json::object();
        json agree = json::object();

        Result jit_result;
        Stats jit_stats;
        if (jit) {
          rt::HostArgs args{n, in_ptrs, jit_ptrs, threads};
          double loss = 0;
          jit_stats = measure([&] { loss = jit->run(args); }, policy);
          jit_result = {loss, {jit_ptrs.begin(), jit_ptrs.end()}};
          peers["jit"] = stats_json(jit_stats, n, bytes);
        } else {
          peers["jit"] = {{"skipped", jit_error}};
        }

        if (hand != nullptr) {
          // Float partial sums per block of kSumBlock elements, added in double
          // (as a careful person would for N in the millions; it costs nothing).
          constexpr int64_t kSumBlock = 16384;
          std::vector<double> partial(peer_threads);
          auto call = [&] {
            parallel_ranges(n, peer_threads, [&](int64_t b, int64_t e, int t) {
              double sum = 0;
              for (int64_t x = b; x < e; x += kSumBlock) {
                sum += hand->fn(in_ptrs.data(), hand_ptrs.data(), x, std::min(e, x + kSumBlock), grad_scale);
              }
              partial[t] = sum;
            });
          };
          Stats s = measure(call, policy);
          double sum = 0;
          for (double x : partial) sum += x;
          Result hand_result{p.fn.reduction == Reduction::Mean ? sum / static_cast<double>(n) : sum,
                             {hand_ptrs.begin(), hand_ptrs.end()}};
          peers["hand"] = stats_json(s, n, bytes);
          if (jit) agree["hand_vs_jit"] = max_rel_diff(hand_result, jit_result, n);
        } else {
          peers["hand"] = {{"skipped", hand_why}};
        }

        {
          at::set_num_threads(threads);
          std::vector<at::Tensor> grads;
          double loss = 0;
          Stats s = measure([&] { loss = eager.run(in_tensors, &grads); }, policy);
          peers["eager"] = stats_json(s, n, bytes);
          if (jit) {
            Result r{loss, {}};
            for (auto& g : grads) r.grads.push_back(g.defined() ? g.data_ptr<float>() : nullptr);
            bool all = std::all_of(r.grads.begin(), r.grads.end(), [](auto* g) { return g != nullptr; });
            if (all) agree["eager_vs_jit"] = max_rel_diff(r, jit_result, n);
          }
        }

        if (log2n <= options.max_interp_log2 && threads == 1) {
          auto interp_grads = make_grads();
          rt::HostArgs args{n, in_ptrs, ptrs(interp_grads), 1};
          double loss = 0;
          Stats s = measure([&] { loss = interp->run(args); }, policy);
          peers["interp"] = stats_json(s, n, bytes);
          if (jit) {
            Result r{loss, {}};
            for (auto& g : interp_grads) r.grads.push_back(g.data());
            agree["jit_vs_interp"] = max_rel_diff(jit_result, r, n);
          }
        }

        {
          auto call = [&] {
            parallel_ranges(static_cast<int64_t>(copy_src.size()), peer_threads, [&](int64_t b, int64_t e, int) {
              std::memcpy(copy_dst.data() + b, copy_src.data() + b, static_cast<size_t>(e - b));
            });
          };
          peers["memcpy"] = stats_json(measure(call, policy), 0, bytes);
        }

        // Ratios: how many times longer the peer takes than the JIT (>1: JIT faster).
        json ratios = json::object();
        if (jit && jit_stats.median_s > 0) {
          for (const char* peer : {"hand", "eager", "interp", "memcpy"}) {
            if (!peers.contains(peer) || !peers[peer].contains("median_s")) continue;
            if (std::string(peer) == "hand" &&
                !(agree.contains("hand_vs_jit") && agree["hand_vs_jit"].get<double>() < kAgreeTolerance)) {
              peers["hand"]["note"] = "excluded from ratios: results disagree with the JIT";
              continue;
            }
            ratios[std::string(peer) + "_over_jit"] = peers[peer]["median_s"].get<double>() / jit_stats.median_s;
          }
        }
        row["peers"] = peers;
        row["ratios"] = ratios;
        row["agreement_max_rel_diff"] = agree;
        cases.push_back(row);
      }
    }
  }
  at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  return cases;
}

}  // namespace losscc::bench
