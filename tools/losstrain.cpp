// losstrain: trains one recommender with one .loss file and reports the test
// metrics at the best validation epoch (AutoLossGen's protocol; see
// models/rec/trainer.h).
//
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
#include "models/rec/data/load_dataset.h"
#include "models/rec/data/synthetic.h"
#include "models/metrics.h"
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
  int threads = 0;
  TrainConfig train;
};

// "-D gamma=3" → {"gamma", 3}.
std::string metric_line(const Metrics& m) {
  return fmt::format("auc {:.4f}  logloss {:.4f}  rmse {:.4f}  mae {:.4f}", m.auc, m.logloss, m.rmse, m.mae);
}

int run(const Options& opt) {
  const LossFunction loss = parse_loss_file(opt.loss_file, opt.overrides);
  const Dataset data = opt.synthetic ? synthetic_dataset() : load_dataset(opt.data);
  if (opt.threads > 0) at::set_num_threads(opt.threads);
  fmt::print("{}: {} users, {} items; train {}, validation {}, test {} rows\n", data.name,
             data.num_users, data.num_items, data.train.size(), data.valid.size(), data.test.size());

  Trainer trainer(make_model(opt.model, data.num_users, data.num_items, opt.train.seed), loss, opt.train);
  const Trainer::FitResult result = trainer.fit(data, [](const Trainer::EpochLog& e) {
    fmt::print("epoch {:4d}  train loss {:.6f}  valid auc {:.4f}  test auc {:.4f}  {:.2f} s\n", e.epoch,
               e.train_loss, e.valid.auc, e.test.auc, e.seconds);
    std::fflush(stdout);
  });
  fmt::print("best epoch {} of {} ({:.1f} s)\n  valid: {}\n  test:  {}\n", result.best_epoch,
             result.epochs, result.seconds, metric_line(result.valid), metric_line(result.test));

  if (!opt.out.empty()) {
    nlohmann::json json = result.to_json();
    json["config"] = opt.train.to_json();
    json["config"]["model"] = opt.model;
    json["config"]["loss"] = opt.loss_file;
    json["config"]["data"] = opt.synthetic ? std::string("synthetic") : opt.data;
    json["config"]["threads"] = at::get_num_threads();
    write_json_file(opt.out, json);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"Train a recommender with a .loss file; report test metrics at the best validation epoch"};
  app.add_option("--data", opt.data, "dataset folder (NAME.train.csv, NAME.validation.csv, NAME.test.csv)")
      ->check(CLI::ExistingDirectory);
  app.add_flag("--synthetic", opt.synthetic, "train on the built-in synthetic dataset instead of --data");
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
  app.add_option("--threads", opt.threads, "LibTorch CPU threads; 0: LibTorch's default")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--out", opt.out, "write the result (metrics, history, config) as JSON");

  try {
    app.parse(argc, argv);
    if (opt.data.empty() == !opt.synthetic)
      throw CLI::ValidationError("--data", "give exactly one of --data DIR and --synthetic");
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
