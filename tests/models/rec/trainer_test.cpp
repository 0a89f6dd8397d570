#include "tests/doctest_torch.h"

#include <cmath>

#include "compiler/language/parse.h"
#include "models/rec/data/synthetic.h"
#include "models/metrics.h"
#include "models/rec/rec_model.h"
#include "models/rec/trainer.h"

using namespace losscc::models;

namespace {

const Dataset& data() {
  static const Dataset d = synthetic_dataset();
  return d;
}

const losscc::LossFunction& bce() {
  static const losscc::LossFunction fn =
      losscc::parse_loss("-(label * log(pred) + (1 - label) * log(1 - pred))", "bce.loss");
  return fn;
}

TrainConfig quick_config() {
  TrainConfig config;
  config.optimizer = "adam";
  config.lr = 0.01;
  config.epochs = 3;
  return config;
}

Trainer::FitResult fit_once(const std::string& kind, uint64_t seed) {
  TrainConfig config = quick_config();
  config.seed = seed;
  Trainer trainer(make_model(kind, data().num_users, data().num_items, seed), bce(), config);
  return trainer.fit(data());
}

}  // namespace

TEST_CASE("training on synthetic data beats the untrained model") {
  for (const std::string kind : {"biasedmf", "deepmodel"}) {
    CAPTURE(kind);
    auto model = make_model(kind, data().num_users, data().num_items, 1);
    const double untrained = evaluate(*model, data().valid).auc;
    TrainConfig config = quick_config();
    config.epochs = 8;  // N(0,1) 64-d embeddings need a few epochs of l2 to shrink
    Trainer trainer(model, bce(), config);
    const Trainer::FitResult result = trainer.fit(data());
    MESSAGE(kind << ": valid AUC " << untrained << " → " << result.valid.auc);
    CHECK(result.valid.auc > untrained + 0.05);
    CHECK(result.valid.auc > 0.58);
    CHECK(result.epochs == 8);
    CHECK(result.history.size() == 8);
    // fit() leaves the model at its best epoch.
    CHECK(evaluate(trainer.model(), data().valid).auc == doctest::Approx(result.valid.auc));
    CHECK(result.to_json().at("test").contains("auc"));
  }
}

TEST_CASE("the same seed gives the same metrics; another seed does not") {
  const auto a = fit_once("biasedmf", 5), b = fit_once("biasedmf", 5), c = fit_once("biasedmf", 6);
  CHECK(a.valid.auc == b.valid.auc);
  CHECK(a.test.logloss == b.test.logloss);
  CHECK(a.history.back().train_loss == b.history.back().train_loss);
  CHECK(a.history.back().train_loss != c.history.back().train_loss);
}

TEST_CASE("train_steps continues through the epoch; clone_model copies parameters") {
  auto model = make_model("biasedmf", data().num_users, data().num_items, 3);
  auto copy = model->clone_model();
  Trainer trainer(model, bce(), quick_config());
  CHECK(std::isfinite(trainer.train_steps(data().train, 5)));
  // The clone is a deep copy: training the original left it unchanged.
  const auto before = evaluate(*copy, data().valid), after = evaluate(*model, data().valid);
  CHECK(before.logloss != after.logloss);
  CHECK(std::isfinite(trainer.train_epoch(data().train)));
}

TEST_CASE("a loss that is not finite throws NonFiniteLoss; unusable losses are rejected") {
  const auto nan_loss = losscc::parse_loss("log(pred - 2) * label", "nan.loss");
  Trainer trainer(make_model("biasedmf", data().num_users, data().num_items, 1), nan_loss, quick_config());
  CHECK_THROWS_AS(trainer.train_steps(data().train, 1), NonFiniteLoss);

  const auto bpr = losscc::parse_loss("input pos: real\ninput neg: real\nsoftplus(neg - pos)", "bpr.loss");
  CHECK_THROWS_AS(Trainer(make_model("biasedmf", 3, 3, 1), bpr, TrainConfig{}), std::invalid_argument);
  TrainConfig bad;
  bad.optimizer = "rmsprop";
  CHECK_THROWS_AS(Trainer(make_model("biasedmf", 3, 3, 1), bce(), bad), std::invalid_argument);
  CHECK_THROWS_AS(make_model("transformer", 3, 3, 1), std::invalid_argument);
}
