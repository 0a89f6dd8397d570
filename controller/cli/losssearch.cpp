// losssearch: searches for a loss function (AutoLossGen's RL controller or
// random search), then compares the best losses found with the classic ones.
//
//   losssearch --data ../shared/data/ml100k01-1-5 --budget-minutes 30 --out search-ml100k
//   losssearch --budget-candidates 200                 # synthetic data, quick
//   losssearch --out search-ml100k --data ... --resume  # after Ctrl-C or a kill
//   losssearch --mtl-task income --data ../shared/data/census-income  # one task's loss of an MMoE
#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compiler/language/parse.h"
#include "controller/atomic_file.h"
#include "controller/effectiveness.h"
#include "controller/mtl_task.h"
#include "controller/run_search.h"
#include "controller/search.h"
#include "models/data/load_dataset.h"
#include "models/data/synthetic.h"
#include "models/mtl/load.h"
#include "models/tools/run_tool.h"

namespace {

using namespace losscc;
using namespace losscc::search;
namespace fs = std::filesystem;

using models::kUsageError;
constexpr int kInterrupted = 130;  // 128 + SIGINT, as shells report it

struct Options {
  std::string data;
  std::string examples = LOSSCC_EXAMPLES_DIR;
  bool resume = false;
  int effect_epochs = 20;
  int effect_patience = 5;
  int threads = 1;
  int effect_seeds = 3;
  bool no_baselines = false;
  SearchConfig search;
  MtlTaskConfig mtl;  // mtl.task set: search that task's loss of a multi-task model
};

// What the search trains candidates on, and how the effectiveness test
// fits a loss: a recommender (--data's ratings) or one task of a multi-task
// model (--mtl-task, --data's census-income file or sessions).
struct Target {
  models::Dataset rec;
  models::mtl::MtlDataset mtl;
  std::string name;
};

int run(const Options& opt, const std::string& resume_line) {
  if (opt.threads > 0) at::set_num_threads(opt.threads);
  const bool multi_task = !opt.mtl.task.empty();
  Target target;
  if (multi_task) {
    target.mtl = models::mtl::load_mtl_data(opt.data).data;
    task_column(target.mtl, opt.mtl.task);  // an unknown task fails before the search
    target.name = fmt::format("{} task {}", target.mtl.name, opt.mtl.task);
  } else {
    target.rec = opt.data.empty() ? models::synthetic_dataset() : models::load_dataset(opt.data);
    target.name = target.rec.name;
  }
  // Fail on a missing baseline before spending the search budget.
  const std::vector<NamedLoss> baselines = opt.no_baselines ? std::vector<NamedLoss>{} : baseline_losses(opt.examples);
  const SearchConfig& config = opt.search;
  if (multi_task)
    fmt::print(stderr, "[losssearch] {}: {} model, {} train rows; searcher {}, {} layers{}, out {}\n", target.name,
               opt.mtl.model, target.mtl.train.size(), config.searcher, config.layers,
               config.extended ? " (extended ops)" : "", config.out_dir);
  else
    fmt::print(stderr, "[losssearch] {}: {} users, {} items, {} train rows; searcher {}, {} layers{}, out {}\n",
               target.name, target.rec.num_users, target.rec.num_items, target.rec.train.size(), config.searcher,
               config.layers, config.extended ? " (extended ops)" : "", config.out_dir);

  const std::unique_ptr<LossSearch> search_ptr =
      multi_task ? std::make_unique<LossSearch>(config, target.name,
                                                mtl_task_trainer(target.mtl, opt.mtl, config.seed,
                                                                 config.reward_epochs, config.reward_patience))
                 : std::make_unique<LossSearch>(config, target.rec);
  LossSearch& search = *search_ptr;
  if (!run_to_budget(search, opt.resume, "losssearch", resume_line)) return kInterrupted;

  // The top-k as .loss files, then the effectiveness test.
  const fs::path out(config.out_dir);
  std::vector<NamedLoss> losses = write_found_losses(search, config.out_dir, "losssearch", "validation AUC");
  losses.insert(losses.end(), baselines.begin(), baselines.end());

  const int effect_epochs = multi_task ? opt.mtl.train.epochs : opt.effect_epochs;
  fmt::print(stderr, "[losssearch] effectiveness test: {} losses × {} seeds, at most {} epochs each\n",
             losses.size(), opt.effect_seeds, effect_epochs);
  const auto print_row = [](const nlohmann::json& row) {
    const bool ok = row.contains("fit");
    fmt::print(stderr, "[losssearch]   {:<9} {}\n", row.at("name").get<std::string>(),
               ok ? fmt::format("test AUC {:.4f} ± {:.4f}", row.at("test_auc_mean").get<double>(),
                                row.at("test_auc_std").get<double>())
                  : row.value("error", std::string("?")));
  };
  const EffectProgress progress{config.progress_seconds > 0 ? "losssearch" : "", print_row};
  EffectivenessConfig effect;
  effect.model_kind = config.model_kind;
  effect.seed = config.seed;
  effect.seeds = opt.effect_seeds;
  effect.train = config.train;
  effect.train.epochs = opt.effect_epochs;
  effect.train.patience = opt.effect_patience;
  const nlohmann::json rows =
      multi_task ? mtl_task_effectiveness(target.mtl, opt.mtl, losses, config.seed, opt.effect_seeds, progress,
                                          interrupted())
                 : effectiveness_test(target.rec, losses, effect, progress, interrupted());

  nlohmann::json summary = {
      {"data", target.name},
      {"model", config.model_kind},
      {"searcher", config.searcher},
      {"layers", config.layers},
      {"extended", config.extended},
      {"seed", config.seed},
      {"reward", config.reward},
      {"reward_epochs", config.reward_epochs},
      {"reward_patience", config.reward_patience},
      {"workers", config.workers},
      {"mask", config.policy.mask},
      {"candidate_steps", config.candidate_steps},
      {"search", search.counters().to_json()},
      {"effectiveness_epochs", effect_epochs},
      {"effectiveness_seeds", opt.effect_seeds},
      {"train", multi_task ? opt.mtl.train.to_json() : effect.train.to_json()},
      {"effectiveness", rows},
  };
  if (config.shared_reward()) summary["shared_model_valid_auc"] = search.shared_model_auc();
  write_file_atomically((out / "summary.json").string(), summary.dump(2) + "\n");
  fmt::print("{}", format_effectiveness_table(rows));
  if (interrupted().load()) {
    fmt::print(stderr, "[losssearch] interrupted during the effectiveness test; summary.json holds the rows done\n");
    return kInterrupted;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  SearchConfig& s = opt.search;
  s.train.epochs = 1;
  // From BiasedMF's N(0, 1) initialisation plain GD needs hundreds of epochs;
  // Adam reaches its best validation AUC in a few (docs/RESULTS-train.md).
  s.train.optimizer = "adam";
  s.train.lr = 0.01;
  CLI::App app{"Search for a recommender loss function (AutoLossGen), then compare the best with the classic losses"};
  app.add_option("--data", opt.data, "dataset folder (NAME.train.csv, ...); default: the built-in synthetic data")
      ->check(CLI::ExistingPath);
  app.add_option("--model", s.model_kind, "recommender")->check(CLI::IsMember(models::model_kinds()))->capture_default_str();
  auto* minutes = app.add_option("--budget-minutes", s.budget_minutes, "search for this many minutes")
                      ->check(CLI::PositiveNumber);
  auto* candidates = app.add_option("--budget-candidates", s.budget_candidates, "search this many candidates")
                         ->check(CLI::PositiveNumber);
  app.add_option("--searcher", s.searcher, "who proposes candidates")->check(CLI::IsMember(searcher_names()))->capture_default_str();
  app.add_option("--layers", s.layers, "operator nodes per loss")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_flag("--extended", s.extended, "add sigmoid, tanh, relu, abs, guarded sqrt and exp to the operators");
  bool no_mask = false;
  app.add_flag("--no-mask", no_mask, "sample every token, not only those that can still give a valid loss");
  app.add_option("--seed", s.seed, "seed of the searcher, the model and the batch order")->capture_default_str();
  app.add_option("--out", s.out_dir, "output folder")->capture_default_str();
  app.add_flag("--resume", opt.resume, "continue the search checkpointed in --out");
  app.add_option("--num-aggregate", s.reinforce.num_aggregate, "samples per policy update")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--controller-steps", s.controller_steps, "policy updates per controller phase")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--reward", s.reward, "scratch: validation AUC of a short fit from scratch; shared: AutoLossGen's "
                 "steps on a shared model")->check(CLI::IsMember(reward_names()))->capture_default_str();
  app.add_option("--reward-epochs", s.reward_epochs, "scratch: most epochs of a reward fit")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--reward-patience", s.reward_patience, "scratch: early-stopping patience of a reward fit")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--workers", s.workers, "scratch: candidates trained at once (threads)")->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--train-steps", s.candidate_steps, "shared: minibatches each candidate trains for")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--model-steps", s.model_steps, "shared: minibatches of a model phase; 0: one epoch")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--skip-lim", s.reinforce.skip_lim, "filter rewards below baseline - skip-lim")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--min-reward", s.reinforce.min_reward, "reward of rejected candidates")->capture_default_str();
  app.add_option("--risk-seeking", s.reinforce.risk_seeking, "ε of the risk-seeking policy gradient (learn from the "
                 "top ε of each window); 0: the EMA baseline")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--entropy-weight", s.reinforce.entropy_weight, "entropy bonus of the policy gradient")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--top-k", s.top_k, "found losses kept and compared")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--effect-epochs", opt.effect_epochs, "most epochs of each effectiveness fit")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--effect-seeds", opt.effect_seeds, "fits per loss in the effectiveness test (seed, seed+1, ...)")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--effect-patience", opt.effect_patience, "early-stopping patience of each effectiveness fit")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_flag("--no-baselines", opt.no_baselines, "the effectiveness test trains only the found losses");
  app.add_option("--examples", opt.examples, "folder with the baseline .loss files")->capture_default_str();
  app.add_option("--optimizer", s.train.optimizer, "recommender optimiser")->check(CLI::IsMember(models::optimizer_names()))->capture_default_str();
  app.add_option("--lr", s.train.lr, "recommender learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", s.train.batch, "recommender minibatch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--cache-size", s.evaluator.cache_capacity, "rewards remembered (LRU)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--progress-seconds", s.progress_seconds, "seconds between progress lines; 0: none")->check(CLI::NonNegativeNumber)->capture_default_str();
  auto* mtl_task = app.add_option("--mtl-task", opt.mtl.task,
                                  "search this task's loss of a multi-task model, the other tasks on bce (--data: a "
                                  "census-income file or folder, a session folder, or none for synthetic sessions); "
                                  "the reward is the task's validation AUC");
  app.add_option("--mtl-model", opt.mtl.model, "with --mtl-task: the multi-task model")
      ->check(CLI::IsMember(models::mtl::mtl_model_kinds()))->capture_default_str()->needs(mtl_task);
  app.add_option("--threads", opt.threads, "LibTorch CPU threads per worker; 0: LibTorch's default")
      ->check(CLI::NonNegativeNumber)->capture_default_str();

  try {
    app.parse(argc, argv);
    if (minutes->count() == 0 && candidates->count() == 0) s.budget_minutes = 10;
    s.policy.mask = !no_mask;
    if (!opt.mtl.task.empty()) {
      if (s.reward != "scratch") throw CLI::ValidationError("--reward", "--mtl-task takes the scratch reward");
      // The multi-task trainer's schedule: Adam at its learning rate, its
      // epochs unless --effect-epochs / --effect-patience say otherwise.
      if (app.count("--effect-epochs")) opt.mtl.train.epochs = opt.effect_epochs;
      if (app.count("--effect-patience")) opt.mtl.train.patience = opt.effect_patience;
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "losssearch: {}\n", e.what());
    return kUsageError;
  }
  return models::run_reporting_errors("losssearch", [&] { return run(opt, resume_command(argc, argv, opt.resume)); });
}
