// BiasedMF trained without LibTorch: the model as plain float tables, the
// compiled loss kernel called directly on each minibatch, and updates that
// touch only the rows a batch uses.
//
// It implements the Trainer's protocol (trainer.h) exactly, so the two give
// the same model up to float rounding: the same batch order, the loss of the
// clamped probability (or of the score), l2 · Σ‖p‖² in the loss and l2 as
// weight decay, every gradient element clamped to ±grad_clip before the
// optimiser adds the decay, and LibTorch's SGD, Adam and Adagrad update rules.
// It exists because a from-scratch fit is the search's reward: the LibTorch
// step (autograd graph, dense l2 term and optimiser over every table) costs
// about ten times what the arithmetic of a 128-row batch does.
//
// The decay of rows a batch does not touch:
//   gd       each untouched row only shrinks by (1 − lr·(2·l2 + l2)) per step,
//            so the factor is applied lazily, as a power, when the row is next
//            read (exact while 2·l2·|p| stays under grad_clip, which holds for
//            any l2 ≤ 1 and |p| < 25);
//   adam,    their moment estimates change every step, so every row is
//   adagrad  updated every step (the loop is dense, but free of autograd).
//
// Not thread-safe; one trainer per thread. Its kernel comes from the
// runtime's cache, which threads share.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "compiler/ir/loss_function.h"
#include "models/rec/data/dataset.h"
#include "models/metrics.h"
#include "models/rec/rec_model.h"
#include "models/rec/trainer.h"

namespace losscc::models {
namespace native {
class Batches;   // native_tables.h
class LossStep;  // native_loss.h
}

class NativeMfTrainer {
 public:
  // A fresh BiasedMF initialised exactly as make_model("biasedmf", …, seed)
  // initialises the LibTorch one. Throws std::invalid_argument for a bad
  // config or a loss whose inputs a pointwise trainer cannot feed.
  NativeMfTrainer(int64_t num_users, int64_t num_items, uint64_t model_seed, const LossFunction& loss,
                  TrainConfig config);
  // Starts from the parameters of a LibTorch BiasedMF (make_model's
  // "biasedmf"); std::invalid_argument when `model` is not one.
  NativeMfTrainer(const RecModel& model, const LossFunction& loss, TrainConfig config);
  ~NativeMfTrainer();
  NativeMfTrainer(const NativeMfTrainer&) = delete;
  NativeMfTrainer& operator=(const NativeMfTrainer&) = delete;

  // As Trainer::train_steps / train_epoch: the mean batch loss without the
  // l2 term; throws NonFiniteLoss.
  double train_steps(const Interactions& train, int64_t steps);
  double train_epoch(const Interactions& train);
  // Probabilities and metrics of every row, as models::evaluate.
  std::vector<float> predict(const Interactions& rows);
  Metrics evaluate(const Interactions& rows);
  FitResult fit(const Dataset& data, const std::function<void(const EpochLog&)>& on_epoch = {});

  // Copies the current parameters into a LibTorch BiasedMF of the same shape.
  void write_to(RecModel& model);
  const TrainConfig& config() const { return config_; }

  struct Tables;  // the parameters and the optimiser's state

 private:
  double step(const int64_t* rows, int64_t n, const Interactions& data);
  void bring_up_to_date();  // gd: apply every row's pending decay

  TrainConfig config_;
  std::unique_ptr<native::LossStep> loss_;
  std::unique_ptr<Tables> tables_;
  std::unique_ptr<native::Batches> batches_;
};

}  // namespace losscc::models
