#include "models/rec/data/synthetic.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

namespace losscc::models {

namespace {

enum class Split { Train, Valid, Test };

// AutoLossGen/NCR's leave-out split of one user's time-ordered labels: the
// rows from the last positive to the end go to test, the rows from the
// positive before it up to there go to validation, the rest to train. Users
// with fewer than `min_rows` rows (or fewer than two positives) stay in train.
std::vector<Split> leave_last_positives_out(const std::vector<float>& labels, size_t min_rows = 5) {
  std::vector<Split> split(labels.size(), Split::Train);
  if (labels.size() < min_rows) return split;
  std::vector<size_t> positives;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] > 0.5f) positives.push_back(i);
  if (positives.size() < 2) return split;
  const size_t last = positives.back(), second = positives[positives.size() - 2];
  for (size_t i = second; i < labels.size(); ++i) split[i] = i < last ? Split::Valid : Split::Test;
  return split;
}

// Rows of one split, accumulated as plain vectors.
struct Rows {
  std::vector<int64_t> users, items;
  std::vector<float> labels;
  Interactions to_tensors() const {
    return {at::tensor(users, at::kLong), at::tensor(items, at::kLong), at::tensor(labels, at::kFloat)};
  }
};

// The portable part of <random>: mt19937_64's output is specified by the
// standard, the distributions are not, so the draws below are spelled out.
class Draw {
 public:
  explicit Draw(uint64_t seed) : rng_(seed) {}
  double uniform() { return (rng_() >> 11) * 0x1.0p-53; }  // [0, 1)
  int64_t below(int64_t n) { return static_cast<int64_t>(rng_() % static_cast<uint64_t>(n)); }
  double normal() {  // Box-Muller
    double u = 1.0 - uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
  }

 private:
  std::mt19937_64 rng_;
};

std::vector<std::vector<double>> factors(Draw& draw, int64_t count, int rank) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(rank));
  std::vector<std::vector<double>> out(count, std::vector<double>(rank));
  for (auto& row : out)
    for (double& x : row) x = scale * draw.normal();
  return out;
}

}  // namespace

Dataset synthetic_dataset(const SyntheticConfig& config) {
  if (config.users < 1 || config.items < 1 || config.rank < 1 || config.min_per_user < 1 ||
      config.max_per_user < config.min_per_user || config.max_per_user > config.items)
    throw std::invalid_argument(
        "synthetic_dataset: need users, items, rank >= 1 and 1 <= min_per_user <= max_per_user <= items");
  Draw draw(config.seed);
  const auto user_factors = factors(draw, config.users, config.rank);
  const auto item_factors = factors(draw, config.items, config.rank);
  std::vector<double> user_bias(config.users), item_bias(config.items);
  for (double& b : user_bias) b = config.bias_std * draw.normal();
  for (double& b : item_bias) b = config.bias_std * draw.normal();

  Rows train, valid, test;
  std::array<Rows*, 3> by_split = {&train, &valid, &test};
  std::vector<int64_t> catalogue(config.items);
  for (int64_t u = 0; u < config.users; ++u) {
    // A random time order of distinct items: a partial Fisher-Yates shuffle.
    const int64_t count = config.min_per_user + draw.below(config.max_per_user - config.min_per_user + 1);
    std::iota(catalogue.begin(), catalogue.end(), 0);
    std::vector<float> labels(count);
    for (int64_t k = 0; k < count; ++k) {
      std::swap(catalogue[k], catalogue[k + draw.below(config.items - k)]);
      const int64_t i = catalogue[k];
      double dot = 0;
      for (int r = 0; r < config.rank; ++r) dot += user_factors[u][r] * item_factors[i][r];
      const double logit = config.signal * dot + user_bias[u] + item_bias[i] + config.label_bias;
      labels[k] = draw.uniform() < 1.0 / (1.0 + std::exp(-logit)) ? 1.0f : 0.0f;
    }
    const std::vector<Split> split = leave_last_positives_out(labels);
    for (int64_t k = 0; k < count; ++k) {
      Rows& rows = *by_split[static_cast<size_t>(split[k])];
      rows.users.push_back(u);
      rows.items.push_back(catalogue[k]);
      rows.labels.push_back(labels[k]);
    }
  }

  Dataset data;
  data.name = "synthetic";
  data.num_users = config.users;
  data.num_items = config.items;
  data.train = train.to_tensors();
  data.valid = valid.to_tensors();
  data.test = test.to_tensors();
  return data;
}

}  // namespace losscc::models
