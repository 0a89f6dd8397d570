#include "search/search_command.h"

#include <ATen/Parallel.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/rec/data/builtin.h"
#include "models/ltr/letor.h"
#include "models/mtl/load.h"
#include "models/mtl/mtl_model.h"
#include "search/atomic_file.h"
#include "search/mtl_task.h"
#include "search/rank_task.h"
#include "search/rec_task.h"
#include "search/report.h"
#include "search/selection.h"

namespace losscc::search {

namespace fs = std::filesystem;

namespace {

constexpr int kUsageError = 2, kInterrupted = 130;  // 128 + SIGINT, as shells report it

// What each family takes when a flag is not given.
struct FamilyDefaults {
  const char* task;
  const char* model;
  int layers, reward_epochs, reward_patience, effect_epochs, effect_patience;
  int select_seeds;  // selection.h; 0: none (its fits' fidelity is measured for rec only)
};
constexpr FamilyDefaults kFamilies[] = {
    {"rec", "biasedmf", 10, 4, 2, 20, 5, 3},
    {"rank", "mlp", 6, 20, 5, 100, 10, 0},
    {"mtl", "mmoe", 10, 4, 2, 10, 2, 0},
};

// Flags of the tools losssearch replaced, and what to write instead.
struct RetiredFlag {
  const char* flag;
  const char* instead;
};
constexpr RetiredFlag kRetired[] = {
    {"--mtl-task", "--task mtl --target TASK"},
    {"--mtl-model", "--task mtl --model MODEL"},
    {"--synthetic", "--data builtin:synthetic"},
    {"--epochs", "--effect-epochs"},
    {"--patience", "--effect-patience"},
};

const FamilyDefaults& family(const std::string& task) {
  for (const FamilyDefaults& f : kFamilies)
    if (task == f.task) return f;
  throw std::invalid_argument("unknown task " + task);
}

std::atomic<bool> g_interrupted{false};

extern "C" {
static void on_interrupt(int signal) {
  g_interrupted.store(true);
  std::signal(signal, SIG_DFL);
}
}

}  // namespace

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"rec", "rank", "mtl"};
  return names;
}

const std::vector<std::string>& executor_names() {
  static const std::vector<std::string> names = {"threads", "ray"};
  return names;
}

