// The multi-task training loop: every model and weighting method trains on a
// small synthetic set; runs are a function of the seed; metrics by hand.
#include "tests/doctest_torch.h"

#include <cmath>

#include "compiler/language/parse.h"
#include "models/mtl/mtl_trainer.h"
#include "models/mtl/sessions.h"
#include "tests/models/mtl/tiny_shape.h"

using namespace losscc::models::mtl;
using losscc::models::mtl::testing::tiny_shape;

namespace {

const MtlDataset& tiny_data() {
  static const MtlDataset data = [] {
    SyntheticSessionConfig c;
    c.sessions = 200;
    c.items = 40;
    return synthetic_sessions(c);
  }();
  return data;
}

MtlTrainer::FitResult fit(const std::string& kind, const std::string& method, uint64_t seed, int epochs) {
  const MtlDataset& data = tiny_data();
  WeightingConfig weighting;
  weighting.method = method;
  weighting.rmtl.pretrain_epochs = 1;
  weighting.rmtl.warmup_steps = 5;
  MtlTrainConfig config;
  config.batch = 256;
  config.epochs = epochs;
  config.patience = epochs;
  config.seed = seed;
  MtlTrainer trainer(make_mtl_model(kind, tiny_shape(data), seed), data, {}, weighting, config);
  return trainer.fit();
}

}  // namespace

TEST_CASE("session logloss: the mean of per-session means, by hand") {
  const at::Tensor prob = at::tensor({0.5, 0.5, 0.9});
  const at::Tensor label = at::tensor({1.0, 0.0, 1.0});
  const at::Tensor session = at::tensor({0, 0, 1}, at::kLong);
  CHECK(session_logloss(prob, label, session) == doctest::Approx((std::log(2.0) - std::log(0.9)) / 2));
  const MtlMetrics m = compute_mtl_metrics(prob.view({-1, 1}), label.view({-1, 1}), session);
  CHECK(m.tasks[0].logloss == doctest::Approx((2 * std::log(2.0) - std::log(0.9)) / 3));
  CHECK(m.mean_auc() == doctest::Approx(0.75));
  CHECK(std::isnan(compute_mtl_metrics(prob.view({-1, 1}), label.view({-1, 1}), {}).tasks[0].session_logloss));
}

TEST_CASE("every model with every weighting method trains an epoch on synthetic sessions") {
  for (const std::string& kind : mtl_model_kinds())
    for (const std::string& method : weighting_methods()) {
      if (method == "fixed" || (kind == "single" && method == "gradnorm")) continue;
      CAPTURE(kind);
      CAPTURE(method);
      const auto result = fit(kind, method, 1, method == "rmtl" || method == "dwa" ? 3 : 1);
      CHECK(result.best_epoch >= 1);
      for (const TaskMetrics& t : result.test.tasks) {
        CHECK(t.auc > 0.3);
        CHECK(std::isfinite(t.logloss));
        CHECK(std::isfinite(t.session_logloss));
      }
      if (method == "rmtl") {
        CHECK(result.best_epoch >= 2);  // pretraining epochs are not candidates
        const auto& state = result.history.back().weighting;
        CHECK(state.at("critic_updates").get<int64_t>() > 5);
        for (const auto& w : state.at("weights")) CHECK(w.get<double>() >= 1.0);
      }
    }
}

TEST_CASE("training is a function of the seed") {
  const auto a = fit("mmoe", "rmtl", 3, 2), b = fit("mmoe", "rmtl", 3, 2), c = fit("mmoe", "rmtl", 4, 2);
  for (size_t k = 0; k < 2; ++k) {
    CHECK(a.test.tasks[k].auc == b.test.tasks[k].auc);
    CHECK(a.test.tasks[k].logloss == b.test.tasks[k].logloss);
  }
  CHECK(a.history.back().train_loss == b.history.back().train_loss);
  CHECK(a.history.back().train_loss != c.history.back().train_loss);
}

TEST_CASE("rmtl needs epochs after its pretraining") {
  const MtlDataset& data = tiny_data();
  WeightingConfig weighting;
  weighting.method = "rmtl";
  weighting.rmtl.pretrain_epochs = 2;
  MtlTrainConfig config;
  config.epochs = 2;
  CHECK_THROWS_AS(MtlTrainer(make_mtl_model("mmoe", tiny_shape(data), 1), data, {}, weighting, config),
                  std::invalid_argument);
}

TEST_CASE("a multi-task loss program trains with equal weighting and only with it") {
  const MtlDataset& data = tiny_data();
  const losscc::LossFunction program = losscc::parse_loss_file(LOSSCC_SOURCE_DIR "/examples/mtl_chain.loss");
  MtlTrainConfig config;
  config.epochs = 1;
  config.batch = 128;
  WeightingConfig weighting;
  MtlTrainer trainer(make_mtl_model("sharedbottom", tiny_shape(data), 1), data, std::vector<losscc::LossFunction>{program}, weighting, config);
  const MtlTrainer::FitResult result = trainer.fit();
  CHECK(result.epochs == 1);
  CHECK(std::isfinite(result.test.mean_auc()));
  weighting.method = "uw";
  CHECK_THROWS_WITH_AS(MtlTrainer(make_mtl_model("sharedbottom", tiny_shape(data), 1), data, std::vector<losscc::LossFunction>{program}, weighting, config),
                       doctest::Contains("--weighting equal"), std::invalid_argument);
}

TEST_CASE("a multi-task loss program over the batch trains: every row's loss is the batch's") {
  const MtlDataset& data = tiny_data();
  const losscc::LossFunction program = losscc::parse_loss_file(LOSSCC_SOURCE_DIR "/examples/mtl_loss_ratio.loss");
  MtlTrainConfig config;
  config.epochs = 2;
  config.batch = 100;
  MtlTrainer trainer(make_mtl_model("mmoe", tiny_shape(data), 1), data, std::vector<losscc::LossFunction>{program},
                     WeightingConfig{}, config);
  const MtlTrainer::FitResult result = trainer.fit();
  CHECK(result.epochs == 2);
  CHECK(std::isfinite(result.test.mean_auc()));
  // Each task's loss averages to 1 over every batch, so the program is 2 per batch.
  for (const auto& e : result.history)
    for (double l : e.train_loss) CHECK(l == doctest::Approx(2.0).epsilon(1e-4));
}

TEST_CASE("fit leaves the model at its best validation epoch") {
  const MtlDataset& data = tiny_data();
  MtlTrainConfig config;
  config.batch = 256;
  config.epochs = 3;
  config.patience = 3;
  MtlTrainer trainer(make_mtl_model("ple", tiny_shape(data), 2), data, {}, WeightingConfig{}, config);
  const auto result = trainer.fit();
  const MtlMetrics again = evaluate(trainer.model(), data.valid);
  CHECK(again.tasks[0].auc == doctest::Approx(result.valid.tasks[0].auc));
  CHECK(again.tasks[1].logloss == doctest::Approx(result.valid.tasks[1].logloss));
}
