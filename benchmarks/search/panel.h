// The reward studies' panels (bench_reward, bench_rank_reward): losses drawn
// as the search meets them, weak ones included.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "compiler/passes/check.h"
#include "compiler/passes/fingerprint.h"
#include "compiler/passes/simplify.h"
#include "search/space/viable_tokens.h"

namespace losscc::bench {

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

}  // namespace losscc::bench
