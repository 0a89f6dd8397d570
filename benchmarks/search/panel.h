// The reward studies' panels (bench_reward, bench_rank_reward): losses drawn
// as the search meets them, weak ones included.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "benchmarks/common/stats.h"

#include "compiler/passes/check.h"
#include "compiler/passes/fingerprint.h"
#include "compiler/passes/simplify.h"
#include "search/space/viable_tokens.h"

namespace losscc::bench {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// `count` losses drawn by masked random search in `space` from `seed`, each
// passing check() with a finite, not all-zero gradient fingerprint that no
// loss before it (`fingerprints`, which each one joins) shares. `drawn`
// counts the draws.
inline std::vector<LossFunction> draw_distinct_losses(const search::SearchSpace& space, int count, uint64_t seed,
                                                      std::vector<std::vector<double>>& fingerprints, int& drawn) {
  search::ViableTokens viable(space);
  std::mt19937_64 rng(seed);
  std::vector<LossFunction> out;
  while (static_cast<int>(out.size()) < count) {
    ++drawn;
    LossFunction fn = simplify(search::decode(space, search::sample_viable(viable, space, rng)));
    if (!check(fn).valid) continue;
    const std::vector<double> fp = gradient_fingerprint(fn);
    if (std::any_of(fp.begin(), fp.end(), [](double g) { return !std::isfinite(g); }) ||
        std::all_of(fp.begin(), fp.end(), [](double g) { return g == 0; }) ||
        std::any_of(fingerprints.begin(), fingerprints.end(), [&](const auto& f) { return same_fingerprint(f, fp); }))
      continue;
    fingerprints.push_back(fp);
    out.push_back(std::move(fn));
  }
  return out;
}

// The studies' verdict, per reward setting r (reward_epochs[r], patience
// min(patience, epochs)): the Spearman and Pearson correlation of the panel's
// rewards[r] with its mean test AUC, and the median reward cost, printed as a
// table and returned as JSON rows. A rejected or diverged reward (NaN) ranks
// below every measured one, as the search gives it the minimum reward; a
// failed fit counts as chance (AUC 0.5). `Loss` has rewards, reward_seconds
// and test_auc (per seed).
template <typename Loss>
nlohmann::json reward_settings(const std::vector<Loss>& panel, const std::vector<int>& reward_epochs, int patience) {
  std::vector<double> truth;
  for (const Loss& p : panel) {
    const double m = mean(p.test_auc);
    truth.push_back(std::isfinite(m) ? m : 0.5);
  }
  nlohmann::json settings = nlohmann::json::array();
  fmt::print("{:>14} {:>10} {:>10} {:>16}\n", "reward epochs", "spearman", "pearson", "median cost s");
  for (size_t r = 0; r < reward_epochs.size(); ++r) {
    std::vector<double> reward, cost;
    for (const Loss& p : panel) {
      reward.push_back(std::isfinite(p.rewards[r]) ? p.rewards[r] : 0.0);
      cost.push_back(p.reward_seconds[r]);
    }
    const double rho = spearman(reward, truth), pr = pearson(reward, truth);
    fmt::print("{:>14} {:>10.3f} {:>10.3f} {:>16.2f}\n", reward_epochs[r], rho, pr, median(cost));
    settings.push_back({{"reward_epochs", reward_epochs[r]}, {"reward_patience", std::min(patience, reward_epochs[r])},
                        {"spearman", rho}, {"pearson", pr}, {"median_reward_seconds", median(cost)}});
  }
  return settings;
}

}  // namespace losscc::bench
