// Searching one task's loss of a multi-task model: the reward is that task's
// best validation AUC of a from-scratch fit, and the search loop (candidates,
// checkpoint identity) is the recommender search's.
#include "tests/doctest_torch.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "compiler/language/parse.h"
#include "controller/mtl_task.h"
#include "controller/search.h"
#include "models/mtl/sessions.h"

using namespace losscc;
using namespace losscc::search;
namespace mtl = losscc::models::mtl;
namespace fs = std::filesystem;

namespace {

const mtl::MtlDataset& tiny_sessions() {
  static const mtl::MtlDataset data = [] {
    mtl::SyntheticSessionConfig c;
    c.sessions = 200;
    c.items = 40;
    return mtl::synthetic_sessions(c);
  }();
  return data;
}

MtlTaskConfig tiny_config(const std::string& task) {
  MtlTaskConfig c;
  c.task = task;
  c.model = "sharedbottom";
  c.shape.embed_dim = 4;
  c.shape.bottom = {8};
  c.shape.tower = {4};
  c.train.batch = 256;
  return c;
}

}  // namespace

TEST_CASE("a task's reward is its own best validation AUC of a fit from the seed") {
  at::set_num_threads(1);
  const mtl::MtlDataset& data = tiny_sessions();
  const MtlTaskConfig config = tiny_config("pay");
  const LossFunction mse = parse_loss("(pred - label)^2", "mse.loss");

  const EffectFit fit = fit_task_from_scratch(data, config, mse, 5, 3, 3);
  REQUIRE(fit.json.contains("best_epoch"));

  // The same fit by hand: pay's loss is mse, click's bce, model and batches from seed 5.
  mtl::ModelShape shape = config.shape;
  shape.field_sizes = data.field_sizes;
  shape.numerical = static_cast<int64_t>(data.numerical_names.size());
  shape.tasks = data.num_tasks();
  mtl::MtlTrainConfig train = config.train;
  train.seed = 5;
  train.epochs = 3;
  train.patience = 3;
  mtl::MtlTrainer trainer(mtl::make_mtl_model(config.model, shape, 5), data, {mtl::default_task_loss(), mse},
                          config.weighting, train);
  const auto by_hand = trainer.fit();
  const int64_t pay = task_column(data, "pay");
  REQUIRE(pay == 1);
  double best = -1, test_at_best = 0;
  for (const auto& e : by_hand.history)
    if (e.valid.tasks[pay].auc > best) best = e.valid.tasks[pay].auc, test_at_best = e.test.tasks[pay].auc;
  CHECK(fit.valid == doctest::Approx(best).epsilon(1e-12));
  CHECK(fit.test == doctest::Approx(test_at_best).epsilon(1e-12));
  CHECK(fit.json.at("valid").at("auc").get<double>() == fit.valid);

  // The reward the search sees is that validation AUC.
  const CandidateTrainer trainer_fn = mtl_task_trainer(data, config, 5, 3, 3);
  CHECK(trainer_fn(mse).reward == doctest::Approx(best).epsilon(1e-12));
}

TEST_CASE("an unknown task is refused with the tasks named") {
  const mtl::MtlDataset& data = tiny_sessions();
  CHECK_THROWS_WITH_AS(task_column(data, "buy"), doctest::Contains("tasks: click, pay"), std::invalid_argument);
}

TEST_CASE("the loss search runs on a multi-task model's task through the caller's trainer") {
  at::set_num_threads(1);
  const mtl::MtlDataset& data = tiny_sessions();
  const MtlTaskConfig mtl_config = tiny_config("click");
  SearchConfig config;
  config.searcher = "random";
  config.layers = 3;
  config.budget_candidates = 4;
  config.workers = 2;
  config.progress_seconds = 0;
  config.out_dir = (fs::temp_directory_path() / "losscc-controller-test-mtl-task").string();
  fs::remove_all(config.out_dir);

  LossSearch search(config, "synthetic-sessions task click", mtl_task_trainer(data, mtl_config, config.seed, 1, 1));
  search.start(false);
  const std::atomic<bool> never{false};
  CHECK(search.run(never) == LossSearch::Stop::Budget);
  CHECK(search.counters().candidates == 4);
  REQUIRE_FALSE(search.top().empty());
  CHECK(search.top().front().reward > 0.4);
  CHECK(search.top().front().reward <= 1.0);
  std::ifstream state(fs::path(config.out_dir) / "checkpoint" / "state.json");
  CHECK(nlohmann::json::parse(state).at("identity").at("data") == "synthetic-sessions task click");
  // No shared model: nothing but the searcher's tensors in the checkpoint.
  for (const auto& entry : fs::directory_iterator(fs::path(config.out_dir) / "checkpoint"))
    CHECK(entry.path().filename().string().rfind("model-", 0) != 0);

  SearchConfig shared = config;
  shared.reward = "shared";
  CHECK_THROWS_AS(LossSearch(shared, "x", mtl_task_trainer(data, mtl_config, 1, 1, 1)), std::invalid_argument);
}
