// The controller's policy: an LSTM that writes a loss one token at a time, as
// in ENAS and AutoLossGen.
//
// For each operator node the LSTM first picks the operator (a softmax over the
// operator table), then each input by attention over the nodes that exist so
// far: the leaves' learned embeddings and the hidden states the LSTM had when
// it finished each earlier node. Logits are squashed as c·tanh(logits)
// (c = 1.5), which keeps the policy from collapsing onto one choice early.
//
// sample() draws a token sequence with a caller-owned RNG (so a checkpoint can
// save the RNG and a resumed search draws the same next candidate) and needs
// no autograd. score() replays a given sequence with autograd on and returns
// its log-probability and entropy: REINFORCE re-scores the samples of an
// aggregation window when it updates, so pending samples are plain tokens
// that a checkpoint can store.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>

#include <random>
#include <vector>

#include "controller/space/search_space.h"

namespace losscc::search {

struct PolicyConfig {
  int hidden = 64;             // LSTM size
  double tanh_constant = 1.5;  // logits → c·tanh(logits)
};

class LossPolicyImpl : public torch::nn::Module {
 public:
  LossPolicyImpl(const SearchSpace& space, PolicyConfig config = {});

  std::vector<Token> sample(std::mt19937_64& rng);

  struct Score {
    at::Tensor log_prob;  // scalar: Σ log π(choice) over every decision
    at::Tensor entropy;   // scalar: Σ entropy of every decision's distribution
  };
  // Throws InvalidTokens when `tokens` is not a program of the space.
  Score score(const std::vector<Token>& tokens);

  const SearchSpace& space() const { return space_; }

 private:
  // One pass over the decisions: draws them when `rng` is set (filling
  // `tokens`), otherwise replays `tokens`.
  Score walk(std::vector<Token>& tokens, std::mt19937_64* rng);

  SearchSpace space_;
  PolicyConfig config_;
  torch::nn::LSTMCell lstm_{nullptr};
  at::Tensor start_;                    // [1, hidden]: the input of every operator decision
  torch::nn::Embedding op_embedding_{nullptr};
  torch::nn::Embedding leaf_embedding_{nullptr};
  torch::nn::Linear op_logits_{nullptr};
  torch::nn::Linear attn_key_{nullptr}, attn_query_{nullptr}, attn_score_{nullptr};
};
TORCH_MODULE(LossPolicy);

}  // namespace losscc::search
