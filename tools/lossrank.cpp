// lossrank: trains one ranker (linear or MLP) with one `.loss` on a LETOR
// fold and reports every ranking metric, in both conventions, for train,
// validation and test at the best validation NDCG@10 epoch.
//
//   lossrank --data ../shared/data/MQ2008 --fold 1 --model mlp --loss examples/listnet.loss
//   lossrank --synthetic --model linear --loss examples/ranknet.loss --out result.json
#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "compiler/language/parse.h"
#include "models/ltr/ltr_trainer.h"
#include "tools/run_tool.h"

namespace {

using namespace losscc;
using namespace losscc::models::ltr;

using models::kUsageError;

// ListNet (examples/listnet.loss), the loss when --loss is not given.
constexpr const char* kDefaultLoss =
    "input score: real as pred\n"
    "input label: grade\n"
    "-qsum(softmax(label) * (score - qlse(score)))\n";

struct Options {
  std::string data;
  int fold = 1;
  bool synthetic = false;
  bool query_norm = false;
  std::string model = "mlp";
  std::string loss_file;
  std::string out;
  int threads = 0;
  ScorerShape shape;
  LtrTrainConfig train;
};

std::string metric_line(const SplitMetrics& m) {
  auto one = [](const RankingMetrics& r) {
    return fmt::format("ndcg@1/3/5/10 {:.4f}/{:.4f}/{:.4f}/{:.4f} map {:.4f}", r.ndcg.at(1), r.ndcg.at(3),
                       r.ndcg.at(5), r.ndcg.at(10), r.map);
  };
  return fmt::format("standard {} ({} skipped) | letor {}", one(m.standard), m.standard.skipped, one(m.letor));
}

int run(Options opt) {
  if (opt.threads > 0) at::set_num_threads(opt.threads);
  LetorOptions letor;
  letor.query_norm = opt.query_norm;
  const LtrDataset data = opt.synthetic ? synthetic_ltr() : load_letor_fold(opt.data, opt.fold, letor);
  fmt::print("{}: {} features\n{}", data.name, data.dims, describe(data));
  const LossFunction loss =
      opt.loss_file.empty() ? parse_loss(kDefaultLoss, "listnet") : parse_loss_file(opt.loss_file);
  opt.shape.dims = data.dims;
  LtrTrainer trainer(make_scorer(opt.model, opt.shape, opt.train.seed), loss, opt.train);
  fmt::print("model {} ({} parameters), loss {} ({}), {} thread(s)\n", opt.model, trainer.model().parameter_count(),
             opt.loss_file.empty() ? "listnet (built in)" : opt.loss_file,
             loss.grouped() ? "ranking, per query" : "pointwise", at::get_num_threads());
  std::fflush(stdout);

  const LtrTrainer::FitResult result = trainer.fit(data, [](const LtrTrainer::EpochLog& e) {
    fmt::print("epoch {:3d}  train loss {:.5f}  valid ndcg@10 {:.4f} (standard)  {:.2f} s\n", e.epoch, e.train_loss,
               e.valid_ndcg10, e.seconds);
    std::fflush(stdout);
  });
  fmt::print("best epoch {} of {} ({:.1f} s)\n  valid: {}\n  test:  {}\n", result.best_epoch, result.epochs,
             result.seconds, metric_line(result.valid), metric_line(result.test));

  if (!opt.out.empty()) {
    nlohmann::json json = result.to_json();
    json["config"] = opt.train.to_json();
    json["config"]["model"] = opt.model;
    json["config"]["shape"] = opt.shape.to_json();
    json["config"]["loss"] = opt.loss_file.empty() ? std::string("listnet (built in)") : opt.loss_file;
    json["config"]["data"] = opt.synthetic ? std::string("synthetic") : opt.data;
    json["config"]["fold"] = opt.synthetic ? 0 : opt.fold;
    json["config"]["query_norm"] = opt.query_norm;
    json["config"]["threads"] = at::get_num_threads();
    json["data"] = {{"name", data.name},
                    {"features", data.dims},
                    {"train_queries", data.train.queries()},
                    {"valid_queries", data.valid.queries()},
                    {"test_queries", data.test.queries()},
                    {"test_queries_without_relevant", data.test.queries_without_relevant()}};
    models::write_json_file(opt.out, json);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"Train a ranker (linear or MLP) with a .loss on a LETOR fold; report NDCG@1/3/5/10, P@k, MAP "
               "and MRR in the standard and the LETOR-official convention at the best validation NDCG@10 epoch"};
  app.add_option("--data", opt.data, "LETOR folder: S1.txt..S5.txt (MQ2008) or Fold1/..Fold5/ with train/vali/test.txt");
  app.add_option("--fold", opt.fold, "fold (S files: train S_K..S_K+2, validate S_K+3, test S_K+4)")
      ->check(CLI::Range(1, 5))->capture_default_str();
  app.add_flag("--synthetic", opt.synthetic, "train on a built-in synthetic ranking set instead of --data");
  app.add_flag("--query-norm", opt.query_norm, "min-max normalise every feature within each query");
  app.add_option("--model", opt.model, "scorer")->check(CLI::IsMember(scorer_kinds()))->capture_default_str();
  app.add_option("--loss", opt.loss_file, "the .loss file (default: ListNet)");
  ScorerShape& s = opt.shape;
  app.add_option("--hidden", s.hidden, "MLP hidden sizes")->delimiter(',')->capture_default_str();
  app.add_option("--dropout", s.dropout, "MLP dropout")->check(CLI::Range(0.0, 0.99))->capture_default_str();
  app.add_flag("--batch-norm", s.batch_norm, "MLP batch norm after every hidden layer");
  LtrTrainConfig& t = opt.train;
  app.add_option("--optimizer", t.optimizer, "optimiser")->check(CLI::IsMember({"adam", "sgd"}))->capture_default_str();
  app.add_option("--lr", t.lr, "learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--weight-decay", t.weight_decay, "weight decay")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--batch", t.batch, "queries per step")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--epochs", t.epochs, "most epochs")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--patience", t.patience, "stop when the best validation NDCG@10 is this many epochs old")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", t.seed, "model initialisation and query order")->capture_default_str();
  app.add_flag("--shuffle-docs", t.shuffle_documents,
               "reshuffle documents within each training query every epoch (label ties broken at random)");
  std::string ideal_zero = "skip";
  app.add_option("--ideal-zero", ideal_zero, "standard convention: queries with ideal DCG 0 are skipped (and counted) or score 1")
      ->check(CLI::IsMember({"skip", "one"}))->capture_default_str();
  app.add_option("--threads", opt.threads, "LibTorch CPU threads; 0: LibTorch's default")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--out", opt.out, "write the result (metrics per split and convention, history, config) as JSON");

  try {
    app.parse(argc, argv);
    opt.train.ideal_zero = ideal_zero == "skip" ? IdealZero::Skip : IdealZero::One;
    if (opt.data.empty() == !opt.synthetic)
      throw CLI::ValidationError("--data", "give exactly one of --data DIR and --synthetic");
    if (!opt.data.empty() && !std::filesystem::is_directory(opt.data))
      throw CLI::ValidationError("--data", fmt::format("{}: no such folder", opt.data));
    if (!opt.loss_file.empty() && !std::filesystem::exists(opt.loss_file))
      throw CLI::ValidationError("--loss", fmt::format("{}: no such file", opt.loss_file));
    for (int64_t size : opt.shape.hidden)
      if (size < 1) throw CLI::ValidationError("--hidden", "layer sizes must be >= 1");
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "lossrank: {}\n", e.what());
    return kUsageError;
  }
  return models::run_reporting_errors("lossrank", [&] { return run(opt); });
}
