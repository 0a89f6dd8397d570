// The controller's policy: an LSTM that writes a loss one token at a time, as
// in ENAS and AutoLossGen.
//
// For each operator node the LSTM first picks the operator (a softmax over the
// operator table), then each input by attention over the nodes that exist so
// far: the leaves' learned embeddings and the hidden states the LSTM had when
// it finished each earlier node. Logits are squashed as c·tanh(logits)
// (c = 1.5), which keeps the policy from collapsing onto one choice early.
//
// With masking on (the default), every decision is made under the masks of
// ViableTokens (search/space/viable_tokens.h): masked choices get logit
// −∞ before the softmax, so they are never drawn, and the log-probability
// and entropy that REINFORCE uses are those of the masked distribution.
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

#include <memory>
#include <random>
#include <vector>

#include "search/space/search_space.h"
#include "search/space/viable_tokens.h"

namespace losscc::search {

struct PolicyConfig {
  int hidden = 64;             // LSTM size
  double tanh_constant = 1.5;  // logits → c·tanh(logits)
  bool mask = true;            // decide under ViableTokens' masks
};

class LossPolicyImpl : public torch::nn::Module {
 public:
  LossPolicyImpl(const SearchSpace& space, PolicyConfig config = {});

  std::vector<Token> sample(std::mt19937_64& rng);

  struct Score {
    at::Tensor log_prob;  // scalar: Σ log π(choice) over every decision
    at::Tensor entropy;   // scalar: Σ entropy of every decision's distribution
  };
  // Throws InvalidTokens when `tokens` is not a program of the space. A
  // token its masks forbid has log-probability −∞.
  Score score(const std::vector<Token>& tokens);

  const SearchSpace& space() const { return space_; }

 private:
  // One pass over the decisions: draws them when `rng` is set (filling
  // `tokens`), otherwise replays `tokens`.
  Score walk(std::vector<Token>& tokens, std::mt19937_64* rng);

  SearchSpace space_;
  PolicyConfig config_;
  std::unique_ptr<ViableTokens> viable_;  // null without masking
  torch::nn::LSTMCell lstm_{nullptr};
  at::Tensor start_;                    // [1, hidden]: the input of every operator decision
  torch::nn::Embedding op_embedding_{nullptr};
  torch::nn::Embedding leaf_embedding_{nullptr};
  torch::nn::Linear op_logits_{nullptr};
  torch::nn::Linear attn_key_{nullptr}, attn_query_{nullptr}, attn_score_{nullptr};
};
TORCH_MODULE(LossPolicy);

}  // namespace losscc::search
