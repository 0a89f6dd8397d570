// Searching the loss of a multi-task model: one task's loss, whose reward is
// that task's best validation AUC of a from-scratch fit, and the whole
// multi-task loss, whose reward is the best mean validation AUC; the search
// loop (candidates, checkpoint identity) is the recommender search's.
#include "tests/doctest_torch.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/language/parse.h"
#include "compiler/passes/check.h"
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

// A search of 4 candidates on two workers into a fresh temporary folder,
// run to its budget.
void run_tiny_search(MtlTask& task, const std::string& searcher, int layers, const std::string& folder,
                     const std::function<void(const LossSearch&, const fs::path&)>& inspect,
                     bool batch_statistics = false) {
  SearchConfig config;
  config.searcher = searcher;
  config.layers = layers;
  config.batch_statistics = batch_statistics;
  config.budget_candidates = 4;
  config.workers = 2;
  config.progress_seconds = 0;
  config.out_dir = (fs::temp_directory_path() / folder).string();
  fs::remove_all(config.out_dir);
  LossSearch search(config, task);
  search.start(false);
  const std::atomic<bool> never{false};
  CHECK(search.run(never) == LossSearch::Stop::Budget);
  CHECK(search.counters().candidates == 4);
  REQUIRE_FALSE(search.top().empty());
  CHECK(search.top().front().reward > 0.4);
  CHECK(search.top().front().reward <= 1.0);
  inspect(search, config.out_dir);
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
  const auto by_hand = fit_multi_task(data, config, {mtl::default_task_loss(), mse}, 5, 3, 3);
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
  MtlTask task(data, mtl_config);
  run_tiny_search(task, "random", 3, "losscc-search-test-mtl-task", [&](const LossSearch&, const fs::path& out) {
    std::ifstream state(out / "checkpoint" / "state.json");
    const nlohmann::json identity = nlohmann::json::parse(state).at("identity");
    CHECK(identity.at("task") == "mtl");
    CHECK(identity.at("data") == data.name + " task click");
    // No shared model: nothing but the searcher's tensors in the checkpoint.
    for (const auto& entry : fs::directory_iterator(out / "checkpoint"))
      CHECK(entry.path().filename().string().rfind("model-", 0) != 0);
  });
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

// ---- the whole multi-task loss ------------------------------------------------

TEST_CASE("a whole multi-task program's reward is the best mean validation AUC of a fit from the seed") {
  at::set_num_threads(1);
  const mtl::MtlDataset& data = tiny_sessions();
  MtlTaskConfig config = tiny_config("");
  const LossFunction chain = parse_loss_file(LOSSCC_SOURCE_DIR "/examples/mtl_chain.loss");
  const EffectFit fit = fit_program_from_scratch(data, config, chain, 5, 3, 3);

  // The same fit by hand: the program as the model's one loss, equal weights.
  const auto by_hand = fit_multi_task(data, config, {chain}, 5, 3, 3);
  CHECK(fit.valid == doctest::Approx(by_hand.valid.mean_auc()).epsilon(1e-12));
  CHECK(fit.test == doctest::Approx(by_hand.test.mean_auc()).epsilon(1e-12));
  CHECK(fit.json.at("best_epoch") == by_hand.best_epoch);
  CHECK(fit.json.at("valid").at("auc").get<double>() == fit.valid);
  CHECK(fit.json.at("test").at("per_task").at("pay").at("auc").get<double>() == doctest::Approx(by_hand.test.tasks[1].auc));

  MtlTaskConfig reward_config = config;
  reward_config.seed = 5;
  reward_config.reward_epochs = reward_config.reward_patience = 3;
  const MtlTask task(data, reward_config);
  CHECK(task.multi_task_space() == 2);
  CHECK(task.reward_name() == "mean validation AUC");
  CHECK(task.reward(chain, {}).reward == doctest::Approx(fit.valid).epsilon(1e-12));
  std::vector<std::string> baselines;
  for (const NamedLoss& b : task.baselines(LOSSCC_SOURCE_DIR "/examples")) baselines.push_back(b.name);
  CHECK(baselines ==
        std::vector<std::string>{"mtl_equal", "mtl_fixed", "mtl_chain", "mtl_rmtl_closed_form", "mtl_loss_ratio"});
  // One task's search keeps the pointwise space.
  CHECK(MtlTask(data, tiny_config("pay")).multi_task_space() == 0);
}

TEST_CASE("a user's task weights set the whole program's reward and the fit's epoch choice") {
  at::set_num_threads(1);
  const mtl::MtlDataset& data = tiny_sessions();
  MtlTaskConfig config = tiny_config("");
  config.train.auc_weights = {0, 1};  // pay alone
  const LossFunction equal = parse_loss_file(LOSSCC_SOURCE_DIR "/examples/mtl_equal.loss");
  const EffectFit fit = fit_program_from_scratch(data, config, equal, 3, 3, 3);
  const double pay = fit.json.at("valid").at("per_task").at("pay").at("auc").get<double>();
  CHECK(fit.valid == doctest::Approx(pay).epsilon(1e-12));
  // The fit stopped at pay's best validation epoch: the same fit by hand.
  MtlTaskConfig unweighted = config;
  unweighted.train.auc_weights.clear();
  double best = -1;
  for (const auto& e : fit_multi_task(data, unweighted, {equal}, 3, 3, 3).history) best = std::max(best, e.valid.tasks[1].auc);
  CHECK(pay == doctest::Approx(best).epsilon(1e-12));

  for (const std::vector<double>& bad : {std::vector<double>{1}, {0, 0}, {1, -1}}) {
    config.train.auc_weights = bad;
    CHECK_THROWS_AS(fit_program_from_scratch(data, config, equal, 3, 1, 1), std::invalid_argument);
  }
}

TEST_CASE("the loss search runs over whole multi-task programs") {
  at::set_num_threads(1);
  const mtl::MtlDataset& data = tiny_sessions();
  MtlTaskConfig mtl_config = tiny_config("");
  mtl_config.reward_epochs = mtl_config.reward_patience = 1;
  MtlTask task(data, mtl_config);
  run_tiny_search(task, "rl", 6, "losscc-search-test-mtl-program", [&](const LossSearch& search, const fs::path& out) {
    // Every kept candidate is one program over both tasks, and passes the check.
    for (const FoundLoss& found : search.top()) {
      const LossFunction fn = parse_loss(found.source, "found.loss");
      CHECK(fn.inputs.size() == 4);
      CHECK(check(fn).valid);
    }
    std::ifstream state(out / "checkpoint" / "state.json");
    CHECK(nlohmann::json::parse(state).at("identity").at("data") == data.name + " tasks click, pay (one program)");
  });
}

TEST_CASE("a whole-loss search with batch statistics keeps them in its checkpoint's identity") {
  at::set_num_threads(1);
  MtlTaskConfig mtl_config = tiny_config("");
  mtl_config.reward_epochs = mtl_config.reward_patience = 1;
  MtlTask task(tiny_sessions(), mtl_config);
  run_tiny_search(
      task, "random", 6, "losscc-search-test-mtl-batch",
      [&](const LossSearch& search, const fs::path& out) {
        CHECK(search.space().num_leaves() == 11);
        std::ifstream state(out / "checkpoint" / "state.json");
        CHECK(nlohmann::json::parse(state).at("identity").at("batch_statistics") == true);
        // Resuming without the leaves would decode its tokens over other nodes.
        SearchConfig plain = search.config();
        plain.batch_statistics = false;
        LossSearch resumed(plain, task);
        CHECK_THROWS_WITH_AS(resumed.start(true), doctest::Contains("batch_statistics"), std::runtime_error);
      },
      true);
}
