// lossrank-search: searches for a ranking loss (the RL controller or random
// search over the ranking space, controller/space/search_space.h), rewarding
// each candidate with the validation NDCG@10 (standard convention) of a
// from-scratch fit on one LETOR fold, then compares the best losses found
// with the classic ranking losses on that fold.
//
//   lossrank-search --data ../shared/data/MQ2008 --fold 1 --budget-minutes 10 --out search-ltr
//   lossrank-search --synthetic --budget-candidates 50 --out /tmp/s   # quick
//
// Output, as losssearch's: candidates.jsonl, best.loss, checkpoint/, the
// top-k as found-K.loss, and summary.json with the effectiveness table.
#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compiler/language/parse.h"
#include "compiler/ir/print.h"
#include "controller/atomic_file.h"
#include "controller/effectiveness.h"
#include "controller/rank_task.h"
#include "controller/run_search.h"
#include "controller/search.h"
#include "models/ltr/ltr_trainer.h"
#include "models/tools/run_tool.h"

namespace {

using namespace losscc;
using namespace losscc::search;
using namespace losscc::models::ltr;
namespace fs = std::filesystem;

using models::kUsageError;
constexpr int kInterrupted = 130;

const char* const kClassicLosses[] = {"rank_mse", "ranknet", "rank_hinge", "lambdarank",
                                      "listnet",  "listmle", "approx_ndcg"};

struct Options {
  std::string data;
  int fold = 1;
  bool synthetic = false;
  std::string examples = LOSSCC_EXAMPLES_DIR;
  bool resume = false;
  int threads = 1;
  RankTaskConfig task;
  SearchConfig search;
};

int run(Options opt, const std::string& resume_line) {
  if (opt.threads > 0) at::set_num_threads(opt.threads);
  const LtrDataset data = opt.synthetic ? synthetic_ltr() : load_letor_fold(opt.data, opt.fold);
  std::vector<NamedLoss> baselines;
  for (const char* name : kClassicLosses) {
    const std::string path = (fs::path(opt.examples) / (std::string(name) + ".loss")).string();
    baselines.push_back({name, "baseline", to_loss_source(parse_loss_file(path))});
  }
  SearchConfig& config = opt.search;
  const RankTaskConfig& task = opt.task;
  config.ranking_identity = task.identity(data.name);
  fmt::print(stderr, "[lossrank-search] {}: {} train queries; searcher {}, {} layers{}, reward: valid NDCG@10 of a "
             "{} fit (at most {} epochs), out {}\n", data.name, data.train.queries(), config.searcher, config.layers,
             config.extended ? " (extended ops)" : "", task.model, task.reward_epochs, config.out_dir);

  // The search never sees the ranking data: its candidates train through this trainer.
  LossSearch search(config, data.name, rank_task_trainer(data, task));
  if (!run_to_budget(search, opt.resume, "lossrank-search", resume_line)) return kInterrupted;

  const fs::path out(config.out_dir);
  std::vector<NamedLoss> losses = write_found_losses(search, config.out_dir, "lossrank-search", "validation NDCG@10");
  losses.insert(losses.end(), baselines.begin(), baselines.end());

  // The effectiveness test on this fold: every loss trains to convergence.
  fmt::print(stderr, "[lossrank-search] effectiveness test: {} losses, at most {} epochs each\n", losses.size(),
             task.train.epochs);
  const auto print_row = [](const nlohmann::json& row) {
    if (!row.contains("fit")) {
      fmt::print(stderr, "[lossrank-search]   {:<12} {}\n", row.at("name").get<std::string>(),
                 row.value("error", std::string("?")));
      return;
    }
    const nlohmann::json& f = row.at("fit");
    fmt::print(stderr, "[lossrank-search]   {:<12} valid ndcg@10 {:.4f}  test ndcg@10 {:.4f} standard, {:.4f} letor\n",
               row.at("name").get<std::string>(), f.at("valid").at("standard").at("ndcg@10").get<double>(),
               f.at("test").at("standard").at("ndcg@10").get<double>(),
               f.at("test").at("letor").at("ndcg@10").get<double>());
  };
  const nlohmann::json rows =
      rank_task_effectiveness(data, task, losses, task.train.seed, 1,
                              {config.progress_seconds > 0 ? "lossrank-search" : "", print_row}, interrupted());
  nlohmann::json summary = {
      {"data", data.name},      {"model", task.model},
      {"shape", task.shape.to_json()}, {"train", task.train.to_json()},
      {"searcher", config.searcher}, {"layers", config.layers},
      {"extended", config.extended}, {"seed", config.seed},
      {"reward", "validation NDCG@10 (standard) of a from-scratch fit"},
      {"reward_epochs", task.reward_epochs}, {"reward_patience", task.reward_patience},
      {"search", search.counters().to_json()}, {"effectiveness", rows},
  };
  write_file_atomically((out / "summary.json").string(), summary.dump(2) + "\n");

  fmt::print("{:<12} {:>8} {:>10} {:>10} {:>10} {:>10}\n", "loss", "search", "valid@10", "test@10", "test@5", "letor@10");
  for (const nlohmann::json& row : rows) {
    if (!row.contains("fit")) continue;
    const nlohmann::json& f = row.at("fit");
    fmt::print("{:<12} {:>8} {:>10.4f} {:>10.4f} {:>10.4f} {:>10.4f}\n", row.at("name").get<std::string>(),
               row.contains("search_reward") ? fmt::format("{:.4f}", row.at("search_reward").get<double>()) : "-",
               f.at("valid").at("standard").at("ndcg@10").get<double>(),
               f.at("test").at("standard").at("ndcg@10").get<double>(),
               f.at("test").at("standard").at("ndcg@5").get<double>(),
               f.at("test").at("letor").at("ndcg@10").get<double>());
  }
  return interrupted().load() ? kInterrupted : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  SearchConfig& s = opt.search;
  s.ranking = true;
  s.policy.mask = false;
  s.layers = 6;
  s.workers = 1;
  CLI::App app{"Search for a ranking loss (RL controller or random search; reward: validation NDCG@10 of a "
               "from-scratch fit), then compare the best with the classic ranking losses"};
  app.add_option("--data", opt.data, "LETOR folder (S1.txt..S5.txt or Fold1/..)")->check(CLI::ExistingDirectory);
  app.add_option("--fold", opt.fold, "the fold searched on (its validation split gives the reward)")
      ->check(CLI::Range(1, 5))->capture_default_str();
  app.add_flag("--synthetic", opt.synthetic, "search on the built-in synthetic ranking set");
  app.add_option("--model", opt.task.model, "scorer")->check(CLI::IsMember(scorer_kinds()))->capture_default_str();
  app.add_option("--hidden", opt.task.shape.hidden, "MLP hidden sizes")->delimiter(',')->capture_default_str();
  auto* minutes = app.add_option("--budget-minutes", s.budget_minutes, "search for this many minutes")
                      ->check(CLI::PositiveNumber);
  auto* candidates = app.add_option("--budget-candidates", s.budget_candidates, "search this many candidates")
                         ->check(CLI::PositiveNumber);
  app.add_option("--searcher", s.searcher, "who proposes candidates")->check(CLI::IsMember(searcher_names()))->capture_default_str();
  app.add_option("--layers", s.layers, "operator nodes per loss")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_flag("--extended", s.extended, "add sigmoid, tanh, relu, abs, guarded sqrt and exp to the operators");
  app.add_option("--seed", s.seed, "seed of the searcher")->capture_default_str();
  app.add_option("--fit-seed", opt.task.train.seed, "seed of every fit (scorer initialisation, query order)")->capture_default_str();
  app.add_option("--out", s.out_dir, "output folder")->capture_default_str();
  app.add_flag("--resume", opt.resume, "continue the search checkpointed in --out");
  app.add_option("--reward-epochs", opt.task.reward_epochs, "most epochs of a reward fit")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--reward-patience", opt.task.reward_patience, "early stopping of a reward fit")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--epochs", opt.task.train.epochs, "most epochs of an effectiveness fit")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--patience", opt.task.train.patience, "early stopping of an effectiveness fit")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", opt.task.train.lr, "Adam learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", opt.task.train.batch, "queries per step")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--workers", s.workers, "candidates trained at once (threads)")
      ->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--num-aggregate", s.reinforce.num_aggregate, "samples per policy update")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--top-k", s.top_k, "found losses kept and compared")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--examples", opt.examples, "folder with the classic ranking .loss files")->capture_default_str();
  app.add_option("--progress-seconds", s.progress_seconds, "seconds between progress lines; 0: none")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--threads", opt.threads, "LibTorch CPU threads; 0: LibTorch's default")->check(CLI::NonNegativeNumber)->capture_default_str();
  try {
    app.parse(argc, argv);
    if (opt.data.empty() == !opt.synthetic)
      throw CLI::ValidationError("--data", "give exactly one of --data DIR and --synthetic");
    if (minutes->count() == 0 && candidates->count() == 0) s.budget_minutes = 10;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "lossrank-search: {}\n", e.what());
    return kUsageError;
  }
  return models::run_reporting_errors("lossrank-search",
                                      [&] { return run(opt, resume_command(argc, argv, opt.resume)); });
}
