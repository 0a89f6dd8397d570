// DeepModel trained without autograd: the embeddings and the MLP as plain
// float tables, the forward and backward passes of its layers written out,
// the compiled loss kernel called on each minibatch, and the optimiser
// applied table by table (native_tables.h).
//
// It implements the Trainer's protocol (trainer.h) for DeepModel (deep_model.h)
// exactly, so the two give the same model up to float rounding: the same batch
// order; BatchNorm with the batch's statistics in training (and running
// statistics, momentum 0.1, updated as LibTorch does) and the running ones in
// evaluation; the same dropout masks, drawn by the same ATen call from a copy
// of the model's own dropout generator; l2 · Σ‖p‖² over every parameter in the
// loss and l2 as weight decay; every gradient element clamped to ±grad_clip;
// LibTorch's SGD, Adam and Adagrad. It exists because a LibTorch DeepModel step
// on a batch of 128 is almost all per-op overhead (about 2.5 ms for some
// 3 million multiply-adds).
//
// Not thread-safe; one trainer per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "compiler/ir/loss_function.h"
#include "models/metrics.h"
#include "models/rec/data/dataset.h"
#include "models/rec/rec_model.h"
#include "models/rec/trainer.h"

namespace losscc::models {
namespace native {
class Batches;   // native_tables.h
class LossStep;  // native_loss.h
}

class NativeDeepTrainer {
 public:
  // Starts from the parameters, buffers and dropout generator of a LibTorch
  // DeepModel (make_model's "deepmodel"); std::invalid_argument when `model`
  // is not one, for a bad config, or a loss a pointwise trainer cannot feed.
  NativeDeepTrainer(const RecModel& model, const LossFunction& loss, TrainConfig config);
  // A fresh DeepModel initialised exactly as make_model("deepmodel", …, seed).
  NativeDeepTrainer(int64_t num_users, int64_t num_items, uint64_t model_seed, const LossFunction& loss,
                    TrainConfig config);
  ~NativeDeepTrainer();
  NativeDeepTrainer(const NativeDeepTrainer&) = delete;
  NativeDeepTrainer& operator=(const NativeDeepTrainer&) = delete;

  // As Trainer::train_steps / train_epoch: the mean batch loss without the l2
  // term; throws NonFiniteLoss.
  double train_steps(const Interactions& train, int64_t steps);
  double train_epoch(const Interactions& train);
  // Probabilities (eval mode: running statistics, no dropout) and metrics.
  std::vector<float> predict(const Interactions& rows);
  Metrics evaluate(const Interactions& rows);
  FitResult fit(const Dataset& data, const std::function<void(const EpochLog&)>& on_epoch = {});

  // Copies the parameters and BatchNorm's buffers into a LibTorch DeepModel of
  // the same shape.
  void write_to(RecModel& model);
  const TrainConfig& config() const { return config_; }

  struct State;  // the tables, BatchNorm's buffers and a step's scratch

 private:
  double step(const int64_t* rows, int64_t n, const Interactions& data);
  void bring_up_to_date();  // gd: apply every embedding row's pending decay

  TrainConfig config_;
  std::unique_ptr<native::LossStep> loss_;
  std::unique_ptr<State> state_;
  std::unique_ptr<native::Batches> batches_;
  int64_t num_batches_tracked_ = 0;  // BatchNorm's count when the model was read
};

}  // namespace losscc::models
