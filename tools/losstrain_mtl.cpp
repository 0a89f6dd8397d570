// losstrain-mtl: trains one multi-task model with one loss-weighting method
// and reports every task's test metrics at the best validation epoch.
//
//   losstrain-mtl --data ../shared/data/census-income --model mmoe --weighting rmtl
//   losstrain-mtl --synthetic --model ple --weighting uw --task-loss pay=examples/focal.loss
//   losstrain-mtl --synthetic --loss examples/mtl_equal.loss
#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "compiler/language/parse.h"
#include "models/mtl/load.h"
#include "models/mtl/mtl_trainer.h"
#include "tools/run_tool.h"

namespace {

using namespace losscc;
using namespace losscc::models::mtl;

using models::kUsageError;

struct Options {
  std::string data;
  bool synthetic = false;
  int64_t synthetic_sessions = 3000;
  uint64_t split_seed = 0;
  int64_t max_rows = 0;
  bool skip_bad_lines = false;
  std::string model = "mmoe";
  std::vector<std::string> task_losses;  // NAME=FILE
  std::string loss;                      // one multi-task .loss over every task
  std::string out;
  int threads = 0;
  ModelShape shape;
  WeightingConfig weighting;
  MtlTrainConfig train;
};

std::string metric_line(const MtlMetrics& m, const std::vector<std::string>& tasks) {
  std::string line;
  for (size_t k = 0; k < tasks.size(); ++k) {
    line += fmt::format("{}{} auc {:.4f} logloss {:.4f}", k ? "  " : "", tasks[k], m.tasks[k].auc, m.tasks[k].logloss);
    if (m.tasks[k].session_logloss == m.tasks[k].session_logloss)
      line += fmt::format(" session-logloss {:.4f}", m.tasks[k].session_logloss);
  }
  return line;
}

MtlDataset load_data(const Options& opt) {
  MtlLoadOptions options;
  options.split_seed = opt.split_seed;
  options.max_rows = opt.max_rows;
  options.skip_bad_lines = opt.skip_bad_lines;
  options.synthetic_sessions = opt.synthetic_sessions;
  MtlLoad load = load_mtl_data(opt.synthetic ? std::string() : opt.data, options);
  for (const std::string& bad : load.bad_lines) fmt::print(stderr, "skipped bad line: {}\n", bad);
  return std::move(load.data);
}

// One loss per task: bce unless --task-loss NAME=FILE names the task; or
// --loss's one multi-task program.
std::vector<LossFunction> task_losses(const Options& opt, const MtlDataset& data) {
  if (!opt.loss.empty()) {
    LossFunction program = parse_loss_file(opt.loss);
    const size_t preds = program.count(Role::Prediction);
    if (preds != data.tasks.size())
      throw std::invalid_argument(fmt::format("--loss {}: {} prediction inputs; the data has {} tasks ({}), one "
                                              "prediction and one label input per task, in task order",
                                              opt.loss, preds, data.tasks.size(), fmt::join(data.tasks, ", ")));
    return {std::move(program)};
  }
  std::map<std::string, std::string> files;
  for (const std::string& item : opt.task_losses) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw std::invalid_argument(fmt::format("--task-loss '{}': expected NAME=FILE.loss", item));
    const std::string name = item.substr(0, eq);
    if (std::find(data.tasks.begin(), data.tasks.end(), name) == data.tasks.end())
      throw std::invalid_argument(fmt::format("--task-loss '{}': no task '{}' (tasks: {})", item, name,
                                              fmt::join(data.tasks, ", ")));
    files[name] = item.substr(eq + 1);
  }
  std::vector<LossFunction> losses;
  for (const std::string& task : data.tasks) {
    auto it = files.find(task);
    losses.push_back(it == files.end() ? default_task_loss() : parse_loss_file(it->second));
  }
  return losses;
}

