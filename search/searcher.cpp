#include "search/searcher.h"

#include <torch/serialize.h>

#include <stdexcept>

#include "search/atomic_file.h"

namespace losscc::search {

namespace {

// Uniform over each decision, under the same masks as the policy when
// masking is on.
class RandomSearcher final : public Searcher {
 public:
  RandomSearcher(const SearchSpace& space, bool mask)
      : space_(space), viable_(mask ? std::make_unique<ViableTokens>(space) : nullptr) {}
  std::string_view name() const override { return "random"; }
  std::vector<Token> propose(std::mt19937_64& rng) override {
    return viable_ ? sample_viable(*viable_, space_, rng) : sample_uniform(space_, rng);
  }
  bool observe(const std::vector<Token>&, std::optional<double>) override { return false; }

 private:
  SearchSpace space_;
  std::unique_ptr<ViableTokens> viable_;
};

class RlSearcher final : public Searcher {
 public:
  RlSearcher(const SearchSpace& space, const PolicyConfig& policy, const ReinforceConfig& config)
      : reinforce_(LossPolicy(space, policy), config) {}
  std::string_view name() const override { return "rl"; }

  std::vector<Token> propose(std::mt19937_64& rng) override {
    return reinforce_.policy()->sample(rng);
  }
  bool observe(const std::vector<Token>& tokens, std::optional<double> measured) override {
    return reinforce_.observe(tokens, measured).filtered;
  }

  nlohmann::json state() const override { return reinforce_.state(); }
  void restore(const nlohmann::json& state) override { reinforce_.restore(state); }
  int64_t tensor_version() const override { return reinforce_.updates(); }

  void save_tensors(const std::string& prefix) override {
    produce_file_atomically(prefix + "policy.pt", [&](const std::string& tmp) {
      torch::serialize::OutputArchive archive;
      reinforce_.policy()->save(archive);
      archive.save_to(tmp);
    });
    produce_file_atomically(prefix + "optimizer.pt", [&](const std::string& tmp) {
      torch::serialize::OutputArchive archive;
      reinforce_.optimizer().save(archive);
      archive.save_to(tmp);
    });
  }
  void load_tensors(const std::string& prefix) override {
    torch::serialize::InputArchive policy, optimizer;
    policy.load_from(prefix + "policy.pt");
    reinforce_.policy()->load(policy);
    optimizer.load_from(prefix + "optimizer.pt");
    reinforce_.optimizer().load(optimizer);
  }

 private:
  Reinforce reinforce_;
};

}  // namespace

const std::vector<std::string>& searcher_names() {
  static const std::vector<std::string> names = {"rl", "random"};
  return names;
}

std::unique_ptr<Searcher> make_searcher(std::string_view name, const SearchSpace& space,
                                        const PolicyConfig& policy,
                                        const ReinforceConfig& reinforce) {
  if (name == "rl") return std::make_unique<RlSearcher>(space, policy, reinforce);
  if (name == "random") return std::make_unique<RandomSearcher>(space, policy.mask);
  throw std::invalid_argument("unknown searcher '" + std::string(name) + "' (rl, random)");
}

}  // namespace losscc::search