int parse_search_command(const std::vector<std::string>& args, SearchOptions& opt) {
  for (const std::string& arg : args)
    for (const RetiredFlag& r : kRetired)
      if (arg == r.flag || arg.rfind(std::string(r.flag) + "=", 0) == 0) {
        fmt::print(stderr, "losssearch: {} is gone; use {} (losssearch --help lists the flags)\n", r.flag, r.instead);
        return kUsageError;
      }
  SearchConfig& s = opt.search;
  if (opt.examples.empty()) opt.examples = LOSSCC_EXAMPLES_DIR;
  CLI::App app{"Search for a loss function (AutoLossGen's RL controller or random search) for a recommender, a "
               "ranker or a multi-task model, then compare the best found with the classic losses"};
  app.add_option("--task", opt.task, "task family: rec (recommender), rank (learning to rank), mtl (the whole loss "
                 "of a multi-task model, or one task's)")->check(CLI::IsMember(task_names()))->capture_default_str();
  app.add_option("--data", opt.data,
                 fmt::format("rec: ratings folder (NAME.train.csv[.gz], ...) or {} (the default, MovieLens built "
                             "in); rank: LETOR folder; mtl: a census-income file or folder or a session folder; every "
                             "task: {}, its built-in synthetic data (the default of rank and mtl)",
                             models::kBuiltinMovielens, models::kBuiltinSynthetic))
      ->check(CLI::ExistingPath | CLI::IsMember({models::kBuiltinMovielens, models::kBuiltinSynthetic}));
  app.add_option("--fold", opt.fold, "rank: the LETOR fold searched on")->check(CLI::Range(1, 5))->capture_default_str();
  app.add_option("--target", opt.target, "mtl: search only this task's loss (the others train on bce); default: "
                 "the whole multi-task loss, one program over every task's prediction and label");
  app.add_option("--synthetic-sessions", opt.synthetic_sessions, "mtl: sessions of the built-in synthetic data")
      ->check(CLI::Range(int64_t{10}, int64_t{10000000}))->capture_default_str();
  app.add_option("--auc-weights", opt.auc_weights, "mtl, the whole loss: weigh task k's validation AUC by the k-th "
                 "weight in the reward and the fits' epoch choice (default: the plain mean)")->delimiter(',');
  app.add_option("--model", opt.model, "rec: biasedmf, deepmodel; rank: linear, mlp; mtl: a multi-task model "
                 "(default: biasedmf, mlp, mmoe)");
  app.add_option("--hidden", opt.hidden, "rank: MLP hidden sizes")->delimiter(',')->capture_default_str();
  auto* minutes = app.add_option("--budget-minutes", s.budget_minutes, "search for this many minutes (default 10)")
                      ->check(CLI::PositiveNumber);
  auto* candidates = app.add_option("--budget-candidates", s.budget_candidates, "search this many candidates")
                         ->check(CLI::PositiveNumber);
  app.add_option("--searcher", s.searcher, "who proposes candidates")->check(CLI::IsMember(searcher_names()))->capture_default_str();
  app.add_option("--layers", s.layers, "operator nodes per loss (default: 10; rank and the whole multi-task loss 6)")->check(CLI::Range(1, 64));
  app.add_flag("--extended", s.extended, "add sigmoid, tanh, relu, abs, guarded sqrt and exp to the operators");
  app.add_flag("--batch-stats", s.batch_statistics, "mtl, the whole loss: add each task's batch mean loss "
               "mean(bceK) (held constant) to the leaves, so loss-ratio weightings are programs");
  app.add_flag("--batch-only", s.evaluator.require_batch_statistics, "with --batch-stats: reject, without a fit, "
               "every program that reads no batch mean (the controller learns to sample them)");
  bool no_mask = false;
  app.add_flag("--no-mask", no_mask, "sample every token, not only those that can still give a valid loss");
  app.add_option("--seed", s.seed, "seed of the searcher (and of the fits unless --fit-seed)")->capture_default_str();
  app.add_option("--fit-seed", opt.fit_seed, "seed of every fit (initial model, batch order); default: --seed");
  app.add_option("--out", s.out_dir, "output folder")->capture_default_str();
  app.add_flag("--resume", opt.resume, "continue the search checkpointed in --out");
  app.add_option("--workers", s.workers, "candidates fitted at once (threads, or Ray tasks)")->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--executor", opt.executor, "who fits the candidates: threads of this process, or ray (tasks on a "
                 "Ray cluster, same results; needs Ray: scripts/setup.sh installs it)")
      ->check(CLI::IsMember(executor_names()))->capture_default_str();
  app.add_option("--ray-address", opt.ray_address, "ray: the cluster to join (auto: the one `ray start` runs on "
                 "this machine; HOST:PORT); default: a local one");
  app.add_option("--num-aggregate", s.reinforce.num_aggregate, "samples per policy update")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--controller-steps", s.controller_steps, "policy updates per phase")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--reward", opt.reward, "rec: scratch (validation AUC of a short fit from scratch) or shared "
                 "(AutoLossGen's steps on a shared model)")->check(CLI::IsMember(rec_reward_names()))->capture_default_str();
  app.add_option("--reward-epochs", opt.reward_epochs, "most epochs of a reward fit (default: rec 4, rank 20, mtl 4)")
      ->check(CLI::PositiveNumber);
  app.add_option("--reward-patience", opt.reward_patience, "early stopping of a reward fit (default: rec 2, rank 5, "
                 "mtl 2)")->check(CLI::PositiveNumber);
  app.add_option("--reward-holdout", opt.reward_holdout, "rank: the reward fits train on the training queries less "
                 "this fraction of them, which they validate on; selection and the effectiveness test keep the "
                 "fold's validation queries (default 0: the reward reads them too)")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--train-steps", opt.candidate_steps, "rec, shared reward: minibatches each candidate trains for")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--model-steps", opt.model_steps, "rec, shared reward: minibatches of a model phase; 0: one epoch")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--skip-lim", s.reinforce.skip_lim, "filter rewards below baseline - skip-lim")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--min-reward", s.reinforce.min_reward, "reward of rejected candidates")->capture_default_str();
  app.add_option("--risk-seeking", s.reinforce.risk_seeking, "ε of the risk-seeking policy gradient (learn from the "
                 "top ε of each window); 0: the EMA baseline")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--entropy-weight", s.reinforce.entropy_weight, "entropy bonus of the policy gradient")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--top-k", opt.top_k, "found losses tested against the classics")->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--finalists", opt.finalists, "best distinct losses of the search the found ones are chosen from "
                 "(default: 3 × --top-k)")->check(CLI::Range(1, 300));
  app.add_option("--select-seeds", opt.select_seeds, "fits per finalist on the effectiveness protocol, validation "
                 "only: losses that train alike are dropped, the rest ranked by mean - std (default: rec 3, rank 0, "
                 "mtl 0; 0: the search's order)")->check(CLI::Range(0, 100));
  app.add_option("--effect-epochs", opt.effect_epochs, "most epochs of an effectiveness fit (default: rec 20, rank "
                 "100, mtl 10)")->check(CLI::PositiveNumber);
  app.add_option("--effect-patience", opt.effect_patience, "early stopping of an effectiveness fit (default: rec 5, "
                 "rank 10, mtl 2)")->check(CLI::PositiveNumber);
  app.add_option("--effect-seeds", opt.effect_seeds, "fits per loss in the effectiveness test (fit seed, +1, ...)")
      ->check(CLI::Range(1, 100))->capture_default_str();
  app.add_flag("--no-baselines", opt.no_baselines, "the effectiveness test trains only the found losses");
  app.add_option("--transfer-data", opt.transfer_data, "further datasets of the same kind: the effectiveness test "
                 "runs on each too (same losses, protocol and seeds), a transfer table in summary.json and the report");
  app.add_option("--compare", opt.compare, "test these .loss files against the classics (and on --transfer-data) "
                 "instead of searching")->check(CLI::ExistingFile);
  app.add_option("--examples", opt.examples, "folder with the baseline .loss files")->capture_default_str();
  app.add_option("--optimizer", opt.optimizer, "rec: the recommender's optimiser (default adam)")
      ->check(CLI::IsMember(models::optimizer_names()));
  app.add_option("--lr", opt.lr, "learning rate (default: rec 0.01, rank 0.001, mtl 0.001)")->check(CLI::PositiveNumber);
  app.add_option("--batch", opt.batch, "minibatch size (rows; rank: queries) (default: rec 128, rank 16, mtl 1024)")
      ->check(CLI::PositiveNumber);
  app.add_option("--cache-size", s.evaluator.cache_capacity, "rewards remembered (LRU)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--progress-seconds", s.progress_seconds, "seconds between progress lines; 0: none")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--threads", opt.threads, "LibTorch CPU threads per worker; 0: LibTorch's default")
      ->check(CLI::NonNegativeNumber)->capture_default_str();

  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    const FamilyDefaults& f = family(opt.task);
    if (minutes->count() == 0 && candidates->count() == 0) s.budget_minutes = 10;
    // The whole multi-task loss: its leaves already hold each task's loss,
    // and six layers reach every example program (search_space.h).
    if (app.count("--layers") == 0) s.layers = opt.task == "mtl" && opt.target.empty() ? 6 : f.layers;
    if (opt.model.empty()) opt.model = f.model;
    for (auto [value, fallback] : {std::pair{&opt.reward_epochs, f.reward_epochs}, {&opt.reward_patience, f.reward_patience},
                                   {&opt.effect_epochs, f.effect_epochs}, {&opt.effect_patience, f.effect_patience}})
      if (*value == 0) *value = fallback;
    if (app.count("--fit-seed") == 0) opt.fit_seed = s.seed;
    if (opt.select_seeds < 0) opt.select_seeds = f.select_seeds;
    if (opt.finalists == 0) opt.finalists = opt.select_seeds > 0 ? 3 * opt.top_k : opt.top_k;
    if (opt.finalists < opt.top_k) throw CLI::ValidationError("--finalists", "must be at least --top-k");
    s.top_k = opt.finalists;  // the search keeps the finalists
    s.policy.mask = !no_mask;
    const std::vector<std::string>& models =
        opt.task == "rec" ? models::model_kinds() : opt.task == "rank" ? models::ltr::scorer_kinds() : models::mtl::mtl_model_kinds();
    if (std::find(models.begin(), models.end(), opt.model) == models.end())
      throw CLI::ValidationError("--model", fmt::format("{} is not a {} model ({})", opt.model, opt.task,
                                                        fmt::join(models, ", ")));
    for (const char* flag : {"--reward", "--train-steps", "--model-steps", "--optimizer"})
      if (app.count(flag) && opt.task != "rec") throw CLI::ValidationError(flag, "applies to --task rec only");
    if (app.count("--ray-address") && opt.executor != "ray")
      throw CLI::ValidationError("--ray-address", "applies to --executor ray only");
    if (app.count("--fold") && opt.task != "rank") throw CLI::ValidationError("--fold", "applies to --task rank only");
    if (app.count("--hidden") && opt.task != "rank") throw CLI::ValidationError("--hidden", "applies to --task rank only");
    if (app.count("--reward-holdout") && opt.task != "rank")
      throw CLI::ValidationError("--reward-holdout", "applies to --task rank only");
    if (app.count("--target") && opt.task != "mtl") throw CLI::ValidationError("--target", "applies to --task mtl only");
    if (s.batch_statistics && (opt.task != "mtl" || !opt.target.empty()))
      throw CLI::ValidationError("--batch-stats", "applies to --task mtl's whole-loss search only (not with --target)");
    if (s.evaluator.require_batch_statistics && !s.batch_statistics)
      throw CLI::ValidationError("--batch-only", "needs --batch-stats (the leaves it requires)");
    if (app.count("--auc-weights") && (opt.task != "mtl" || !opt.target.empty()))
      throw CLI::ValidationError("--auc-weights", "applies to --task mtl's whole-loss search only (not with --target)");
    if (app.count("--synthetic-sessions") && (opt.task != "mtl" || !(opt.data.empty() || opt.data == models::kBuiltinSynthetic)))
      throw CLI::ValidationError("--synthetic-sessions", "applies to --task mtl on its built-in synthetic data only");
    if (opt.data == models::kBuiltinMovielens && opt.task != "rec")
      throw CLI::ValidationError("--data", fmt::format("{} is recommendation data (--task rec)", opt.data));
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "losssearch: {}\n", e.what());
    return kUsageError;
  }
  for (size_t i = 0; i < args.size(); ++i) opt.command += (i ? " " : "") + args[i];
  return -1;
}

