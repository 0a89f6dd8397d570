// bench_mtl_reward: does the whole multi-task loss search's reward rank
// programs the way a fit to convergence does?
//
//   bench_mtl_reward --sampled 30 --json benchmarks/results/reward-spearman-mtl-sessions.json
//
// The panel: the two-task example programs (mtl_equal, mtl_fixed, mtl_chain,
// mtl_rmtl_closed_form) and --sampled programs drawn by masked random search
// in the multi-task space (seeded), each passing check() and distinct by
// gradient fingerprint from every program before it, weak ones included, as
// the search meets them. For each: the search's reward (the best mean
// validation AUC of a short fit from the search's seed, for every
// --reward-epochs setting) and fits to convergence (at most --effect-epochs,
// patience --effect-patience, on --seeds seeds), whose mean test AUC over
// tasks is the truth the reward should predict. Reported: the Spearman rank
// correlation of each reward setting with it, and what a reward costs.
// Programs run on --workers threads, one LibTorch thread each.
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "benchmarks/common/stats.h"
#include "benchmarks/search/panel.h"
#include "compiler/ir/print.h"
#include "compiler/language/parse.h"
#include "compiler/passes/fingerprint.h"
#include "compiler/passes/simplify.h"
#include "models/errors.h"
#include "models/mtl/load.h"
#include "search/mtl_task.h"
#include "search/search.h"

