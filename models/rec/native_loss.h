// The loss side of a native trainer's step (native_mf.h, native_deep.h): the
// loss's inputs bound to what the model gives (trainer.h's bind_loss_inputs),
// its fused forward+backward kernel, and on each minibatch the model's scores
// turned into the reduced loss and ∂loss/∂score, through the probability
// clamp and the sigmoid, as the LibTorch Trainer's graph computes them.
//
// Not thread-safe (it keeps a step's scratch); one per trainer.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "compiler/ir/loss_function.h"
#include "models/rec/trainer.h"

namespace losscc::rt {
class Kernel;
}

namespace losscc::models::native {

class LossStep {
 public:
  // std::invalid_argument for an optimiser the trainers do not know or a
  // loss a pointwise trainer cannot feed (as Trainer throws them).
  LossStep(const LossFunction& loss, const TrainConfig& config);
  ~LossStep();

  // The reduced loss of n rows' scores and labels; `dscore` becomes
  // ∂loss/∂score. NonFiniteLoss when the loss or a gradient is not finite.
  double run(const float* score, const float* label, int64_t n, std::vector<float>& dscore);

 private:
  double prob_clip_;
  std::vector<LossSource> sources_;
  std::vector<int> grad_inputs_;  // indices of the inputs fed from the model
  std::shared_ptr<const rt::Kernel> kernel_;
  std::vector<float> prob_, clipped_;            // a step's, kept so that a step allocates nothing
  std::vector<std::vector<float>> loss_grads_;   // one per input the model feeds
};

}  // namespace losscc::models::native
