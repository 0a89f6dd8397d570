// Searching one task's loss of a multi-task model: the reward is that task's
// best validation AUC of a from-scratch fit, and the search loop (candidates,
// checkpoint identity) is the recommender search's.
#include "tests/doctest_torch.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/language/parse.h"
#include "models/mtl/sessions.h"
#include "search/mtl_task.h"
#include "search/search.h"
#include "tests/search/concurrent_rewards.h"

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
  MtlTaskConfig reward_config = config;
  reward_config.seed = 5;
  reward_config.reward_epochs = reward_config.reward_patience = 3;
  const MtlTask task(data, reward_config);
  CHECK(task.reward(mse, {}).reward == doctest::Approx(best).epsilon(1e-12));
}

TEST_CASE("an unknown task is refused with the tasks named") {
  const mtl::MtlDataset& data = tiny_sessions();
  CHECK_THROWS_WITH_AS(task_column(data, "buy"), doctest::Contains("tasks: click, pay"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(MtlTask(data, tiny_config("buy")), doctest::Contains("tasks: click, pay"),
                       std::invalid_argument);
}

TEST_CASE("the loss search runs on a multi-task model's task") {
  at::set_num_threads(1);
  const mtl::MtlDataset& data = tiny_sessions();
  MtlTaskConfig mtl_config = tiny_config("click");
  mtl_config.reward_epochs = mtl_config.reward_patience = 1;
  SearchConfig config;
  config.searcher = "random";
  config.layers = 3;
  config.budget_candidates = 4;
  config.workers = 2;
  config.progress_seconds = 0;
  config.out_dir = (fs::temp_directory_path() / "losscc-search-test-mtl-task").string();
  fs::remove_all(config.out_dir);

  MtlTask task(data, mtl_config);
  LossSearch search(config, task);
  search.start(false);
  const std::atomic<bool> never{false};
  CHECK(search.run(never) == LossSearch::Stop::Budget);
  CHECK(search.counters().candidates == 4);
  REQUIRE_FALSE(search.top().empty());
  CHECK(search.top().front().reward > 0.4);
  CHECK(search.top().front().reward <= 1.0);
  std::ifstream state(fs::path(config.out_dir) / "checkpoint" / "state.json");
  const nlohmann::json identity = nlohmann::json::parse(state).at("identity");
  CHECK(identity.at("task") == "mtl");
  CHECK(identity.at("data") == data.name + " task click");
  // No shared model: nothing but the searcher's tensors in the checkpoint.
  for (const auto& entry : fs::directory_iterator(fs::path(config.out_dir) / "checkpoint"))
    CHECK(entry.path().filename().string().rfind("model-", 0) != 0);
}

TEST_CASE("multi-task fits on two threads at once give what they give one at a time") {
  // Each model draws its dropout masks from its own generator: concurrent
  // fits used to draw from LibTorch's global one and change each other's.
  at::set_num_threads(1);
  const mtl::MtlDataset& data = tiny_sessions();
  MtlTaskConfig config = tiny_config("click");
  config.shape.dropout = 0.3;
  config.reward_epochs = config.reward_patience = 2;
  const MtlTask task(data, config);
  const auto rewards = testing::rewards_alone_and_together(task);
  CHECK(rewards.second == rewards.first);
}
