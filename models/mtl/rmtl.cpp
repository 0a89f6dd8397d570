#include "models/mtl/rmtl.h"

#include <torch/autograd.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <random>
#include <stdexcept>

#include "models/module_state.h"

namespace losscc::models::mtl {

CriticImpl::CriticImpl(const ModelShape& shape, const std::vector<int64_t>& bottom, const std::vector<int64_t>& tower) {
  input = register_module("input", FeatureEmbedding(shape.field_sizes, shape.numerical, shape.embed_dim));
  action_layer = register_module("action", torch::nn::Linear(1, shape.embed_dim));
  std::vector<int64_t> layers = bottom;
  layers.insert(layers.end(), tower.begin(), tower.end());
  net = register_module("net", mlp(input->output_dim() + shape.embed_dim, layers, shape.dropout, true));
}

at::Tensor CriticImpl::forward(const at::Tensor& categorical, const at::Tensor& numerical, const at::Tensor& action) {
  const at::Tensor x = at::cat({input(categorical, numerical), action_layer(action.view({-1, 1}))}, 1);
  return -at::relu(net->forward(x)).squeeze(1);
}

at::Tensor td_targets(const at::Tensor& reward, const at::Tensor& done, const at::Tensor& q_target_next,
                      const at::Tensor& q_next, double gamma) {
  return reward + gamma * (1 - done) * at::minimum(q_target_next, q_next);
}

at::Tensor rmtl_weights(const at::Tensor& q, double lambda) { return 1 - lambda * q.detach(); }

at::Tensor bce_reward(const at::Tensor& action, const at::Tensor& label) {
  const at::Tensor a = action.clamp(1e-4, 1 - 1e-4);
  return label * at::log(a) + (1 - label) * at::log(1 - a);
}

void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  torch::NoGradGuard no_grad;
  auto to = target.named_parameters();
  for (const auto& item : source.named_parameters()) to[item.key()].mul_(1 - tau).add_(item.value(), tau);
  auto to_buffers = target.named_buffers();
  for (const auto& item : source.named_buffers()) to_buffers[item.key()].copy_(item.value());
}

std::vector<at::Tensor> critic_targets(MtlModel& actor, std::vector<Critic>& critics, std::vector<Critic>& targets,
                                      const MtlRows& train, const at::Tensor& next, const at::Tensor& done,
                                      const at::Tensor& rewards, const at::Tensor& smoothing, double gamma) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> out;
  for (size_t k = 0; k < critics.size(); ++k) out.push_back(rewards.select(1, static_cast<int64_t>(k)).clone());
  const at::Tensor going_on = done.eq(0).nonzero().squeeze(1);
  if (going_on.size(0) == 0) return out;
  // Every network is in eval mode, so a row's values do not depend on which
  // rows share its batch.
  actor.eval();
  const MtlRows s_next = train.select(next.index_select(0, going_on));
  const at::Tensor next_action =
      (actor.forward(s_next.categorical, s_next.numerical).prob + smoothing.index_select(0, going_on)).clamp(0, 1);
  for (size_t k = 0; k < critics.size(); ++k) {
    critics[k]->eval();
    targets[k]->eval();
    const auto task = static_cast<int64_t>(k);
    const at::Tensor a = next_action.select(1, task);
    out[k].index_copy_(0, going_on,
                       td_targets(rewards.select(1, task).index_select(0, going_on), done.index_select(0, going_on),
                                  targets[k]->forward(s_next.categorical, s_next.numerical, a),
                                  critics[k]->forward(s_next.categorical, s_next.numerical, a), gamma));
  }
  return out;
}

