// bench_reward: does the search's reward rank losses the way a full
// from-scratch fit does?
//
//   bench_reward --data ../shared/data/ml100k01-1-5 --json benchmarks/results/reward-spearman.json
//
// The panel: the pointwise example losses (bce, mse, hinge, focal, maxr, sumr,
// logmin) and --sampled losses drawn by masked random search (seeded), each
// passing check() and distinct by gradient fingerprint from every loss before
// it — weak ones included, as the search meets them. For each loss: the
// search's reward (scratch_reward, for every --reward-epochs setting) and the
// effectiveness fit (the losssearch defaults: Adam lr 0.01, at most
// --effect-epochs epochs, patience 5) on --seeds seeds, whose mean test AUC is
// the truth the reward should predict. Reported: the Spearman rank
// correlation between each reward setting and the mean test AUC, and what a
// reward costs. Losses run on --workers threads.
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
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
#include "compiler/passes/check.h"
#include "compiler/passes/fingerprint.h"
#include "compiler/passes/simplify.h"
#include "models/rec/data/load_dataset.h"
#include "models/rec/data/synthetic.h"
#include "search/effectiveness.h"
#include "search/paired.h"
#include "search/rec_task.h"
#include "search/search.h"

namespace {

using namespace losscc;
using namespace losscc::search;
using losscc::bench::mean;
using losscc::bench::seconds_since;

struct PanelLoss {
  std::string name, origin, source;
  LossFunction fn;
  std::vector<double> rewards, reward_seconds;  // per --reward-epochs setting; NaN: rejected
  std::vector<double> test_auc, valid_auc;       // per seed; NaN: the fit failed
  double fit_seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = std::string(LOSSCC_SOURCE_DIR) + "/../shared/data/ml100k01-1-5", json_out;
  int sampled = 25, seeds = 3, workers = 2, effect_epochs = 20, effect_patience = 5;
  std::vector<int> reward_epochs = {1, 2, 4};
  uint64_t sample_seed = 7;
  CLI::App app{"Spearman correlation between the search's reward and the from-scratch test AUC"};
  app.add_option("--data", data_dir, "dataset folder, or 'synthetic'")->capture_default_str();
  app.add_option("--sampled", sampled, "sampled losses in the panel (besides the 7 examples)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seeds", seeds, "effectiveness fits per loss")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--reward-epochs", reward_epochs, "reward settings compared (epochs of the reward fit)")->delimiter(',')->capture_default_str();
  app.add_option("--effect-epochs", effect_epochs, "most epochs of an effectiveness fit")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--workers", workers, "losses trained at once")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--sample-seed", sample_seed, "seed of the sampled losses")->capture_default_str();
  app.add_option("--json", json_out, "write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  try {
    at::set_num_threads(1);
    const models::Dataset data = data_dir == "synthetic" ? models::synthetic_dataset() : models::load_dataset(data_dir);
    RecTaskConfig config;  // the search's defaults, as losssearch sets them
    config.train.optimizer = "adam";
    config.train.lr = 0.01;

    // The panel.
    std::vector<PanelLoss> panel;
    std::vector<std::vector<double>> fingerprints;
    for (const NamedLoss& b : RecTask(data, config).baselines(std::string(LOSSCC_SOURCE_DIR) + "/examples")) {
      PanelLoss p{b.name, "example", b.source, parse_loss(b.source, b.name + ".loss"), {}, {}, {}, {}, 0};
      fingerprints.push_back(gradient_fingerprint(simplify(p.fn)));
      panel.push_back(std::move(p));
    }
    const SearchSpace space(SearchConfig{}.layers, SearchConfig{}.extended);
    int drawn = 0;
    for (LossFunction& fn : bench::draw_distinct_losses(space, sampled, sample_seed, fingerprints, drawn))
      panel.push_back({fmt::format("sampled-{}", panel.size() - 6), "sampled", to_loss_source(fn), fn, {}, {}, {}, {}, 0});
    fmt::print(stderr, "[bench_reward] {}: panel of {} losses ({} sampled from {} masked draws), {} seeds, {} workers\n",
               data.name, panel.size(), sampled, drawn, seeds, workers);

    // Rewards and effectiveness fits, one loss per worker at a time.
    std::atomic<size_t> next{0}, done{0};
    auto work = [&] {
      for (size_t k; (k = next.fetch_add(1)) < panel.size();) {
        PanelLoss& p = panel[k];
        for (int epochs : reward_epochs) {
          RecTaskConfig c = config;
          c.reward_epochs = epochs;
          c.reward_patience = std::min(config.reward_patience, epochs);
          const auto start = std::chrono::steady_clock::now();
          double reward = std::nan("");
          try {
            reward = scratch_reward(data, p.fn, c).reward;
          } catch (const models::NonFiniteLoss&) {
          }
          p.rewards.push_back(reward);
          p.reward_seconds.push_back(seconds_since(start));
        }
        models::TrainConfig train = config.train;
        train.epochs = effect_epochs;
        train.patience = effect_patience;
        const auto start = std::chrono::steady_clock::now();
        for (int s = 0; s < seeds; ++s) {
          try {
            const models::FitResult fit = fit_from_scratch(data, p.fn, config.model, config.seed + s, train);
            p.test_auc.push_back(fit.test.auc);
            p.valid_auc.push_back(fit.valid.auc);
          } catch (const models::NonFiniteLoss&) {
            p.test_auc.push_back(std::nan(""));
            p.valid_auc.push_back(std::nan(""));
          }
        }
        p.fit_seconds = seconds_since(start);
        fmt::print(stderr, "[bench_reward] {}/{} {}: reward {:.4f}, test AUC {:.4f}\n", ++done, panel.size(), p.name,
                   p.rewards.back(), mean(p.test_auc));
      }
    };
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();

    const nlohmann::json settings = bench::reward_settings(panel, reward_epochs, config.reward_patience);
    nlohmann::json losses = nlohmann::json::array();
    fmt::print("\n{:<12} {:>8} {:>9} {:>9}   {}\n", "loss", "reward", "test AUC", "± std", "expression");
    for (const PanelLoss& p : panel) {
      const double m = mean(p.test_auc);
      double var = 0;
      for (double x : p.test_auc) var += (x - m) * (x - m);
      const double sd = p.test_auc.size() > 1 ? std::sqrt(var / static_cast<double>(p.test_auc.size() - 1)) : 0.0;
      std::string expr = p.origin == "sampled" ? p.source : "(examples/" + p.name + ".loss)";
      std::replace(expr.begin(), expr.end(), '\n', ' ');
      fmt::print("{:<12} {:>8.4f} {:>9.4f} {:>9.4f}   {}\n", p.name, p.rewards.back(), m, sd, expr);
      losses.push_back({{"name", p.name}, {"origin", p.origin}, {"source", p.source}, {"rewards", p.rewards},
                        {"reward_seconds", p.reward_seconds}, {"test_auc", p.test_auc}, {"valid_auc", p.valid_auc},
                        {"test_auc_mean", m}, {"test_auc_std", sd}, {"effectiveness_seconds", p.fit_seconds}});
    }
    if (!json_out.empty()) {
      const nlohmann::json out = {{"benchmark", "reward_spearman"}, {"data", data.name}, {"seeds", seeds},
                                  {"effect_epochs", effect_epochs}, {"effect_patience", effect_patience},
                                  {"workers", workers}, {"sample_seed", sample_seed}, {"drawn", drawn},
                                  {"train", config.train.to_json()}, {"settings", settings}, {"losses", losses}};
      std::ofstream(json_out) << out.dump(2) << "\n";
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_reward: {}\n", e.what());
    return 1;
  }
  return 0;
}