namespace {

using namespace losscc;
using namespace losscc::search;
using losscc::bench::mean;
using losscc::bench::seconds_since;

struct PanelProgram {
  std::string name, origin, source;
  LossFunction fn;
  std::vector<double> rewards, reward_seconds;  // per --reward-epochs setting; NaN: diverged
  std::vector<double> test_auc, valid_auc;       // mean over tasks, per seed; NaN: diverged
  double fit_seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string data_path, model = "mmoe", json_out;
  int sampled = 30, seeds = 2, workers = 1, effect_epochs = 40, effect_patience = 3, layers = 6;
  int64_t sessions = 5000, batch = 512;
  double lr = 3e-3;
  std::vector<int> reward_epochs = {2, 4};
  uint64_t sample_seed = 7, fit_seed = 1;
  CLI::App app{"Spearman correlation between the multi-task search's reward and the converged mean test AUC"};
  app.add_option("--data", data_path, "census-income file or folder, or a session folder (default: the built-in "
                 "synthetic sessions)");
  app.add_option("--synthetic-sessions", sessions, "sessions of the built-in synthetic data")->capture_default_str();
  app.add_option("--model", model, "multi-task model")->capture_default_str();
  app.add_option("--lr", lr, "Adam learning rate")->capture_default_str();
  app.add_option("--batch", batch, "minibatch rows")->capture_default_str();
  app.add_option("--layers", layers, "operator nodes per sampled program")->capture_default_str();
  app.add_option("--sampled", sampled, "sampled programs in the panel (besides the 4 examples)")->capture_default_str();
  app.add_option("--seeds", seeds, "converged fits per program")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--reward-epochs", reward_epochs, "reward settings compared (most epochs of the reward fit; "
                 "patience 2)")->delimiter(',')->capture_default_str();
  app.add_option("--effect-epochs", effect_epochs, "most epochs of a converged fit")->capture_default_str();
  app.add_option("--effect-patience", effect_patience, "its patience")->capture_default_str();
  app.add_option("--workers", workers, "programs trained at once")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--sample-seed", sample_seed, "seed of the sampled programs")->capture_default_str();
  app.add_option("--fit-seed", fit_seed, "the reward fits' seed; converged fits use it, +1, ...")->capture_default_str();
  app.add_option("--json", json_out, "write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  try {
    at::set_num_threads(1);
    models::mtl::MtlLoadOptions load;
    load.synthetic_sessions = sessions;
    const models::mtl::MtlDataset data = models::mtl::load_mtl_data(data_path, load).data;
    MtlTaskConfig config;  // the whole loss
    config.model = model;
    config.train.lr = lr;
    config.train.batch = batch;
    config.seed = fit_seed;

    std::vector<PanelProgram> panel;
    std::vector<std::vector<double>> fingerprints;
    for (const NamedLoss& b : MtlTask(data, config).baselines(std::string(LOSSCC_SOURCE_DIR) + "/examples")) {
      PanelProgram p{b.name, "example", b.source, parse_loss(b.source, b.name + ".loss"), {}, {}, {}, {}, 0};
      fingerprints.push_back(gradient_fingerprint(simplify(p.fn)));
      panel.push_back(std::move(p));
    }
    const SearchSpace space = SearchSpace::multi_task(static_cast<int>(data.num_tasks()), layers);
    int drawn = 0;
    for (LossFunction& fn : bench::draw_distinct_losses(space, sampled, sample_seed, fingerprints, drawn))
      panel.push_back({fmt::format("sampled-{}", panel.size() - 3), "sampled", to_loss_source(fn), fn, {}, {}, {}, {}, 0});
    fmt::print(stderr, "[bench_mtl_reward] {} ({} model): panel of {} programs ({} sampled from {} masked draws), "
               "{} seeds, {} workers\n", data.name, model, panel.size(), sampled, drawn, seeds, workers);

    std::atomic<size_t> next{0}, done{0};
    auto work = [&] {
      for (size_t k; (k = next.fetch_add(1)) < panel.size();) {
        PanelProgram& p = panel[k];
        for (int epochs : reward_epochs) {
          const auto start = std::chrono::steady_clock::now();
          double reward = std::nan("");
          try {
            reward = fit_program_from_scratch(data, config, p.fn, fit_seed, epochs, std::min(2, epochs)).valid;
          } catch (const models::NonFiniteLoss&) {
          }
          p.rewards.push_back(reward);
          p.reward_seconds.push_back(seconds_since(start));
        }
        const auto start = std::chrono::steady_clock::now();
        for (int s = 0; s < seeds; ++s) {
          try {
            const EffectFit fit = fit_program_from_scratch(data, config, p.fn, fit_seed + s, effect_epochs, effect_patience);
            p.test_auc.push_back(fit.test);
            p.valid_auc.push_back(fit.valid);
          } catch (const models::NonFiniteLoss&) {
            p.test_auc.push_back(std::nan(""));
            p.valid_auc.push_back(std::nan(""));
          }
        }
        p.fit_seconds = seconds_since(start);
        fmt::print(stderr, "[bench_mtl_reward] {}/{} {}: reward {:.4f}, converged test mean AUC {:.4f} ({:.0f} s)\n",
                   ++done, panel.size(), p.name, p.rewards.back(), mean(p.test_auc), p.fit_seconds);
      }
    };
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();

    const nlohmann::json settings = bench::reward_settings(panel, reward_epochs, 2);
    nlohmann::json programs = nlohmann::json::array();
    fmt::print("\n{:<22} {:>8} {:>9}   {}\n", "program", "reward", "test AUC", "expression");
    for (const PanelProgram& p : panel) {
      // The lets and the body: every program declares the same inputs.
      std::string expr = "(examples/" + p.name + ".loss)";
      if (p.origin == "sampled") {
        expr.clear();
        std::istringstream lines(p.source);
        for (std::string line; std::getline(lines, line);)
          if (!line.empty() && line.rfind("input ", 0) != 0) expr += (expr.empty() ? "" : "; ") + line;
      }
      fmt::print("{:<22} {:>8.4f} {:>9.4f}   {}\n", p.name, p.rewards.back(), mean(p.test_auc), expr);
      programs.push_back({{"name", p.name}, {"origin", p.origin}, {"source", p.source}, {"rewards", p.rewards},
                          {"reward_seconds", p.reward_seconds}, {"test_mean_auc", p.test_auc},
                          {"valid_mean_auc", p.valid_auc}, {"test_mean_auc_mean", mean(p.test_auc)},
                          {"effectiveness_seconds", p.fit_seconds}});
    }
    if (!json_out.empty()) {
      const nlohmann::json out = {{"benchmark", "mtl_reward_spearman"}, {"data", data.name}, {"model", model},
                                  {"seeds", seeds}, {"effect_epochs", effect_epochs},
                                  {"effect_patience", effect_patience}, {"workers", workers},
                                  {"sample_seed", sample_seed}, {"fit_seed", fit_seed}, {"drawn", drawn},
                                  {"layers", layers}, {"train", config.train.to_json()}, {"settings", settings},
                                  {"programs", programs}};
      std::ofstream(json_out) << out.dump(2) << "\n";
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_mtl_reward: {}\n", e.what());
    return 1;
  }
  return 0;
}
