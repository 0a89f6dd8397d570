// The native DeepModel trainer against its oracle, the LibTorch Trainer: the
// same parameters and BatchNorm statistics step for step (with and without
// dropout, whose masks both draw from the model's generator). Over longer
// runs the two drift apart, as float rounding (the paths sum in different
// orders) is amplified by training: LibTorch drifts from itself as fast when
// its initial parameters are scaled by 1 + 1e-5, so 30 steps are compared.
#include "tests/doctest_torch.h"

#include <string>

#include "compiler/language/parse.h"
#include "models/rec/data/synthetic.h"
#include "models/rec/deep_model.h"
#include "models/rec/native_deep.h"
#include "models/rec/trainer.h"

using namespace losscc::models;

namespace {

const Dataset& synthetic() {
  static const Dataset d = synthetic_dataset();
  return d;
}

losscc::LossFunction example(const std::string& name) {
  return losscc::parse_loss_file(std::string(LOSSCC_SOURCE_DIR) + "/examples/" + name + ".loss");
}

// The largest |a − b| / max(1, |b|) over every parameter and buffer of two models.
double state_gap(const RecModel& a, const RecModel& b) {
  double gap = 0;
  for (const auto& [da, db] : {std::pair{a.named_parameters(), b.named_parameters()},
                               std::pair{a.named_buffers(), b.named_buffers()}})
    for (const auto& item : da) {
      const at::Tensor x = item.value().detach().to(at::kDouble), y = db[item.key()].detach().to(at::kDouble);
      gap = std::max(gap, ((x - y).abs() / y.abs().clamp_min(1)).max().item<double>());
    }
  return gap;
}

std::shared_ptr<RecModel> deep_model(const Dataset& data, double dropout) {
  if (dropout == 0.2) return make_model("deepmodel", data.num_users, data.num_items, 3);
  torch::manual_seed(3);
  return std::make_shared<DeepModel>(data.num_users, data.num_items, 64, dropout);
}

}  // namespace

TEST_CASE("native DeepModel matches the LibTorch trainer step for step") {
  const Dataset& data = synthetic();
  for (const double dropout : {0.0, 0.2})
    for (const std::string optimizer : {"gd", "adam", "adagrad"})
      for (const std::string loss_name : {"bce", "logmin"}) {
        CAPTURE(dropout);
        CAPTURE(optimizer);
        CAPTURE(loss_name);
        TrainConfig config;
        config.optimizer = optimizer;
        config.lr = optimizer == "gd" ? 0.1 : 0.01;
        config.seed = 7;
        const losscc::LossFunction loss = example(loss_name);
        auto reference = deep_model(data, dropout);
        NativeDeepTrainer native(*reference, loss, config);
        Trainer oracle(reference, loss, config);
        for (int round = 0; round < 3; ++round) {
          const double a = native.train_steps(data.train, 10);
          const double b = oracle.train_steps(data.train, 10);
          CHECK(a == doctest::Approx(b).epsilon(1e-4));
        }
        auto trained = deep_model(data, dropout);
        native.write_to(*trained);
        const double gap = state_gap(*trained, oracle.model());
        MESSAGE(dropout << " " << optimizer << " " << loss_name << ": largest parameter or buffer gap " << gap);
        // 1e-3, not BiasedMF's 1e-4: a bias in front of a BatchNorm has a
        // zero gradient up to rounding, which Adam and Adagrad normalise into
        // steps of about ±lr, so the two paths' rounding noise shows there.
        CHECK(gap < 1e-3);
        CHECK(native.evaluate(data.valid).auc ==
              doctest::Approx(evaluate(oracle.model(), data.valid).auc).epsilon(1e-4));
      }
}

TEST_CASE("native DeepModel rejects what it cannot train") {
  const Dataset& data = synthetic();
  auto mf = make_model("biasedmf", data.num_users, data.num_items, 1);
  CHECK_THROWS_WITH_AS(NativeDeepTrainer(*mf, example("bce"), TrainConfig{}), doctest::Contains("not a DeepModel"),
                       std::invalid_argument);
  TrainConfig one_row;
  one_row.batch = 1;
  NativeDeepTrainer native(data.num_users, data.num_items, 1, example("bce"), one_row);
  CHECK_THROWS_WITH_AS(native.train_steps(data.train, 1), doctest::Contains("BatchNorm needs two"),
                       std::invalid_argument);
}
