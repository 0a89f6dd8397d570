// The native BiasedMF trainer against its oracle, the LibTorch Trainer: the
// same parameters step for step, the same metrics after whole epochs.
#include "tests/doctest_torch.h"

#include <filesystem>
#include <string>

#include "compiler/language/parse.h"
#include "models/rec/data/load_dataset.h"
#include "models/rec/data/synthetic.h"
#include "models/rec/native_mf.h"
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

// The largest |a − b| / max(1, |b|) over every parameter of two models.
double parameter_gap(const RecModel& a, const RecModel& b) {
  double gap = 0;
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  for (const auto& item : pa) {
    const at::Tensor x = item.value().detach(), y = pb[item.key()].detach();
    gap = std::max(gap, ((x - y).abs() / y.abs().clamp_min(1)).max().item<double>());
  }
  return gap;
}

}  // namespace

TEST_CASE("native BiasedMF matches the LibTorch trainer step for step") {
  const Dataset& data = synthetic();
  for (const std::string optimizer : {"gd", "adam", "adagrad"})
    for (const std::string loss_name : {"bce", "logmin", "mse"}) {
      CAPTURE(optimizer);
      CAPTURE(loss_name);
      TrainConfig config;
      config.optimizer = optimizer;
      config.lr = optimizer == "gd" ? 0.5 : 0.01;  // gd: large enough to move in 60 steps
      config.seed = 7;
      const losscc::LossFunction loss = example(loss_name);
      auto reference = make_model("biasedmf", data.num_users, data.num_items, 3);
      NativeMfTrainer native(*reference, loss, config);
      Trainer oracle(reference, loss, config);
      for (int round = 0; round < 3; ++round) {
        const double a = native.train_steps(data.train, 20);
        const double b = oracle.train_steps(data.train, 20);
        CHECK(a == doctest::Approx(b).epsilon(1e-4));
      }
      auto trained = make_model("biasedmf", data.num_users, data.num_items, 99);
      native.write_to(*trained);
      const double gap = parameter_gap(*trained, oracle.model());
      MESSAGE(optimizer << " " << loss_name << ": largest parameter gap " << gap);
      CHECK(gap < 1e-4);
      CHECK(native.evaluate(data.valid).auc == doctest::Approx(evaluate(oracle.model(), data.valid).auc).epsilon(1e-4));
    }
}

TEST_CASE("native BiasedMF: same validation AUC as LibTorch after 5 epochs on ml100k") {
  const std::string dir = std::string(LOSSCC_SHARED_DATA) + "/ml100k01-1-5";
  if (!std::filesystem::exists(dir)) {
    MESSAGE("skipped: " << dir << " is not there");
    return;
  }
  static const Dataset data = load_dataset(dir);
  for (const std::string loss_name : {"bce", "logmin"}) {
    CAPTURE(loss_name);
    TrainConfig config;
    config.optimizer = "adam";
    config.lr = 0.01;
    config.epochs = 5;
    config.patience = 5;
    const losscc::LossFunction loss = example(loss_name);
    NativeMfTrainer native(data.num_users, data.num_items, 1, loss, config);
    Trainer oracle(make_model("biasedmf", data.num_users, data.num_items, 1), loss, config);
    const FitResult a = native.fit(data), b = oracle.fit(data);
    MESSAGE(loss_name << ": native valid AUC " << a.valid.auc << ", LibTorch " << b.valid.auc);
    CHECK(std::abs(a.valid.auc - b.valid.auc) <= 0.002);
    CHECK(std::abs(a.test.auc - b.test.auc) <= 0.002);
  }
}

TEST_CASE("native BiasedMF rejects what the Trainer rejects") {
  TrainConfig config;
  config.optimizer = "sgd-nesterov";
  CHECK_THROWS_AS(NativeMfTrainer(10, 10, 1, example("bce"), config), std::invalid_argument);
  config = TrainConfig{};
  CHECK_THROWS_AS(NativeMfTrainer(10, 10, 1, example("bpr"), config), std::invalid_argument);
  auto deep = make_model("deepmodel", 10, 10, 1);
  CHECK_THROWS_AS(NativeMfTrainer(*deep, example("bce"), config), std::invalid_argument);
}

TEST_CASE("native BiasedMF: a loss that blows up is NonFiniteLoss, not a crash") {
  const Dataset& data = synthetic();
  TrainConfig config;
  config.optimizer = "adam";
  NativeMfTrainer native(data.num_users, data.num_items, 1,
                         losscc::parse_loss("log(pred - pred)", "nan.loss"), config);
  CHECK_THROWS_AS(native.train_steps(data.train, 1), NonFiniteLoss);
}