namespace {

// Transitions by row number of the training split: (s, a, r, s′, done).
class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, int64_t tasks)
      : rows_(at::zeros({capacity}, at::kLong)), next_(at::zeros({capacity}, at::kLong)),
        done_(at::zeros({capacity}, at::kFloat)), actions_(at::zeros({capacity, tasks}, at::kFloat)),
        rewards_(at::zeros({capacity, tasks}, at::kFloat)) {}
  void add(const at::Tensor& rows, const at::Tensor& next, const at::Tensor& done, const at::Tensor& actions,
           const at::Tensor& rewards) {
    const int64_t capacity = rows_.size(0);
    for (int64_t start = 0; start < rows.size(0);) {
      const int64_t count = std::min(rows.size(0) - start, capacity - cursor_);
      const auto dst = at::indexing::Slice(cursor_, cursor_ + count);
      const auto src = at::indexing::Slice(start, start + count);
      rows_.index_put_({dst}, rows.index({src}));
      next_.index_put_({dst}, next.index({src}));
      done_.index_put_({dst}, done.index({src}));
      actions_.index_put_({dst}, actions.index({src}));
      rewards_.index_put_({dst}, rewards.index({src}));
      cursor_ = (cursor_ + count) % capacity;
      size_ = std::min(size_ + count, capacity);
      start += count;
    }
  }
  int64_t size() const { return size_; }
  struct Batch { at::Tensor rows, next, done, actions, rewards; };
  Batch sample(int64_t count, std::mt19937_64& rng) const {
    std::vector<int64_t> picks(count);
    for (int64_t& p : picks) p = static_cast<int64_t>(rng() % static_cast<uint64_t>(size_));
    const at::Tensor index = at::tensor(picks, at::kLong);
    return {rows_.index_select(0, index), next_.index_select(0, index), done_.index_select(0, index),
            actions_.index_select(0, index), rewards_.index_select(0, index)};
  }

 private:
  at::Tensor rows_, next_, done_, actions_, rewards_;
  int64_t cursor_ = 0, size_ = 0;
};