// The data the task reads; one member is set.
struct LoadedTask::Data {
  models::Dataset rec;
  models::ltr::LtrDataset rank;
  models::mtl::MtlDataset mtl;
};

LoadedTask::LoadedTask(const SearchOptions& o) : data_(std::make_unique<Data>()) {
  if (o.threads > 0) at::set_num_threads(o.threads);
  std::string& what = description_;
  if (o.task == "rec") {
    data_->rec = models::load_rec_data(o.data);
    RecTaskConfig c;
    c.model = o.model;
    c.reward = o.reward;
    c.reward_epochs = o.reward_epochs;
    c.reward_patience = o.reward_patience;
    c.candidate_steps = o.candidate_steps;
    c.model_steps = o.model_steps;
    c.seed = o.fit_seed;
    // From BiasedMF's N(0, 1) initialisation plain GD needs hundreds of
    // epochs; Adam reaches its best validation AUC in a few (docs/RESULTS-train.md).
    c.train.optimizer = o.optimizer.empty() ? "adam" : o.optimizer;
    if (o.lr > 0) c.train.lr = o.lr;
    if (o.batch > 0) c.train.batch = o.batch;
    c.train.epochs = o.effect_epochs;
    c.train.patience = o.effect_patience;
    what = fmt::format("{}: {} users, {} items, {} train rows; {}", data_->rec.name, data_->rec.num_users,
                       data_->rec.num_items, data_->rec.train.size(), o.model);
    task_ = std::make_unique<RecTask>(data_->rec, c);
  } else if (o.task == "rank") {
    const bool synthetic = o.data.empty() || o.data == models::kBuiltinSynthetic;
    data_->rank = synthetic ? models::ltr::synthetic_ltr() : models::ltr::load_letor_fold(o.data, o.fold);
    RankTaskConfig c;
    c.model = o.model;
    c.shape.hidden = o.hidden;
    c.reward_epochs = o.reward_epochs;
    c.reward_patience = o.reward_patience;
    c.reward_holdout = o.reward_holdout;
    c.train.seed = o.fit_seed;
    if (o.lr > 0) c.train.lr = o.lr;
    if (o.batch > 0) c.train.batch = o.batch;
    c.train.epochs = o.effect_epochs;
    c.train.patience = o.effect_patience;
    what = fmt::format("{}: {} train queries; {} scorer", data_->rank.name, data_->rank.train.queries(), o.model);
    auto rank = std::make_unique<RankTask>(data_->rank, c);
    if (c.reward_holdout > 0)
      what += fmt::format("; reward fits on {} of them, validated on the other {}", rank->reward_data().train.queries(),
                          rank->reward_data().valid.queries());
    task_ = std::move(rank);
  } else {
    models::mtl::MtlLoadOptions load;
    load.synthetic_sessions = o.synthetic_sessions;
    data_->mtl = models::mtl::load_mtl_data(o.data == models::kBuiltinSynthetic ? "" : o.data, load).data;
    MtlTaskConfig c;
    c.task = o.target;
    c.model = o.model;
    c.reward_epochs = o.reward_epochs;
    c.reward_patience = o.reward_patience;
    c.seed = o.fit_seed;
    if (o.lr > 0) c.train.lr = o.lr;
    if (o.batch > 0) c.train.batch = o.batch;
    c.train.epochs = o.effect_epochs;
    c.train.patience = o.effect_patience;
    c.train.auc_weights = o.auc_weights;
    if (!o.auc_weights.empty() && o.auc_weights.size() != data_->mtl.tasks.size())
      throw std::invalid_argument(fmt::format("--auc-weights: {} weights for the {} tasks of {} ({})", o.auc_weights.size(),
                                              data_->mtl.tasks.size(), data_->mtl.name, fmt::join(data_->mtl.tasks, ", ")));
    what = fmt::format("{} {}: {} train rows; {} model", data_->mtl.name,
                       c.task.empty() ? fmt::format("tasks {} (one program)", fmt::join(data_->mtl.tasks, ", "))
                                      : "task " + c.task,
                       data_->mtl.train.size(), o.model);
    task_ = std::make_unique<MtlTask>(data_->mtl, c);
  }
}

