// losstrain: trains one recommender with one .loss file and reports the test
// metrics at the best validation epoch (AutoLossGen's protocol; see
// models/rec/trainer.h).
//
// Both models train on the native path by default (models/rec/native_mf.h,
// native_deep.h: float tables, the loss kernel, no autograd); LibTorch
// (`--engine torch`) is their oracle.
//
//   losstrain --loss examples/bce.loss                  # the built-in MovieLens data
//   losstrain --data ../shared/data/ml100k01-1-5 --model biasedmf --loss examples/bce.loss
#include <ATen/Parallel.h>

#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "compiler/language/assignments.h"
#include "compiler/language/parse.h"
#include "models/rec/data/builtin.h"
#include "models/metrics.h"
#include "models/rec/native_deep.h"
#include "models/rec/native_mf.h"
#include "models/rec/rec_model.h"
#include "models/rec/trainer.h"
#include "tools/run_tool.h"

namespace {

using namespace losscc;
using namespace losscc::models;


struct Options {
  std::string data;
  bool synthetic = false;
  std::string model = "biasedmf";
  std::string loss_file;
  std::vector<std::string> defines;
  ParamOverrides overrides;  // parsed from `defines`
  std::string out;
  std::string engine = "native";  // "native" | "torch"
  int threads = 0;
  TrainConfig train;
};

std::string metric_line(const Metrics& m) {
  return fmt::format("auc {:.4f}  logloss {:.4f}  rmse {:.4f}  mae {:.4f}", m.auc, m.logloss, m.rmse, m.mae);
}

int run(const Options& opt) {
  const LossFunction loss = parse_loss_file(opt.loss_file, opt.overrides);
  const std::string& engine = opt.engine;
  const Dataset data = load_rec_data(opt.synthetic ? kBuiltinSynthetic : opt.data);
  if (opt.threads > 0) at::set_num_threads(opt.threads);
  fmt::print("{}: {} users, {} items; train {}, validation {}, test {} rows; {} engine\n", data.name,
             data.num_users, data.num_items, data.train.size(), data.valid.size(), data.test.size(), engine);

  const auto print_epoch = [](const EpochLog& e) {
    fmt::print("epoch {:4d}  train loss {:.6f}  valid auc {:.4f}  test auc {:.4f}  {:.3f} s\n", e.epoch,
               e.train_loss, e.valid.auc, e.test.auc, e.seconds);
    std::fflush(stdout);
  };
  FitResult result;
  if (engine == "native" && opt.model == "biasedmf") {
    NativeMfTrainer trainer(data.num_users, data.num_items, opt.train.seed, loss, opt.train);
    result = trainer.fit(data, print_epoch);
  } else if (engine == "native") {
    NativeDeepTrainer trainer(data.num_users, data.num_items, opt.train.seed, loss, opt.train);
    result = trainer.fit(data, print_epoch);
  } else {
    Trainer trainer(make_model(opt.model, data.num_users, data.num_items, opt.train.seed), loss, opt.train);
    result = trainer.fit(data, print_epoch);
  }
  fmt::print("best epoch {} of {} ({:.1f} s)\n  valid: {}\n  test:  {}\n", result.best_epoch,
             result.epochs, result.seconds, metric_line(result.valid), metric_line(result.test));

  if (!opt.out.empty()) {
    nlohmann::json json = result.to_json();
    json["config"] = opt.train.to_json();
    json["config"]["model"] = opt.model;
    json["config"]["loss"] = opt.loss_file;
    json["config"]["data"] = opt.synthetic ? std::string(kBuiltinSynthetic) : opt.data.empty() ? std::string(kBuiltinMovielens) : opt.data;
    json["config"]["engine"] = engine;
    json["config"]["threads"] = engine == "native" ? 1 : at::get_num_threads();
    write_json_file(opt.out, json);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"Train a recommender with a .loss file; report test metrics at the best validation epoch"};
  app.add_option("--data", opt.data, fmt::format("dataset folder (NAME.train.csv, NAME.validation.csv, NAME.test.csv; "
                 "each may be gzipped), {} (the default: MovieLens, built in) or {}", kBuiltinMovielens, kBuiltinSynthetic))
      ->check(CLI::ExistingDirectory | CLI::IsMember({kBuiltinMovielens, kBuiltinSynthetic}));
  app.add_flag("--synthetic", opt.synthetic, fmt::format("the same as --data {}", kBuiltinSynthetic));
  app.add_option("--model", opt.model, "model")->check(CLI::IsMember(model_kinds()))->capture_default_str();
  app.add_option("--loss", opt.loss_file, "the .loss file")->required()->check(CLI::ExistingFile);
  app.add_option("-D", opt.defines, "override a loss param: -D name=value (repeatable)");
  TrainConfig& t = opt.train;
  app.add_option("--optimizer", t.optimizer, "optimizer")->check(CLI::IsMember(optimizer_names()))->capture_default_str();
  app.add_option("--lr", t.lr, "learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--l2", t.l2, "l2 weight (in the loss and as weight decay)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--batch", t.batch, "minibatch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--epochs", t.epochs, "most epochs")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--patience", t.patience, "stop when the best validation AUC is this many epochs old")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", t.seed, "model initialisation and batch order")->capture_default_str();
  app.add_option("--grad-clip", t.grad_clip, "clamp gradient elements to ±this; 0: off")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--engine", opt.engine,
                 "native: float tables and the loss kernel, no autograd; torch: LibTorch autograd (the oracle)")
      ->check(CLI::IsMember({"native", "torch"}))->capture_default_str();
  app.add_option("--threads", opt.threads, "LibTorch CPU threads (--engine torch); 0: LibTorch's default")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--out", opt.out, "write the result (metrics, history, config) as JSON");

  try {
    app.parse(argc, argv);
    if (!opt.data.empty() && opt.synthetic)
      throw CLI::ValidationError("--data", "give at most one of --data and --synthetic");
    try {
      opt.overrides = parse_assignments(opt.defines, "-D");
    } catch (const std::invalid_argument& e) {
      throw CLI::ValidationError(e.what());
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "losstrain: {}\n", e.what());
    return kUsageError;
  }
  return run_reporting_errors("losstrain", [&] { return run(opt); });
}
