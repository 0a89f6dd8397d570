// losscc-bench: the kernel microbenchmark suite. Each section times losscc
// against its peers in the same process run and returns a JSON fragment;
// main.cpp strings them together and writes the document render.py reads.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "benchmarks/kernels/harness.h"
#include "compiler/ir/program.h"

namespace losscc::bench {

using json = nlohmann::ordered_json;

struct Options {
  bool quick = false;
  std::string filter = ".*";            // ECMAScript regex over case names
  std::string python;                   // interpreter with torch, for the torch.compile peer
  std::string examples_dir;             // *.loss files
  std::string source_dir;               // repository root (git commit, peer script)
  std::vector<int> log2_sizes;          // N = 2^k
  int max_interp_log2 = 14;             // the interpreter is timed only up to this N
  int compile_samples = 200;            // random candidates for compile latency
  uint64_t seed = 20240611;
  RepeatPolicy policy;

  bool selected(const std::string& case_name) const {
    return std::regex_search(case_name, std::regex(filter));
  }
};

// One example loss, compiled to the fused program every backend runs.
struct LossCase {
  std::string name;  // file stem: "bce", "logmin", ...
  std::string path;
  Program program;
};

// Inputs by domain (probabilities in (0,1), labels in {0,1}, reals around 0),
// deterministic in `seed`; one vector of n floats per program.fn.inputs entry.
std::vector<std::vector<float>> make_inputs(const Program& program, int64_t n, uint64_t seed);
// Bytes a fused pass must move: every input read once, every gradient written once.
uint64_t bytes_moved(const Program& program, int64_t n);
// Splits [0, n) into `threads` contiguous ranges and runs fn(begin, end, index)
// on each, the calling thread taking the first; returns when all are done.
void parallel_ranges(int64_t n, int threads, const std::function<void(int64_t, int64_t, int)>& fn);

json machine_info(const Options& options);
json run_cpu(const Options& options, const std::vector<LossCase>& losses);
json run_memory(const Options& options, const std::vector<LossCase>& losses);
json run_compile(const Options& options, const std::vector<LossCase>& losses);
json run_gpu(const Options& options, const std::vector<LossCase>& losses);
// Ranking losses over queries: the kernel against LibTorch on padded
// [queries, docs] tensors and (with --python) allRank's implementations.
json run_ranking(const Options& options);
// Runs benchmarks/peers/torch_peer.py under options.python on the same losses
// and sizes; returns its JSON (or {"skipped": why}).
json run_python_peer(const Options& options, const std::vector<LossCase>& losses);

// Stats as JSON, with throughput when `elements`/`bytes` are given.
json stats_json(const Stats& s, int64_t elements = 0, uint64_t bytes = 0);

}  // namespace losscc::bench
