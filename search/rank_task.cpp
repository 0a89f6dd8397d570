#include "search/rank_task.h"

#include <fmt/format.h>

#include <limits>

namespace losscc::search {

namespace ltr = models::ltr;

ltr::LtrTrainer::FitResult fit_ranker(const ltr::LtrDataset& data, const RankTaskConfig& config,
                                      const LossFunction& fn, int epochs, int patience, uint64_t seed) {
  ltr::LtrTrainConfig train = config.train;
  train.epochs = epochs;
  train.patience = patience;
  train.seed = seed;
  ltr::ScorerShape shape = config.shape;
  shape.dims = data.dims;
  ltr::LtrTrainer trainer(ltr::make_scorer(config.model, shape, train.seed), fn, train);
  return trainer.fit(data);
}

RankTask::RankTask(const ltr::LtrDataset& data, RankTaskConfig config) : data_(data), config_(std::move(config)) {
  if (config_.reward_holdout <= 0) return;
  ltr::HeldOutQueries parts = ltr::hold_out_queries(data_.train, config_.reward_holdout, config_.train.seed);
  reward_data_.name = fmt::format("{} (reward: {:g} of the training queries held out)", data_.name,
                                  config_.reward_holdout);
  reward_data_.dims = data_.dims;
  reward_data_.train = std::move(parts.kept);
  reward_data_.valid = parts.held;
  reward_data_.test = std::move(parts.held);
}

nlohmann::json RankTask::identity() const {
  nlohmann::json id = {{"data", data_.name}, {"model", config_.model}, {"shape", config_.shape.to_json()},
                       {"train", config_.train.to_json()}, {"reward_epochs", config_.reward_epochs},
                       {"reward_patience", config_.reward_patience}};
  if (config_.reward_holdout > 0) id["reward_holdout"] = config_.reward_holdout;
  return id;
}

TrainOutcome RankTask::reward(const LossFunction& fn, const WorkItem&) const {
  const ltr::LtrTrainer::FitResult r =
      fit_ranker(reward_data(), config_, fn, config_.reward_epochs, config_.reward_patience, config_.train.seed);
  TrainOutcome out;
  out.reward = r.best_epoch > 0 ? r.valid.standard.ndcg.at(10) : std::numeric_limits<double>::quiet_NaN();
  out.train_seconds = r.seconds;
  return out;
}

std::vector<NamedLoss> RankTask::baselines(const std::string& examples_dir) const {
  return example_losses(examples_dir,
                        {"rank_mse", "ranknet", "rank_hinge", "lambdarank", "lambdaloss", "listnet", "listmle",
                         "approx_ndcg"});
}

nlohmann::json RankTask::effectiveness(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                                       const EffectProgress& progress, const std::atomic<bool>& interrupt) const {
  const EffectFitter fit = [&](const LossFunction& fn, uint64_t s) {
    const ltr::LtrTrainer::FitResult r = fit_ranker(data_, config_, fn, config_.train.epochs, config_.train.patience, s);
    nlohmann::json json = r.to_json();
    json.erase("history");
    return EffectFit{json, r.valid.standard.ndcg.at(10), r.test.standard.ndcg.at(10)};
  };
  return effectiveness_rows(losses, seed, seeds, workers, fit, progress, interrupt, metric());
}

std::string RankTask::format_row(const nlohmann::json& row) const {
  const std::string name = row.at("name").get<std::string>();
  if (!row.contains("fit")) return fmt::format("{:<12} {}", name, row.value("error", std::string("?")));
  return fmt::format("{:<12} valid ndcg@10 {:.4f}  test ndcg@10 {:.4f} ± {:.4f} standard, {:.4f} letor", name,
                     row.at("valid_ndcg@10_mean").get<double>(), row.at("test_ndcg@10_mean").get<double>(),
                     row.at("test_ndcg@10_std").get<double>(),
                     row.at("fit").at("test").at("letor").at("ndcg@10").get<double>());
}

std::string RankTask::format_table(const nlohmann::json& rows) const {
  const size_t width = name_width(rows, "name", 12);
  std::string out = fmt::format("{:<{}} {:>8} {:>10} {:>19} {:>10} {:>10}\n", "loss", width, "search", "valid@10",
                                "test@10 (± std)", "test@5", "letor@10");
  for (const nlohmann::json& row : rows) {
    if (!row.contains("fit")) {
      out += fmt::format("{:<{}} error: {}\n", row.at("name").get<std::string>(), width,
                         row.value("error", std::string("?")));
      continue;
    }
    const nlohmann::json& f = row.at("fit");
    out += fmt::format("{:<{}} {:>8} {:>10.4f} {:>10.4f} ± {:.4f} {:>10.4f} {:>10.4f}\n",
                       row.at("name").get<std::string>(), width,
                       row.contains("search_reward") ? fmt::format("{:.4f}", row.at("search_reward").get<double>()) : "-",
                       row.at("valid_ndcg@10_mean").get<double>(), row.at("test_ndcg@10_mean").get<double>(),
                       row.at("test_ndcg@10_std").get<double>(), f.at("test").at("standard").at("ndcg@5").get<double>(),
                       f.at("test").at("letor").at("ndcg@10").get<double>());
  }
  out += "valid/test@10: NDCG@10 (standard convention), mean over the seeds; test@5, letor@10: the first seed's fit\n";
  return out;
}

}  // namespace losscc::search
