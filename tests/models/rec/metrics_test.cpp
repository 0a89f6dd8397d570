#include "tests/doctest_torch.h"

#include <cmath>

#include "models/metrics.h"

using losscc::models::compute_metrics;

TEST_CASE("AUC by hand, with ties counted half") {
  // Positives at 0.8 and 0.4; negatives at 0.4, 0.2. Pairs (pos, neg):
  // (0.8,0.4)=1 (0.8,0.2)=1 (0.4,0.4)=0.5 (0.4,0.2)=1 → 3.5/4.
  const at::Tensor prob = at::tensor({0.8, 0.4, 0.4, 0.2});
  const at::Tensor label = at::tensor({1.0, 1.0, 0.0, 0.0});
  CHECK(compute_metrics(prob, label).auc == doctest::Approx(0.875));
  // Everything tied: 0.5. Perfectly reversed: 0.
  CHECK(compute_metrics(at::full({4}, 0.3), label).auc == doctest::Approx(0.5));
  CHECK(compute_metrics(at::tensor({0.1, 0.2, 0.3, 0.4}), label).auc == doctest::Approx(0.0));
  // One class only: undefined.
  CHECK(std::isnan(compute_metrics(prob, at::ones({4})).auc));
}

TEST_CASE("logloss, RMSE and MAE by hand; logloss clips at 1e-15") {
  const at::Tensor prob = at::tensor({0.9, 0.2, 0.5, 0.6});
  const at::Tensor label = at::tensor({1.0, 0.0, 1.0, 0.0});
  const auto m = compute_metrics(prob, label);
  CHECK(m.logloss == doctest::Approx(-(std::log(0.9) + std::log(0.8) + std::log(0.5) + std::log(0.4)) / 4));
  CHECK(m.rmse == doctest::Approx(std::sqrt((0.01 + 0.04 + 0.25 + 0.36) / 4)));
  CHECK(m.mae == doctest::Approx((0.1 + 0.2 + 0.5 + 0.6) / 4));
  // A confident miss costs -log(1e-15), not infinity.
  const auto clipped = compute_metrics(at::tensor({0.0, 1.0}), at::tensor({1.0, 1.0}));
  CHECK(clipped.logloss == doctest::Approx(-std::log(1e-15) / 2).epsilon(1e-6));
  CHECK(clipped.auc != clipped.auc);  // NaN: one class
  const auto json = m.to_json();
  CHECK(json.at("auc").get<double>() == doctest::Approx(m.auc));
  CHECK(json.contains("logloss"));
}
