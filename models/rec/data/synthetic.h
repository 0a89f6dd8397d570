// A small implicit-feedback dataset with a known structure, for tests and
// quick searches: every user and item has a planted latent factor vector and
// a bias, and a user likes an item with probability
//
//   sigmoid(signal · <u, v> + b_u + b_i + label_bias),   u, v ~ N(0, I/rank)
//
// Each user meets a random number of distinct items in a random (time) order;
// the rows are split per user like the real data (see dataset.h), so a model
// trained on it is evaluated exactly as on MovieLens. Everything is drawn from
// one seeded generator: the same config gives the same dataset everywhere.
#pragma once

#include <cstdint>

#include "models/rec/data/dataset.h"

namespace losscc::models {

struct SyntheticConfig {
  int64_t users = 300, items = 400;
  int rank = 8;
  uint64_t seed = 1;
  // Interactions per user, uniform in [min, max] (mean 66.5 → ~20k rows).
  int64_t min_per_user = 3, max_per_user = 130;
  double signal = 3.0;      // scale of the factor term in the logit
  double bias_std = 0.5;    // spread of the user and item biases
  double label_bias = 0.2;  // global logit offset (~55% positives)
};

Dataset synthetic_dataset(const SyntheticConfig& config = {});

}  // namespace losscc::models
