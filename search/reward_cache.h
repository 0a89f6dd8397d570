// What the search already knows about losses it has trained: the reward of
// each canonical loss, found by its hash or, for different canonical forms of
// the same function, by its gradient fingerprint (check.h) within a relative
// tolerance. Bounded: the least recently used entry goes first, so memory
// stays flat over any number of candidates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

namespace losscc::search {

class RewardCache {
 public:
  RewardCache(size_t capacity, double fingerprint_tolerance);

  struct Hit {
    double reward;
    uint64_t hash;  // the cached loss's hash (differs from the query on a fingerprint hit)
  };
  // The cached reward of the loss with `hash`, else of one whose fingerprint
  // matches `fingerprint`; the entry becomes the most recently used.
  std::optional<Hit> find(uint64_t hash, const std::vector<double>& fingerprint);
  void put(uint64_t hash, std::vector<double> fingerprint, double reward);

  size_t size() const { return index_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    uint64_t hash;
    std::vector<double> fingerprint;
    double reward;
  };
  using Order = std::list<Entry>;  // most recently used first
  void touch(Order::iterator it) { order_.splice(order_.begin(), order_, it); }

  size_t capacity_;
  double tolerance_;
  Order order_;
  std::unordered_map<uint64_t, Order::iterator> index_;
};

}  // namespace losscc::search