class Rmtl : public Weighting {
 public:
  Rmtl(const RmtlConfig& config, uint64_t seed, MtlModel& model, int64_t tasks)
      : config_(config), tasks_(tasks), rng_(seed ^ 0x9e3779b97f4a7c15ULL), buffer_(config.buffer, tasks) {
    if (config.lambda < 0 || config.gamma < 0 || config.gamma > 1 || config.tau <= 0 || config.tau > 1 ||
        config.pretrain_epochs < 0 || config.soft_update_every < 1 || config.critic_every < 1 ||
        config.critic_batch < 1 || config.buffer < 1 || config.critic_lr <= 0)
      throw std::invalid_argument(
          "rmtl: needs lambda >= 0, gamma in [0, 1], tau in (0, 1], pretrain epochs >= 0, critic updates every >= 1 "
          "steps, a critic batch, a buffer and a learning rate");
    const ModelShape& shape = model.shape();
    const std::vector<int64_t> bottom =
        config.critic_bottom.empty() ? std::vector<int64_t>{shape.bottom.back()} : config.critic_bottom;
    const auto& tower = config.critic_tower.empty() ? shape.tower : config.critic_tower;
    // The critics draw their initialisation from their own seeded generator,
    // leaving LibTorch's global one as the model left it.
    models::detail::GlobalRngRestorer restore;
    at::manual_seed(seed + 7919);
    std::vector<at::Tensor> params;
    for (int64_t k = 0; k < tasks; ++k) {
      critics_.push_back(Critic(shape, bottom, tower));
      targets_.push_back(Critic(shape, bottom, tower));
      copy_state(*critics_.back(), *targets_.back());
      for (const at::Tensor& p : critics_.back()->parameters()) params.push_back(p);
    }
    optimizer_ = std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(config.critic_lr).weight_decay(config.critic_weight_decay));
  }

  Terms terms(const Step& step) override {
    const int64_t n = step.batch.size();
    if (step.epoch <= config_.pretrain_epochs) return {at::ones({n, tasks_}, at::kFloat), {}};
    torch::NoGradGuard no_grad;
    std::vector<at::Tensor> w;
    for (int64_t k = 0; k < tasks_; ++k) {
      critics_[k]->eval();
      w.push_back(rmtl_weights(
          critics_[k]->forward(step.batch.categorical, step.batch.numerical, step.out.prob.detach().select(1, k)),
          config_.lambda));
    }
    const at::Tensor weights = at::stack(w, 1);
    last_mean_weights_ = weights.mean(0).to(at::kDouble).contiguous();
    return {weights, {}};
  }

  void begin_epoch(int epoch, MtlModel& model, const MtlRows& train) override {
    if (epoch != config_.pretrain_epochs + 1) return;
    // The critics start from the pretrained actor's embeddings.
    for (int64_t k = 0; k < tasks_; ++k) {
      copy_state(*model.input_layer(), *critics_[k]->input);
      copy_state(*critics_[k], *targets_[k]);
    }
    // Fill the buffer with the pretrained actor's actions over the training
    // split, then train the critics.
    const int64_t batch = config_.critic_batch;
    for (int64_t start = 0; start < train.size(); start += batch) {
      const at::Tensor rows = at::arange(start, std::min(start + batch, train.size()), at::kLong);
      at::Tensor prob;
      {
        torch::NoGradGuard no_grad;
        model.eval();
        const MtlRows part = train.select(rows);
        prob = model.forward(part.categorical, part.numerical).prob;
      }
      store(train, rows, prob);
    }
    const int64_t steps = config_.warmup_steps > 0 ? config_.warmup_steps : (train.size() + batch - 1) / batch;
    for (int64_t s = 0; s < steps; ++s) update_critics(model, train, batch);
    model.train();
  }

  void after_step(const Step& step, const at::Tensor&) override {
    if (step.epoch <= config_.pretrain_epochs) return;
    store(step.train, step.rows, step.out.prob.detach());
    if (++actor_steps_ % config_.critic_every != 0) return;
    update_critics(step.model, step.train, config_.critic_batch);
    step.model.train();
  }

  nlohmann::json state() const override {
    nlohmann::json j = {{"critic_updates", updates_}, {"buffer", buffer_.size()},
                        {"critic_loss", last_critic_loss_}};
    if (last_mean_weights_.defined())
      j["weights"] = std::vector<double>(last_mean_weights_.data_ptr<double>(),
                                         last_mean_weights_.data_ptr<double>() + last_mean_weights_.numel());
    else
      j["weights"] = std::vector<double>(tasks_, 1.0);
    return j;
  }

 private:
  at::Tensor noise(at::IntArrayRef shape, double std) {
    std::normal_distribution<float> normal(0.f, static_cast<float>(std));
    at::Tensor out = at::empty(shape, at::kFloat);
    float* p = out.data_ptr<float>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = std > 0 ? normal(rng_) : 0.f;
    return out;
  }

  // Transitions of `rows` of train with actions prob + exploration noise.
  void store(const MtlRows& train, const at::Tensor& rows, const at::Tensor& prob) {
    const at::Tensor actions = (prob + noise(prob.sizes(), config_.explore_noise)).clamp(0, 1);
    const at::Tensor labels = train.labels.index_select(0, rows);
    const at::Tensor rewards = bce_reward(actions, labels);
    at::Tensor next = train.has_sessions() ? train.next.index_select(0, rows) : at::full({rows.size(0)}, -1, at::kLong);
    const at::Tensor done = next.lt(0).to(at::kFloat);
    next = at::where(next.lt(0), rows, next);  // a final state's "next" is itself, masked by done
    buffer_.add(rows, next, done, actions, rewards);
  }

  void update_critics(MtlModel& model, const MtlRows& train, int64_t batch) {
    if (buffer_.size() == 0) return;
    const ReplayBuffer::Batch b = buffer_.sample(batch, rng_);
    const MtlRows s = train.select(b.rows);
    const at::Tensor smoothing = noise({b.rows.size(0), tasks_}, config_.target_noise)
                                     .clamp(-config_.target_noise_clip, config_.target_noise_clip);
    const std::vector<at::Tensor> targets =
        critic_targets(model, critics_, targets_, train, b.next, b.done, b.rewards, smoothing, config_.gamma);
    at::Tensor loss = at::zeros({}, at::kFloat);
    for (int64_t k = 0; k < tasks_; ++k) {
      critics_[k]->train();
      const at::Tensor q = critics_[k]->forward(s.categorical, s.numerical, b.actions.select(1, k));
      loss = loss + (q - targets[k]).pow(2).mean();
    }
    optimizer_->zero_grad();
    loss.backward();
    optimizer_->step();
    last_critic_loss_ = loss.item<double>() / static_cast<double>(tasks_);
    if (++updates_ % config_.soft_update_every == 0)
      for (int64_t k = 0; k < tasks_; ++k) soft_update(*targets_[k], *critics_[k], config_.tau);
  }

  RmtlConfig config_;
  int64_t tasks_;
  std::mt19937_64 rng_;
  ReplayBuffer buffer_;
  std::vector<Critic> critics_, targets_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  int64_t updates_ = 0, actor_steps_ = 0;
  double last_critic_loss_ = 0;
  at::Tensor last_mean_weights_;
};

}  // namespace

std::unique_ptr<Weighting> make_rmtl_weighting(const RmtlConfig& config, uint64_t seed, MtlModel& model,
                                               int64_t tasks) {
  return std::make_unique<Rmtl>(config, seed, model, tasks);
}

}  // namespace losscc::models::mtl