LoadedTask::~LoadedTask() = default;

SearchSession::SearchSession(SearchOptions options) : options_(std::move(options)), loaded_(options_) {
  const SearchOptions& o = options_;
  // Fail on a missing baseline, a bad transfer dataset or a compared loss
  // that does not parse before spending the search budget.
  if (!o.no_baselines) baselines_ = loaded_.task().baselines(o.examples);
  for (const std::string& data : o.transfer_data) {
    SearchOptions other = o;
    other.data = data;
    transfer_.push_back(std::make_unique<LoadedTask>(other));
    fmt::print(stderr, "[losssearch] transfer data: {}\n", transfer_.back()->description());
  }
  compared_ = given_losses(o.compare);
  const SearchConfig& s = o.search;
  const char* batch_means = !s.batch_statistics                  ? ""
                            : s.evaluator.require_batch_statistics ? " (batch means, required)"
                                                                   : " (batch means)";
  fmt::print(stderr, "[losssearch] {}; searcher {}, {} layers{}{}, reward {}, out {}\n", loaded_.description(),
             s.searcher, s.layers, s.extended ? " (extended ops)" : "", batch_means, loaded_.task().reward_name(),
             s.out_dir);
  search_ = std::make_unique<LossSearch>(s, loaded_.task());
}

SearchSession::~SearchSession() = default;

