// The one failure every trainer shares: a batch loss or gradient that is NaN
// or infinite. The recommender, ranking and multi-task trainers all throw it,
// so the search rejects a diverging candidate of any task family the same way
// (as the minimum reward, never a crash) without translating three types.
#pragma once

#include <stdexcept>

namespace losscc::models {

class NonFiniteLoss : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace losscc::models