int run(Options opt) {
  if (opt.threads > 0) at::set_num_threads(opt.threads);
  const MtlDataset data = load_data(opt);
  fmt::print("{}: {} tasks ({}), {} categorical fields, {} numerical\n{}", data.name, data.num_tasks(),
             fmt::join(data.tasks, ", "), data.categorical_names.size(), data.numerical_names.size(), describe(data));
  const std::vector<LossFunction> losses = task_losses(opt, data);
  opt.shape.field_sizes = data.field_sizes;
  opt.shape.numerical = static_cast<int64_t>(data.numerical_names.size());
  opt.shape.tasks = data.num_tasks();
  MtlTrainer trainer(make_mtl_model(opt.model, opt.shape, opt.train.seed), data, losses, opt.weighting, opt.train);
  fmt::print("model {} ({} parameters), weighting {}, {} thread(s)\n", opt.model,
             [&] { int64_t n = 0; for (const auto& p : trainer.model().parameters()) n += p.numel(); return n; }(),
             opt.weighting.method, at::get_num_threads());
  std::fflush(stdout);

  const MtlTrainer::FitResult result = trainer.fit([&](const MtlTrainer::EpochLog& e) {
    std::vector<std::string> aucs, loss_text;
    for (size_t k = 0; k < data.tasks.size(); ++k) {
      aucs.push_back(fmt::format("{:.4f}", e.valid.tasks[k].auc));
      loss_text.push_back(fmt::format("{:.4f}", e.train_loss[k]));
    }
    std::vector<std::string> weights;
    for (const auto& w : e.weighting.at("weights")) weights.push_back(fmt::format("{:.3f}", w.get<double>()));
    fmt::print("epoch {:3d}  train loss {}  valid auc {}  weights {}  {:.1f} s\n", e.epoch, fmt::join(loss_text, "/"),
               fmt::join(aucs, "/"), fmt::join(weights, "/"), e.seconds);
    std::fflush(stdout);
  });
  fmt::print("best epoch {} of {} ({:.1f} s)\n  valid: {}\n  test:  {}\n", result.best_epoch, result.epochs,
             result.seconds, metric_line(result.valid, data.tasks), metric_line(result.test, data.tasks));

  if (!opt.out.empty()) {
    nlohmann::json json = result.to_json(data.tasks);
    json["config"] = opt.train.to_json();
    json["config"]["model"] = opt.model;
    json["config"]["shape"] = opt.shape.to_json();
    json["config"]["weighting"] = opt.weighting.to_json();
    json["config"]["data"] = opt.synthetic ? std::string("synthetic") : opt.data;
    json["config"]["split_seed"] = opt.split_seed;
    json["config"]["threads"] = at::get_num_threads();
    json["config"]["task_losses"] = opt.task_losses;
    if (!opt.loss.empty()) json["config"]["loss"] = opt.loss;
    json["data"] = {{"name", data.name},
                    {"tasks", data.tasks},
                    {"train", data.train.size()},
                    {"valid", data.valid.size()},
                    {"test", data.test.size()}};
    models::write_json_file(opt.out, json);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"Train a multi-task recommender with one loss-weighting method; report every task's test "
               "metrics at the best validation epoch"};
  app.add_option("--data", opt.data,
                 "census-income file or folder, or a session folder (sessions.csv [+ items.csv])");
  app.add_flag("--synthetic", opt.synthetic, "train on built-in synthetic click/purchase sessions instead of --data");
  app.add_option("--synthetic-sessions", opt.synthetic_sessions, "sessions of the synthetic data")
      ->check(CLI::Range(int64_t{5}, int64_t{10000000}))->capture_default_str();
  app.add_option("--split-seed", opt.split_seed, "seed of the census hash split (and of the synthetic data)")->capture_default_str();
  app.add_option("--max-rows", opt.max_rows, "read only the first rows of a census file; 0: all")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_flag("--skip-bad-lines", opt.skip_bad_lines, "skip (and list) malformed session lines instead of failing");
  app.add_option("--model", opt.model, "model")->check(CLI::IsMember(mtl_model_kinds()))->capture_default_str();
  app.add_option("--weighting", opt.weighting.method, "loss weighting")
      ->check(CLI::IsMember(weighting_methods()))->capture_default_str();
  app.add_option("--weights", opt.weighting.fixed, "task weights for --weighting fixed (one per task)")->delimiter(',');
  auto* task_loss =
      app.add_option("--task-loss", opt.task_losses, "a task's loss: NAME=FILE.loss (repeatable; default bce)");
  app.add_option("--loss", opt.loss,
                 "one multi-task .loss over every task: a prediction and a label input per task, in task order "
                 "(--weighting equal)")
      ->check(CLI::ExistingFile)
      ->excludes(task_loss);
  ModelShape& s = opt.shape;
  app.add_option("--embed-dim", s.embed_dim, "embedding size per field")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--bottom", s.bottom, "bottom / expert MLP sizes (PLE: one level each)")->delimiter(',')->capture_default_str();
  app.add_option("--tower", s.tower, "tower MLP hidden sizes")->delimiter(',')->capture_default_str();
  app.add_option("--experts", s.experts, "experts (MMoE, OMoE; PLE: shared experts per level)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--dropout", s.dropout, "dropout")->check(CLI::Range(0.0, 0.99))->capture_default_str();
  MtlTrainConfig& t = opt.train;
  app.add_option("--lr", t.lr, "Adam learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--weight-decay", t.weight_decay, "Adam weight decay")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--batch", t.batch, "minibatch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--epochs", t.epochs, "most epochs")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--patience", t.patience, "stop when the best mean validation AUC is this many epochs old")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", t.seed, "model initialisation, batch order, weighting noise")->capture_default_str();
  WeightingConfig& w = opt.weighting;
  app.add_option("--gradnorm-alpha", w.gradnorm_alpha, "GradNorm's asymmetry α")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--gradnorm-lr", w.gradnorm_lr, "GradNorm's step size on the weights")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--dwa-temperature", w.dwa_temperature, "DWA's temperature T")->check(CLI::PositiveNumber)->capture_default_str();
  RmtlConfig& r = w.rmtl;
  app.add_option("--rmtl-lambda", r.lambda, "RMTL: w = 1 - λ·Q")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--rmtl-gamma", r.gamma, "RMTL: discount γ")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--rmtl-tau", r.tau, "RMTL: soft target update τ")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--pretrain-epochs", r.pretrain_epochs, "RMTL: equal-weight epochs before the critics")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--critic-warmup", r.warmup_steps, "RMTL: critic updates before fine-tuning; 0: one pass over train")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--critic-every", r.critic_every, "RMTL: actor steps per critic update")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--critic-batch", r.critic_batch, "RMTL: transitions per critic update; 0: --batch")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--critic-bottom", r.critic_bottom, "RMTL: critic bottom sizes (default: one layer of the model's last bottom size)")->delimiter(',');
  app.add_option("--critic-tower", r.critic_tower, "RMTL: critic tower sizes (default: the model's)")->delimiter(',');
  app.add_option("--threads", opt.threads, "LibTorch CPU threads; 0: LibTorch's default")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--out", opt.out, "write the result (metrics per task, history, config) as JSON");

  try {
    app.parse(argc, argv);
    if (opt.data.empty() == !opt.synthetic)
      throw CLI::ValidationError("--data", "give exactly one of --data PATH and --synthetic");
    if (!opt.data.empty() && !std::filesystem::exists(opt.data))
      throw CLI::ValidationError("--data", fmt::format("{}: no such file or folder", opt.data));
    if (opt.weighting.method == "fixed" && opt.weighting.fixed.empty())
      throw CLI::ValidationError("--weights", "--weighting fixed needs --weights W1,W2,...");
    if (opt.weighting.method != "fixed" && !opt.weighting.fixed.empty())
      throw CLI::ValidationError("--weights", "--weights is only for --weighting fixed");
    for (int64_t size : opt.shape.bottom)
      if (size < 1) throw CLI::ValidationError("--bottom", "layer sizes must be >= 1");
    for (int64_t size : opt.shape.tower)
      if (size < 1) throw CLI::ValidationError("--tower", "layer sizes must be >= 1");
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "losstrain-mtl: {}\n", e.what());
    return kUsageError;
  }
  return models::run_reporting_errors("losstrain-mtl", [&] { return run(opt); });
}
