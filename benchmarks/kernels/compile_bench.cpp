// Compile-latency section: how long a new candidate loss waits before it can
// run. Random candidates come from the search space's own sampler (what the
// controller proposes), so the figures are the ones the search loop pays:
//   - llvm:      Program → optimised native loop (JitModule::compile), no cache;
//   - nvrtc/bK:  K programs → one CUDA C translation unit → PTX (compute_90),
//                one NVRTC call; reported per call and amortised per kernel;
//   - cache_hit: rt::get_kernel() of a program it has already compiled.
// p50/p90 over the candidates.

#include <fmt/format.h>

#include <random>

#include "benchmarks/kernels/bench.h"
#include "compiler/passes/build_program.h"
#include "runtime/kernel.h"
#include "search/space/search_space.h"
#if LOSSCC_HAVE_LLVM
#include "compiler/codegen/llvm/llvm_codegen.h"
#endif
#if LOSSCC_HAVE_NVRTC
#include "compiler/codegen/cuda/emit_cuda.h"
#include "compiler/codegen/nvrtc/nvrtc_compile.h"
#endif

namespace losscc::bench {
namespace {

json latency_json(std::vector<double> samples, double per = 1.0) {
  for (double& s : samples) s /= per;
  Stats s = summarize(std::move(samples));
  return {{"p50_s", s.median_s}, {"p90_s", s.p90_s}, {"min_s", s.min_s}, {"samples", s.repeats}};
}

// `count` distinct valid candidates (mean loss over pred/label, gradient to
// pred) drawn uniformly from AutoLossGen's space; candidates that fail to
// compile to a program (e.g. the body does not use pred) are redrawn.
std::vector<Program> sample_candidates(int count, uint64_t seed, json* info) {
  search::SearchSpace space;  // AutoLossGen defaults: 10 layers, basic operators
  std::mt19937_64 rng(seed);
  std::vector<Program> out;
  int rejected = 0;
  while (static_cast<int>(out.size()) < count && rejected < 50 * count) {
    try {
      LossFunction fn = search::decode(space, search::sample_uniform(space, rng));
      out.push_back(build_program(fn, {fn.input_index("pred")}));
    } catch (const std::exception&) {
      ++rejected;
    }
  }
  *info = {{"sampler", "search/space sample_uniform + decode (10 layers, basic operators)"},
           {"seed", seed}, {"candidates", out.size()}, {"rejected", rejected}};
  return out;
}

}  // namespace

json run_compile(const Options& options, const std::vector<LossCase>& losses) {
  json out = json::object();
  json sampler;
  std::vector<Program> programs = sample_candidates(options.compile_samples, options.seed, &sampler);
  out["candidates"] = sampler;

#if LOSSCC_HAVE_LLVM
  if (options.selected("compile/llvm")) {
    fmt::print(stderr, "  compile/llvm ({} programs)\n", programs.size());
    std::vector<double> t;
    for (const Program& p : programs) {
      double t0 = now_s();
      auto module = llvm_backend::JitModule::compile(p);
      t.push_back(now_s() - t0);
    }
    out["llvm"] = latency_json(t);
    json examples = json::object();
    for (const LossCase& c : losses) {
      double t0 = now_s();
      auto module = llvm_backend::JitModule::compile(c.program);
      examples[c.name] = now_s() - t0;
    }
    out["llvm_examples_s"] = examples;
  }
#else
  out["llvm"] = {{"skipped", "built without LLVM"}};
#endif

#if LOSSCC_HAVE_NVRTC
  cuda::NvrtcOptions ptx;
  ptx.target = "compute_90";  // PTX: no GPU here to pick a cubin for
  out["nvrtc_target"] = ptx.target;
  {
    // The first NVRTC call in a process loads and initialises the library.
    double t0 = now_s();
    cuda::nvrtc_compile(cuda::emit_cuda(programs.at(0)), ptx);
    out["nvrtc_first_call_in_process_s"] = now_s() - t0;
  }
  for (int batch : {1, 8, 32}) {
    const std::string name = fmt::format("compile/nvrtc/b{}", batch);
    if (!options.selected(name) || static_cast<int>(programs.size()) < batch) continue;
    fmt::print(stderr, "  {}\n", name);
    std::vector<double> t;
    for (size_t i = 0; i + batch <= programs.size(); i += batch) {
      std::vector<Program> group(programs.begin() + i, programs.begin() + i + batch);
      double t0 = now_s();
      std::string src = batch == 1 ? cuda::emit_cuda(group[0]) : cuda::emit_cuda_batch(group);
      cuda::nvrtc_compile(src, ptx);
      t.push_back(now_s() - t0);
    }
    out[fmt::format("nvrtc_b{}", batch)] = {{"per_call", latency_json(t)},
                                            {"per_kernel", latency_json(t, batch)}};
  }
#else
  out["nvrtc_b1"] = {{"skipped", "built without NVRTC"}};
#endif

  if (options.selected("compile/cache_hit")) {
    fmt::print(stderr, "  compile/cache_hit\n");
    const rt::Backend backend =
        rt::backend_available(rt::Backend::Llvm) ? rt::Backend::Llvm : rt::Backend::Interp;
    std::vector<double> t;
    std::vector<double> first;
    for (const Program& p : programs) {
      double t0 = now_s();
      auto k = rt::get_kernel(p, {backend});  // compiles, or loads from the disk cache
      first.push_back(now_s() - t0);
      for (int r = 0; r < 10; ++r) {
        double t1 = now_s();
        auto again = rt::get_kernel(p, {backend});
        t.push_back(now_s() - t1);
      }
    }
    out["cache_hit"] = latency_json(t);
    out["cache_hit"]["backend"] = std::string(rt::backend_name(backend));
    out["get_kernel_first_call"] = latency_json(first);
  }
  return out;
}

}  // namespace losscc::bench
