#include "search/reward_cache.h"

#include <algorithm>

#include "compiler/passes/fingerprint.h"

namespace losscc::search {

RewardCache::RewardCache(size_t capacity, double fingerprint_tolerance)
    : capacity_(std::max<size_t>(capacity, 1)), tolerance_(fingerprint_tolerance) {}

std::optional<RewardCache::Hit> RewardCache::find(uint64_t hash,
                                                  const std::vector<double>& fingerprint) {
  if (auto it = index_.find(hash); it != index_.end()) {
    touch(it->second);
    return Hit{it->second->reward, hash};
  }
  // A linear scan: at most `capacity` short vectors, cheap next to one
  // training step, and a tolerance match has no hash to index by.
  for (auto it = order_.begin(); it != order_.end(); ++it) {
    if (same_fingerprint(it->fingerprint, fingerprint, tolerance_)) {
      touch(it);
      return Hit{it->reward, it->hash};
    }
  }
  return std::nullopt;
}

void RewardCache::put(uint64_t hash, std::vector<double> fingerprint, double reward) {
  if (auto it = index_.find(hash); it != index_.end()) {
    it->second->reward = reward;
    it->second->fingerprint = std::move(fingerprint);
    touch(it->second);
    return;
  }
  if (index_.size() == capacity_) {
    index_.erase(order_.back().hash);
    order_.pop_back();
  }
  order_.push_front({hash, std::move(fingerprint), reward});
  index_.emplace(hash, order_.begin());
}

}  // namespace losscc::search
