#include "search/policy.h"

#include <ATen/core/grad_mode.h>

#include <limits>
#include <tuple>

namespace losscc::search {

namespace {

// One decision among logits.size(1) choices, those with mask entry 0 left
// out (no mask: all allowed): draws or replays `choice`, and adds its
// log-probability and the distribution's entropy to the totals.
int decide(const at::Tensor& raw_logits, double tanh_constant, const std::vector<uint8_t>* mask,
           std::mt19937_64* rng, int choice, LossPolicyImpl::Score& total) {
  if (!rng && mask && !(*mask)[choice]) {
    // Replaying a forbidden choice: probability 0 (the masks after it may
    // forbid everything, so their softmax must not be taken).
    total.log_prob = total.log_prob - std::numeric_limits<double>::infinity();
    return choice;
  }
  at::Tensor logits = tanh_constant * at::tanh(raw_logits.reshape({-1}));
  at::Tensor allowed;
  if (mask) {
    allowed = at::tensor(std::vector<int64_t>(mask->begin(), mask->end()), at::kLong).to(at::kBool);
    logits = logits.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  }
  const at::Tensor log_probs = at::log_softmax(logits, 0);
  const at::Tensor probs = log_probs.exp();
  if (rng) {
    // Inverse-CDF draw with our own RNG (torch's generator is not checkpointed).
    const at::Tensor p = probs.detach().to(at::kDouble).contiguous();
    const double* q = p.data_ptr<double>();
    const int n = static_cast<int>(p.numel());
    double u = std::uniform_real_distribution<double>(0.0, 1.0)(*rng);
    choice = -1;
    for (int i = 0; i < n; ++i) {
      if (q[i] <= 0) continue;
      choice = i;  // rounding leftovers land on the last allowed choice
      u -= q[i];
      if (u < 0) break;
    }
  }
  total.log_prob = total.log_prob + log_probs[choice];
  // Masked choices have p = 0 and log p = −∞: they must add 0, not NaN, to
  // the entropy and to its gradient, so log p is zeroed before the product.
  const at::Tensor finite_log_probs = mask ? at::where(allowed, log_probs, at::zeros_like(log_probs)) : log_probs;
  total.entropy = total.entropy - (probs * finite_log_probs).sum();
  return choice;
}

}  // namespace

LossPolicyImpl::LossPolicyImpl(const SearchSpace& space, PolicyConfig config)
    : space_(space), config_(config) {
  if (config.mask) viable_ = std::make_unique<ViableTokens>(space);
  const int h = config.hidden;
  lstm_ = register_module("lstm", torch::nn::LSTMCell(h, h));
  start_ = register_parameter("start", at::zeros({1, h}).uniform_(-0.1, 0.1));
  op_embedding_ = register_module("op_embedding", torch::nn::Embedding(space.num_ops(), h));
  leaf_embedding_ = register_module("leaf_embedding", torch::nn::Embedding(space.num_leaves(), h));
  op_logits_ = register_module("op_logits", torch::nn::Linear(h, space.num_ops()));
  auto no_bias = [h](int out) { return torch::nn::LinearOptions(h, out).bias(false); };
  attn_key_ = register_module("attn_key", torch::nn::Linear(no_bias(h)));
  attn_query_ = register_module("attn_query", torch::nn::Linear(no_bias(h)));
  attn_score_ = register_module("attn_score", torch::nn::Linear(no_bias(1)));
  // ENAS initialises every controller weight uniformly in [-0.1, 0.1].
  at::NoGradGuard no_grad;
  for (at::Tensor& p : parameters()) p.uniform_(-0.1, 0.1);
}

std::vector<Token> LossPolicyImpl::sample(std::mt19937_64& rng) {
  at::NoGradGuard no_grad;
  std::vector<Token> tokens;
  walk(tokens, &rng);
  return tokens;
}

LossPolicyImpl::Score LossPolicyImpl::score(const std::vector<Token>& tokens) {
  if (std::string error = validation_error(space_, tokens); !error.empty())
    throw InvalidTokens(error);
  std::vector<Token> replay = tokens;
  return walk(replay, nullptr);
}

LossPolicyImpl::Score LossPolicyImpl::walk(std::vector<Token>& tokens, std::mt19937_64* rng) {
  if (rng) tokens.assign(space_.layers(), Token{});
  Score total{at::zeros({}), at::zeros({})};
  const double c = config_.tanh_constant;

  // Every node's representation (what is fed back when it is chosen as an
  // input) and its attention key.
  std::vector<at::Tensor> node_state, node_key;
  for (int leaf = 0; leaf < space_.num_leaves(); ++leaf) {
    node_state.push_back(leaf_embedding_->weight.slice(0, leaf, leaf + 1));
    node_key.push_back(attn_key_(node_state.back()));
  }
  std::tuple<at::Tensor, at::Tensor> hc = {at::zeros({1, config_.hidden}),
                                           at::zeros({1, config_.hidden})};
  auto step = [&](const at::Tensor& x) {
    hc = lstm_(x, hc);
    return std::get<0>(hc);
  };
  // Attention of the current hidden state over every existing node.
  auto pick_input = [&](const at::Tensor& h, const std::vector<uint8_t>* mask, int chosen) {
    const at::Tensor keys = at::cat(node_key, 0);  // [nodes, hidden]
    const at::Tensor logits = attn_score_(at::tanh(keys + attn_query_(h)));
    return decide(logits, c, mask, rng, chosen, total);
  };

  if (viable_) viable_->reset();
  std::vector<uint8_t> lhs_mask, rhs_mask;
  for (int pos = 0; pos < space_.layers(); ++pos) {
    Token& t = tokens[pos];
    t.op = decide(op_logits_(step(start_)), c, viable_ ? &viable_->ops() : nullptr, rng, t.op, total);
    at::Tensor h = step(op_embedding_->weight.slice(0, t.op, t.op + 1));
    if (viable_) lhs_mask = viable_->lhs(t.op);
    t.lhs = pick_input(h, viable_ ? &lhs_mask : nullptr, t.lhs);
    at::Tensor last_input = node_state[t.lhs];
    if (space_.ops()[t.op].arity == 2) {
      h = step(last_input);
      if (viable_) rhs_mask = viable_->rhs(t.op, t.lhs);
      t.rhs = pick_input(h, viable_ ? &rhs_mask : nullptr, t.rhs);
      last_input = node_state[t.rhs];
    } else {
      t.rhs = -1;
    }
    if (viable_) viable_->push(t);
    h = step(last_input);
    node_state.push_back(h);
    node_key.push_back(attn_key_(h));
  }
  return total;
}

}  // namespace losscc::search
