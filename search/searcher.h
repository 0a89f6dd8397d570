// Who proposes the next candidate: the RL controller or uniform random
// sampling. The search loop treats both alike (same schedule, same
// evaluation, same checkpoints), so a benchmark can compare them at equal
// budget.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "search/policy.h"
#include "search/reinforce.h"
#include "search/space/search_space.h"

namespace losscc::search {

class Searcher {
 public:
  virtual ~Searcher() = default;
  virtual std::string_view name() const = 0;

  virtual std::vector<Token> propose(std::mt19937_64& rng) = 0;
  // The outcome of the last proposal: its measured reward, or nullopt when it
  // was rejected. Returns whether the reward was filtered (reward filtering).
  virtual bool observe(const std::vector<Token>& tokens, std::optional<double> measured) = 0;

  // Checkpointing: small state as JSON; tensors (policy, optimiser) as files
  // under `prefix` + "policy.pt" / "optimizer.pt". tensor_version() changes
  // whenever the tensors do, so unchanged tensors need not be written again.
  virtual nlohmann::json state() const { return nlohmann::json::object(); }
  virtual void restore(const nlohmann::json&) {}
  virtual int64_t tensor_version() const { return 0; }
  virtual void save_tensors(const std::string& /*prefix*/) {}
  virtual void load_tensors(const std::string& /*prefix*/) {}
};

// The searcher names make_searcher() accepts: "rl", "random". Both decode
// under ViableTokens' masks when policy.mask is set.
const std::vector<std::string>& searcher_names();
// Throws std::invalid_argument for an unknown name.
std::unique_ptr<Searcher> make_searcher(std::string_view name, const SearchSpace& space,
                                        const PolicyConfig& policy,
                                        const ReinforceConfig& reinforce);

}  // namespace losscc::search
