// Scorers and the per-query training loop on the built-in synthetic set:
// training with a compiled ranking loss beats the untrained model, runs are
// reproducible, early stopping reports the best epoch's state, and the
// loss's inputs bind by role.
#include "tests/doctest_torch.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <string>

#include "compiler/language/parse.h"
#include "models/ltr/ltr_trainer.h"

using namespace losscc;
using namespace losscc::models::ltr;

namespace {

LossFunction example(const std::string& name) {
  return parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/") + name + ".loss");
}

const LtrDataset& data() {
  static const LtrDataset d = synthetic_ltr();
  return d;
}

ScorerShape shape(const std::string& kind) {
  ScorerShape s;
  s.dims = data().dims;
  s.hidden = {16};
  if (kind == "mlp") s.batch_norm = true;
  return s;
}

LtrTrainConfig config(int epochs) {
  LtrTrainConfig c;
  c.epochs = epochs;
  c.patience = epochs;
  c.lr = 0.01;
  return c;
}

}  // namespace

TEST_CASE("scorers: shapes, parameter counts, bad shapes") {
  const auto linear = make_scorer("linear", shape("linear"), 1);
  CHECK(linear->parameter_count() == data().dims + 1);
  const auto mlp = make_scorer("mlp", shape("mlp"), 1);
  CHECK(mlp->parameter_count() == (data().dims + 1) * 16 + 2 * 16 + 17);  // batch norm: 2 per unit
  CHECK((mlp->forward(at::randn({7, data().dims})).sizes() == at::IntArrayRef{7}));
  CHECK_THROWS_AS(make_scorer("tree", shape("mlp"), 1), std::invalid_argument);
  ScorerShape bad = shape("mlp");
  bad.hidden = {0};
  CHECK_THROWS_AS(make_scorer("mlp", bad, 1), std::invalid_argument);
}

TEST_CASE("training with a compiled ranking loss beats the untrained scorer, for linear and MLP") {
  at::set_num_threads(1);
  for (const char* kind : {"linear", "mlp"})
    for (const char* loss : {"listnet", "ranknet"}) {
      CAPTURE(kind);
      CAPTURE(loss);
      const auto model = make_scorer(kind, shape(kind), 3);
      const double before = evaluate_split(*model, data().test).standard.ndcg.at(10);
      LtrTrainer trainer(model, example(loss), config(15));
      const LtrTrainer::FitResult r = trainer.fit(data());
      CHECK(r.test.standard.ndcg.at(10) > before + 0.05);
      CHECK(r.test.standard.ndcg.at(10) > 0.75);
      CHECK(r.test.letor.ndcg.at(10) < r.test.standard.ndcg.at(10));  // short lists count 0 there
      CHECK(r.train.standard.skipped == data().train.queries_without_relevant());
    }
}

TEST_CASE("fit: reproducible from the seed; reports the best validation epoch's state") {
  at::set_num_threads(1);
  auto fit = [](uint64_t seed) {
    LtrTrainConfig c = config(12);
    c.seed = seed;
    c.patience = 3;
    LtrTrainer trainer(make_scorer("mlp", shape("mlp"), seed), example("listmle"), c);
    return trainer.fit(data());
  };
  const LtrTrainer::FitResult a = fit(5), b = fit(5), c = fit(6);
  REQUIRE(a.history.size() == b.history.size());
  for (size_t e = 0; e < a.history.size(); ++e) CHECK(a.history[e].train_loss == b.history[e].train_loss);
  CHECK(a.test.standard.ndcg.at(10) == b.test.standard.ndcg.at(10));
  CHECK(a.history[0].train_loss != c.history[0].train_loss);
  // The restored state is the best epoch's: its validation NDCG@10 is the
  // maximum of the history, and the run stopped `patience` epochs after it
  // (or at the last epoch).
  double best = 0;
  for (const auto& e : a.history) best = std::max(best, e.valid_ndcg10);
  CHECK(a.valid.standard.ndcg.at(10) == doctest::Approx(best));
  CHECK(a.history[a.best_epoch - 1].valid_ndcg10 == best);
  CHECK((a.epochs == 12 || a.epochs == a.best_epoch + 3));
  // Per test query, keyed by query id: the queries the standard mean counts,
  // and that mean.
  const LtrDataset& d = data();
  CHECK(static_cast<int64_t>(a.test_ndcg10_per_query.size()) == d.test.queries() - a.test.standard.skipped);
  double sum = 0;
  for (const auto& [qid, ndcg] : a.test_ndcg10_per_query) {
    CHECK(std::find(d.test.qids.begin(), d.test.qids.end(), qid) != d.test.qids.end());
    sum += ndcg;
  }
  CHECK(sum / a.test_ndcg10_per_query.size() == doctest::Approx(a.test.standard.ndcg.at(10)).epsilon(1e-12));
  CHECK(a.to_json().at("test_ndcg@10_per_query").size() == a.test_ndcg10_per_query.size());
}

TEST_CASE("shuffling documents within queries: reproducible, and a different run") {
  at::set_num_threads(1);
  auto first_loss = [](bool shuffle) {
    LtrTrainConfig c = config(2);
    c.shuffle_documents = shuffle;
    LtrTrainer trainer(make_scorer("linear", shape("linear"), 2), example("listmle"), c);
    return trainer.train_epoch(data().train);
  };
  CHECK(first_loss(true) == first_loss(true));
  CHECK(first_loss(true) != first_loss(false));  // ListMLE's ideal order depends on tie order
}

TEST_CASE("loss inputs bind by role; pointwise losses train per document") {
  // A pointwise loss on sigmoid(score) against label > 0.
  LtrTrainer pointwise(make_scorer("linear", shape("linear"), 1),
                       parse_loss("input pred: prob\ninput label: binary\n(pred - label)^2", "mse"), config(3));
  CHECK(std::isfinite(pointwise.train_epoch(data().train)));
  CHECK_THROWS_AS(LtrTrainer(make_scorer("linear", shape("linear"), 1),
                             parse_loss("input pos: real\ninput neg: real\nsoftplus(neg - pos)", "bpr"), config(1)),
                  std::invalid_argument);
  LtrTrainConfig bad = config(1);
  bad.optimizer = "lbfgs";
  CHECK_THROWS_AS(LtrTrainer(make_scorer("linear", shape("linear"), 1), example("listnet"), bad),
                  std::invalid_argument);
}
