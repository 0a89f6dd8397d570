// bench_valid: how many sampled candidates pass the validity check, for each
// searcher, with and without ViableTokens' masks, on the default space; with
// --ranking on the ranking space (losssearch --task rank's, 6 layers), whose
// masks compose list signatures (search/space/list_signature.h); with --tasks K
// on the multi-task space of K tasks (losssearch --task mtl's, 6 layers),
// whose masks compose task signatures (search/space/task_signature.h).
//
//   bench_valid --samples 10000 --json benchmarks/results/valid-fraction.json
//   bench_valid --ranking --layers 6 --json benchmarks/results/valid-fraction-ranking.json
//   bench_valid --tasks 2 --layers 6 --json benchmarks/results/valid-fraction-mtl.json
//
// A candidate counts as valid when the evaluator would train it: check()
// passes and its gradient fingerprint is finite and not all zero. The RL
// searcher samples from a freshly initialised policy (what the search starts
// from; its updates need rewards, which need training). Also reported: masks
// that left nothing to choose (dead ends), the time per sample, and how often
// the masks' prediction for the last node agrees with check().
#include <ATen/Parallel.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compiler/passes/check.h"
#include "compiler/passes/fingerprint.h"
#include "compiler/passes/simplify.h"
#include "search/policy.h"
#include "search/space/viable_tokens.h"

namespace {

using namespace losscc;
using namespace losscc::search;

bool trainable(const LossFunction& fn) {
  const LossFunction s = simplify(fn);
  if (!check(s).valid) return false;
  const std::vector<double> fp = gradient_fingerprint(s);
  return std::all_of(fp.begin(), fp.end(), [](double g) { return std::isfinite(g); }) &&
         std::any_of(fp.begin(), fp.end(), [](double g) { return g != 0; });
}

}  // namespace

int main(int argc, char** argv) {
  int samples = 10000, layers = 10;
  uint64_t seed = 1;
  bool extended = false, ranking = false, batch_stats = false;
  int tasks = 0;
  std::string json_out;
  CLI::App app{"Valid fraction of sampled candidates: RL and random search, masked and not"};
  app.add_option("--samples", samples, "candidates per searcher and setting")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--layers", layers, "operator nodes per loss")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_flag("--extended", extended, "the extended operator set");
  app.add_flag("--ranking", ranking, "the ranking space (list signatures' masks)");
  app.add_option("--tasks", tasks, "the multi-task space of this many tasks (task signatures' masks)")
      ->check(CLI::Range(2, 8))->excludes("--ranking");
  app.add_flag("--batch-stats", batch_stats, "the multi-task space with each task's batch mean loss as leaves")
      ->needs("--tasks");
  app.add_option("--seed", seed, "sampling seed")->capture_default_str();
  app.add_option("--json", json_out, "write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  at::set_num_threads(1);
  const SearchSpace space =
      tasks ? SearchSpace::multi_task(tasks, layers, extended, batch_stats) : SearchSpace(layers, extended, ranking);
  nlohmann::json rows = nlohmann::json::array();
  fmt::print("{} samples per row, {} layers{}{}\n", samples, layers, extended ? ", extended" : "",
             ranking ? ", ranking space"
             : tasks ? fmt::format(", multi-task space of {} tasks{}", tasks, batch_stats ? " with batch means" : "")
                     : "");
  fmt::print("{:8} {:7} {:>8} {:>10} {:>11} {:>10}\n", "searcher", "masks", "valid %", "dead ends",
             "ms/sample", "agree %");
  for (const std::string searcher : {"random", "rl"})
    for (const bool masked : {false, true}) {
      std::mt19937_64 rng(seed);
      torch::manual_seed(seed);
      PolicyConfig policy_config;
      policy_config.mask = masked;
      LossPolicy policy(space, policy_config);
      std::optional<ViableTokens> viable, judge;
      viable.emplace(space), judge.emplace(space);
      int valid = 0, agree = 0;
      double sampling_seconds = 0;
      for (int k = 0; k < samples; ++k) {
        const auto start = std::chrono::steady_clock::now();
        const std::vector<Token> tokens = searcher == "rl" ? policy->sample(rng)
                                          : masked          ? sample_viable(*viable, space, rng)
                                                            : sample_uniform(space, rng);
        sampling_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const bool ok = trainable(decode(space, tokens));
        valid += ok;
        if (judge) {
          judge->reset();
          for (const Token& t : tokens) judge->push(t);
          agree += judge->last_node_passes() == ok;
        }
      }
      const int64_t dead_ends = searcher == "rl" || !viable ? -1 : viable->dead_ends();
      const double pct = 100.0 * valid / samples, ms = 1e3 * sampling_seconds / samples;
      fmt::print("{:8} {:7} {:8.2f} {:>10} {:11.2f} {:>10}\n", searcher, masked ? "on" : "off", pct,
                 dead_ends < 0 ? std::string("-") : std::to_string(dead_ends), ms,
                 judge ? fmt::format("{:.2f}", 100.0 * agree / samples) : std::string("-"));
      std::fflush(stdout);
      rows.push_back({{"searcher", searcher}, {"masked", masked}, {"samples", samples}, {"valid", valid},
                      {"valid_fraction", static_cast<double>(valid) / samples},
                      {"dead_ends", dead_ends < 0 ? nlohmann::json(nullptr) : nlohmann::json(dead_ends)},
                      {"sampling_ms_per_sample", ms},
                      {"signature_agrees_with_check",
                       judge ? nlohmann::json(static_cast<double>(agree) / samples) : nlohmann::json(nullptr)}});
    }
  if (!json_out.empty())
    std::ofstream(json_out) << nlohmann::json{{"benchmark", "valid_fraction"}, {"layers", layers},
                                              {"extended", extended}, {"ranking", ranking}, {"tasks", tasks}, {"batch_stats", batch_stats},
                                              {"seed", seed}, {"rows", rows}}
                                   .dump(2)
                            << "\n";
  return 0;
}
