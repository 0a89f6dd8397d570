#include "controller/rank_task.h"

#include <limits>

namespace losscc::search {

namespace ltr = models::ltr;

nlohmann::json RankTaskConfig::identity(const std::string& data_name) const {
  return {{"data", data_name}, {"model", model}, {"shape", shape.to_json()}, {"train", train.to_json()}};
}

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

CandidateTrainer rank_task_trainer(const ltr::LtrDataset& data, const RankTaskConfig& config) {
  return [&data, &config](const LossFunction& fn) {
    const ltr::LtrTrainer::FitResult r =
        fit_ranker(data, config, fn, config.reward_epochs, config.reward_patience, config.train.seed);
    TrainOutcome out;
    out.reward = r.best_epoch > 0 ? r.valid.standard.ndcg.at(10) : std::numeric_limits<double>::quiet_NaN();
    out.train_seconds = r.seconds;
    return out;
  };
}

nlohmann::json rank_task_effectiveness(const ltr::LtrDataset& data, const RankTaskConfig& config,
                                       const std::vector<NamedLoss>& losses, uint64_t seed, int seeds,
                                       const EffectProgress& progress, const std::atomic<bool>& interrupt) {
  const EffectFitter fit = [&](const LossFunction& fn, uint64_t s) {
    const ltr::LtrTrainer::FitResult r = fit_ranker(data, config, fn, config.train.epochs, config.train.patience, s);
    nlohmann::json json = r.to_json();
    json.erase("history");
    return EffectFit{json, r.valid.standard.ndcg.at(10), r.test.standard.ndcg.at(10)};
  };
  return effectiveness_rows(losses, seed, seeds, fit, progress, interrupt, "ndcg@10");
}

}  // namespace losscc::search
