// Stable (cross-run, cross-machine) hashing of IR structure, on xxHash64.
// Never hash pointers or unordered containers through this.
#pragma once

// The state's layout is needed to keep it on the stack.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace losscc {

class StableHasher {
 public:
  explicit StableHasher(uint64_t seed) { XXH64_reset(&state_, seed); }
  StableHasher& add(uint64_t v) {
    XXH64_update(&state_, &v, sizeof v);
    return *this;
  }
  // Length-prefixed, so ("ab","c") and ("a","bc") differ.
  StableHasher& add(std::string_view s) {
    add(static_cast<uint64_t>(s.size()));
    XXH64_update(&state_, s.data(), s.size());
    return *this;
  }
  uint64_t digest() const { return XXH64_digest(&state_); }

 private:
  XXH64_state_t state_;
};

}  // namespace losscc