bool SearchSession::run_to_budget() {
  if (!options_.compare.empty()) return true;
  search_->start(options_.resume);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  if (search_->run(g_interrupted) != LossSearch::Stop::Interrupted) return true;
  fmt::print(stderr, "[losssearch] interrupted after {} candidates; checkpoint written. Resume with:\n  {}{}\n",
             search_->counters().candidates, options_.command, options_.resume ? "" : " --resume");
  return false;
}

int SearchSession::finish() {
  const SearchOptions& o = options_;
  const SearchTask& task = loaded_.task();
  const fs::path out(o.search.out_dir);
  fs::create_directories(out);
  // The losses under test: the found ones, chosen from the search's
  // finalists (written as found-K.loss), or --compare's files; then the classics.
  std::vector<NamedLoss> losses = compared_;
  Selection selection;
  if (o.compare.empty()) {
    if (o.select_seeds > 0 && !search_->top().empty())
      fmt::print(stderr, "[losssearch] choosing {} of {} finalists: {} fits each to convergence, validation only\n",
                 std::min<size_t>(o.top_k, search_->top().size()), search_->top().size(), o.select_seeds);
    SelectionConfig choose;
    choose.seeds = o.select_seeds;
    choose.top_k = o.top_k;
    choose.fit_seed = o.fit_seed;
    choose.workers = o.search.workers;
    const EffectProgress progress{o.search.progress_seconds > 0 ? "losssearch" : "", {}, "selection"};
    selection = select_found(task, search_->top(), choose, progress, g_interrupted);
    if (!selection.rows.empty()) fmt::print(stderr, "{}", format_selection_table(selection.rows, task.metric()));
    for (size_t i = 0; i < selection.chosen.size(); ++i) {
      const FoundLoss& f = selection.chosen[i];
      const std::string name = fmt::format("found-{}", i + 1);
      std::string chosen_by;  // the selection's numbers, when it chose
      for (const nlohmann::json& row : selection.rows)
        if (row.at("id") == f.id && row.contains("score"))
          chosen_by = fmt::format("; {} fits: {:.6f} ± {:.6f}", o.select_seeds,
                                  row.at("valid_" + task.metric() + "_mean").get<double>(),
                                  row.at("valid_" + task.metric() + "_std").get<double>());
      write_file_atomically((out / (name + ".loss")).string(),
                            fmt::format("# losssearch --task {}: candidate {}, {} {:.6f} during the search{}\n{}",
                                        task.name(), f.id, task.reward_name(), f.reward, chosen_by, f.source));
      losses.push_back({name, "search", f.source, f.reward});
    }
  }
  losses.insert(losses.end(), baselines_.begin(), baselines_.end());
  fmt::print(stderr, "[losssearch] effectiveness test: {} losses × {} seeds, at most {} epochs each, {} workers\n",
             losses.size(), o.effect_seeds, o.effect_epochs, o.search.workers);
  // The effectiveness test on one dataset's task, fits from scratch on every
  // worker (max_workers() limits rewards, which may share a model; these
  // share nothing).
  const auto test_on = [&](const LoadedTask& on) {
    const SearchTask& t = on.task();
    const EffectProgress progress{o.search.progress_seconds > 0 ? "losssearch" : "", [&t](const nlohmann::json& row) {
                                    fmt::print(stderr, "[losssearch]   {}\n", t.format_row(row));
                                  }};
    TestedData d{on.description()};
    d.rows = t.effectiveness(losses, o.fit_seed, o.effect_seeds, o.search.workers, progress, g_interrupted);
    d.paired = paired_comparisons(d.rows, t.metric());
    d.effectiveness_table = t.format_table(d.rows);
    d.paired_table = format_paired_table(d.paired);
    return d;
  };
  ReportInput report{o.command, {}, task.metric(), test_on(loaded_), {}};
  // The same losses, protocol and seeds on each further dataset.
  nlohmann::json transfer = nlohmann::json::array();
  for (size_t t = 0; t < transfer_.size() && !g_interrupted.load(); ++t) {
    fmt::print(stderr, "[losssearch] transfer {}/{}: the same test on {}\n", t + 1, transfer_.size(),
               transfer_[t]->description());
    const TestedData& d = report.transfer.emplace_back(test_on(*transfer_[t]));
    transfer.push_back({{"data", o.transfer_data[t]}, {"description", d.description}, {"effectiveness", d.rows},
                        {"paired", d.paired}});
  }

  const SearchConfig& s = o.search;
  report.summary = {
      {"task", task.name()},      {"settings", task.summary()}, {"searcher", s.searcher},
      {"layers", s.layers},         {"extended", s.extended},       {"batch_statistics", s.batch_statistics},
      {"batch_only", s.evaluator.require_batch_statistics},
      {"seed", s.seed},
      {"fit_seed", o.fit_seed},     {"workers", s.workers},         {"mask", s.policy.mask},
      {"reward", task.reward_name()}, {"search", search_->counters().to_json()},
      {"effectiveness_epochs", o.effect_epochs}, {"effectiveness_patience", o.effect_patience},
      {"effectiveness_seeds", o.effect_seeds},   {"effectiveness", report.tested.rows},
      {"paired", report.tested.paired},
  };
  if (!o.compare.empty()) report.summary["compare"] = o.compare;
  if (o.compare.empty())
    report.summary["selection"] = {{"seeds", o.select_seeds}, {"finalists", search_->top().size()},
                                   {"seed", o.fit_seed + kSelectionSeedOffset}, {"rows", selection.rows}};
  if (!transfer.empty()) report.summary["transfer"] = transfer;
  write_file_atomically((out / "summary.json").string(), report.summary.dump(2) + "\n");
  fmt::print("{}{}", report.tested.effectiveness_table, report.tested.paired_table);
  for (const TestedData& t : report.transfer)
    fmt::print("\ntransfer to {}:\n{}{}", t.description, t.effectiveness_table, t.paired_table);
  std::fflush(stdout);  // the tables before the report's line, where both go to one file
  fmt::print(stderr, "[losssearch] report: {}\n", write_report(out, report).string());
  if (g_interrupted.load()) {
    fmt::print(stderr, "[losssearch] interrupted during the effectiveness test; summary.json holds the rows done\n");
    return kInterrupted;
  }
  return 0;
}

}  // namespace losscc::search
