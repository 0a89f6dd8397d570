// `ple`: progressive layered extraction. One extraction level per bottom
// size; a level has one task-specific expert per task and `experts` shared
// experts (each a single Linear → BatchNorm → ReLU → Dropout layer). Task k's
// gate mixes its own expert and the shared ones; between levels a shared gate
// mixes every expert into the shared experts' next input. Then a tower per task.
#include <torch/nn/modules/linear.h>

#include "models/mtl/architectures.h"

namespace losscc::models::mtl {

namespace {

class Ple : public MtlModel {
 public:
  explicit Ple(const ModelShape& s) : MtlModel("ple", s), tasks_(s.tasks), shared_(s.experts) {
    input_ = register_module("input", FeatureEmbedding(s.field_sizes, s.numerical, s.embed_dim));
    int64_t in = input_->output_dim();
    for (size_t level = 0; level < s.bottom.size(); ++level) {
      const int64_t out = s.bottom[level];
      const std::string l = std::to_string(level);
      Level lv;
      for (int64_t k = 0; k < tasks_; ++k) {
        lv.specific.push_back(register_module("specific" + l + "_" + std::to_string(k), mlp(in, {out}, s.dropout, false)));
        lv.task_gates.push_back(register_module("gate" + l + "_" + std::to_string(k), torch::nn::Linear(in, 1 + shared_)));
      }
      for (int64_t e = 0; e < shared_; ++e)
        lv.shared.push_back(register_module("shared" + l + "_" + std::to_string(e), mlp(in, {out}, s.dropout, false)));
      if (level + 1 < s.bottom.size())
        lv.shared_gate = register_module("shared_gate" + l, torch::nn::Linear(in, tasks_ + shared_));
      levels_.push_back(std::move(lv));
      in = out;
    }
    for (int64_t k = 0; k < tasks_; ++k)
      towers_.push_back(register_module("tower" + std::to_string(k), mlp(in, s.tower, s.dropout, true)));
  }

  MtlOutput forward(const at::Tensor& categorical, const at::Tensor& numerical) override {
    const at::Tensor x = input_(categorical, numerical);
    std::vector<at::Tensor> task_in(tasks_, x);
    at::Tensor shared_in = x;
    for (Level& lv : levels_) {
      std::vector<at::Tensor> specific, shared;
      for (int64_t k = 0; k < tasks_; ++k) specific.push_back(lv.specific[k]->forward(task_in[k]));
      for (auto& expert : lv.shared) shared.push_back(expert->forward(shared_in));
      std::vector<at::Tensor> next(tasks_);
      for (int64_t k = 0; k < tasks_; ++k) {
        std::vector<at::Tensor> pool = {specific[k]};
        pool.insert(pool.end(), shared.begin(), shared.end());
        const at::Tensor gate = at::softmax(lv.task_gates[k](task_in[k]), 1).unsqueeze(2);
        next[k] = (gate * at::stack(pool, 1)).sum(1);
      }
      if (lv.shared_gate) {
        std::vector<at::Tensor> pool = specific;
        pool.insert(pool.end(), shared.begin(), shared.end());
        const at::Tensor gate = at::softmax(lv.shared_gate(shared_in), 1).unsqueeze(2);
        shared_in = (gate * at::stack(pool, 1)).sum(1);
      }
      task_in = std::move(next);
    }
    std::vector<at::Tensor> logits;
    for (int64_t k = 0; k < tasks_; ++k) logits.push_back(towers_[k]->forward(task_in[k]));
    return from_logits(at::cat(logits, 1));
  }
  std::vector<at::Tensor> shared_parameters() override {
    std::vector<at::Tensor> weights;
    for (auto& expert : levels_.back().shared) weights.push_back(last_linear_weight(expert));
    return weights;
  }
  FeatureEmbedding input_layer() override { return input_; }

 private:
  struct Level {
    std::vector<torch::nn::Sequential> specific, shared;
    std::vector<torch::nn::Linear> task_gates;
    torch::nn::Linear shared_gate{nullptr};
  };
  int64_t tasks_, shared_;
  FeatureEmbedding input_{nullptr};
  std::vector<Level> levels_;
  std::vector<torch::nn::Sequential> towers_;
};

}  // namespace

std::shared_ptr<MtlModel> make_ple(const ModelShape& shape) { return std::make_shared<Ple>(shape); }

}  // namespace losscc::models::mtl
