// bench_rank_reward: does the ranking search's reward rank losses the way
// full fits do? The ranking counterpart of bench_reward.
//
//   bench_rank_reward --data ../shared/data/MQ2008 --json benchmarks/results/reward-spearman-ranking.json
//
// The panel: the eight ranking examples and --sampled losses drawn by masked
// random search in the ranking space (6 layers, seeded), each passing check()
// and distinct by gradient fingerprint from every loss before it, weak ones
// included. For each loss and each fold: the search's reward (losssearch
// --task rank's: a fresh MLP, at most --reward-epochs epochs, patience 5,
// seed 1, validation NDCG@10 at the best epoch) for every setting, and
// --seeds full fits (the search's effectiveness fits: at most --effect-epochs
// epochs, patience --effect-patience) whose test NDCG@10 (standard
// convention) is the truth. Reported per setting: the Spearman correlation of
// the reward with the truth in each fold (a fold's search sees only its
// reward), their mean and minimum, the pooled one (means over folds), and
// what a reward costs. (loss, fold) pairs run on --workers threads.
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
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
#include "models/ltr/letor.h"
#include "search/rank_task.h"

namespace {

using namespace losscc;
using namespace losscc::search;
using losscc::bench::mean;
using losscc::bench::seconds_since;
using losscc::bench::median;
using losscc::bench::pearson;
using losscc::bench::spearman;

struct PanelLoss {
  std::string name, origin, source;
  LossFunction fn;
  // [setting][fold]; NaN: diverged. [fold][seed]; NaN: the fit failed.
  std::vector<std::vector<double>> rewards, reward_seconds;
  std::vector<std::vector<double>> test_ndcg;
  double fit_seconds = 0;
};

// The reward as the search ranks it: a diverged fit gets the minimum (0).
double reward_or_zero(double r) { return std::isfinite(r) ? r : 0.0; }
// A failed full fit counts as NDCG 0.
double mean_or_zero(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += std::isfinite(x) ? x : 0.0;
  return sum / static_cast<double>(v.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = std::string(LOSSCC_SOURCE_DIR) + "/../shared/data/MQ2008", json_out;
  std::vector<int> folds = {1, 2, 3, 4, 5}, reward_epochs = {5, 20};
  int sampled = 23, seeds = 3, workers = 2, effect_epochs = 100, effect_patience = 10, layers = 6;
  uint64_t sample_seed = 7;
  CLI::App app{"Spearman correlation between the ranking search's reward and full fits' test NDCG@10"};
  app.add_option("--data", data_dir, "LETOR folder (MQ2008: S1.txt..S5.txt)")->capture_default_str();
  app.add_option("--folds", folds, "folds")->delimiter(',')->capture_default_str();
  app.add_option("--sampled", sampled, "sampled losses in the panel (besides the 8 examples)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seeds", seeds, "full fits per loss and fold")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--reward-epochs", reward_epochs, "reward settings compared (most epochs of the reward fit)")->delimiter(',')->capture_default_str();
  app.add_option("--effect-epochs", effect_epochs, "most epochs of a full fit")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--effect-patience", effect_patience, "patience of a full fit")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--layers", layers, "operator nodes of a sampled loss")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--workers", workers, "(loss, fold) pairs trained at once")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--sample-seed", sample_seed, "seed of the sampled losses")->capture_default_str();
  app.add_option("--json", json_out, "write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  try {
    at::set_num_threads(1);
    std::vector<models::ltr::LtrDataset> data;
    for (int f : folds) data.push_back(models::ltr::load_letor_fold(data_dir, f));
    const RankTaskConfig config;  // losssearch --task rank's defaults: MLP 64-32, Adam 1e-3, 16 queries a step
    const int reward_patience = config.reward_patience;

    // The panel.
    std::vector<PanelLoss> panel;
    std::vector<std::vector<double>> fingerprints;
    for (const NamedLoss& b : RankTask(data[0], config).baselines(std::string(LOSSCC_SOURCE_DIR) + "/examples")) {
      PanelLoss p{b.name, "example", b.source, parse_loss(b.source, b.name + ".loss"), {}, {}, {}, 0};
      fingerprints.push_back(gradient_fingerprint(simplify(p.fn)));
      panel.push_back(std::move(p));
    }
    const size_t examples = panel.size();
    const SearchSpace space(layers, false, true);
    int drawn = 0;
    for (LossFunction& fn : bench::draw_distinct_losses(space, sampled, sample_seed, fingerprints, drawn))
      panel.push_back({fmt::format("sampled-{}", panel.size() - examples + 1), "sampled", to_loss_source(fn), fn,
                       {}, {}, {}, 0});
    for (PanelLoss& p : panel) {
      p.rewards.assign(reward_epochs.size(), std::vector<double>(folds.size(), std::nan("")));
      p.reward_seconds.assign(reward_epochs.size(), std::vector<double>(folds.size(), 0.0));
      p.test_ndcg.assign(folds.size(), std::vector<double>(seeds, std::nan("")));
    }
    fmt::print(stderr, "[bench_rank_reward] panel of {} losses ({} sampled from {} masked draws), {} folds x {} seeds, "
               "{} workers\n", panel.size(), sampled, drawn, folds.size(), seeds, workers);

    // Rewards and full fits, one (loss, fold) pair per worker at a time.
    const size_t items = panel.size() * folds.size();
    std::atomic<size_t> next{0}, done{0};
    std::vector<double> fit_seconds(items, 0.0);
    auto work = [&] {
      for (size_t k; (k = next.fetch_add(1)) < items;) {
        PanelLoss& p = panel[k / folds.size()];
        const size_t f = k % folds.size();
        for (size_t r = 0; r < reward_epochs.size(); ++r) {
          const auto start = std::chrono::steady_clock::now();
          try {
            const auto fit = fit_ranker(data[f], config, p.fn, reward_epochs[r],
                                        std::min(reward_patience, reward_epochs[r]), config.train.seed);
            if (fit.best_epoch > 0) p.rewards[r][f] = fit.valid.standard.ndcg.at(10);
          } catch (const models::NonFiniteLoss&) {
          }
          p.reward_seconds[r][f] = seconds_since(start);
        }
        const auto start = std::chrono::steady_clock::now();
        for (int s = 0; s < seeds; ++s) {
          try {
            const auto fit = fit_ranker(data[f], config, p.fn, effect_epochs, effect_patience, config.train.seed + s);
            p.test_ndcg[f][s] = fit.test.standard.ndcg.at(10);
          } catch (const models::NonFiniteLoss&) {
          }
        }
        fit_seconds[k] = seconds_since(start);
        fmt::print(stderr, "[bench_rank_reward] {}/{} {} fold {}: reward {:.4f}, test NDCG@10 {:.4f}\n", ++done, items,
                   p.name, folds[f], p.rewards.back()[f], mean_or_zero(p.test_ndcg[f]));
      }
    };
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
    for (size_t k = 0; k < items; ++k) panel[k / folds.size()].fit_seconds += fit_seconds[k];

    nlohmann::json settings = nlohmann::json::array();
    fmt::print("{:>14} {:>14} {:>14} {:>10} {:>10} {:>16}\n", "reward epochs", "mean fold rho", "min fold rho",
               "pooled rho", "pearson", "median cost s");
    for (size_t r = 0; r < reward_epochs.size(); ++r) {
      std::vector<double> per_fold;
      for (size_t f = 0; f < folds.size(); ++f) {
        std::vector<double> reward, truth;
        for (const PanelLoss& p : panel) {
          reward.push_back(reward_or_zero(p.rewards[r][f]));
          truth.push_back(mean_or_zero(p.test_ndcg[f]));
        }
        per_fold.push_back(spearman(reward, truth));
      }
      std::vector<double> reward, truth, cost;
      for (const PanelLoss& p : panel) {
        std::vector<double> rf, tf;
        for (size_t f = 0; f < folds.size(); ++f) {
          rf.push_back(reward_or_zero(p.rewards[r][f]));
          tf.push_back(mean_or_zero(p.test_ndcg[f]));
          cost.push_back(p.reward_seconds[r][f]);
        }
        reward.push_back(mean(rf));
        truth.push_back(mean(tf));
      }
      const double pooled = spearman(reward, truth), pr = pearson(reward, truth);
      const double min_fold = *std::min_element(per_fold.begin(), per_fold.end());
      fmt::print("{:>14} {:>14.3f} {:>14.3f} {:>10.3f} {:>10.3f} {:>16.2f}\n", reward_epochs[r], mean(per_fold),
                 min_fold, pooled, pr, median(cost));
      settings.push_back({{"reward_epochs", reward_epochs[r]},
                          {"reward_patience", std::min(reward_patience, reward_epochs[r])},
                          {"spearman_per_fold", per_fold}, {"spearman_fold_mean", mean(per_fold)},
                          {"spearman_fold_min", min_fold}, {"spearman_pooled", pooled}, {"pearson_pooled", pr},
                          {"median_reward_seconds", median(cost)}});
    }
    nlohmann::json losses = nlohmann::json::array();
    fmt::print("\n{:<12} {:>8} {:>9}   {}\n", "loss", "reward", "test NDCG", "expression");
    for (const PanelLoss& p : panel) {
      std::vector<double> rf, tf;
      for (size_t f = 0; f < folds.size(); ++f) {
        rf.push_back(reward_or_zero(p.rewards.back()[f]));
        tf.push_back(mean_or_zero(p.test_ndcg[f]));
      }
      std::string expr = p.origin == "sampled" ? p.source : "(examples/" + p.name + ".loss)";
      std::replace(expr.begin(), expr.end(), '\n', ' ');
      fmt::print("{:<12} {:>8.4f} {:>9.4f}   {}\n", p.name, mean(rf), mean(tf), expr);
      losses.push_back({{"name", p.name}, {"origin", p.origin}, {"source", p.source}, {"rewards", p.rewards},
                        {"reward_seconds", p.reward_seconds}, {"test_ndcg@10", p.test_ndcg},
                        {"test_ndcg@10_mean", mean(tf)}, {"full_fit_seconds", p.fit_seconds}});
    }
    if (!json_out.empty()) {
      const nlohmann::json out = {{"benchmark", "rank_reward_spearman"}, {"data", data_dir}, {"folds", folds},
                                  {"seeds", seeds}, {"effect_epochs", effect_epochs},
                                  {"effect_patience", effect_patience}, {"layers", layers}, {"workers", workers},
                                  {"sample_seed", sample_seed}, {"drawn", drawn},
                                  {"train", config.train.to_json()}, {"settings", settings}, {"losses", losses}};
      std::ofstream(json_out) << out.dump(2) << "\n";
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_rank_reward: {}\n", e.what());
    return 1;
  }
  return 0;
}
