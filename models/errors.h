// The failures every loader and trainer of the three task families shares,
// so the tools map them to exit codes with one ladder (tools/run_tool.h)
// and the search rejects a diverging candidate of any family the same way.
#pragma once

#include <stdexcept>

namespace losscc::models {

// A data file that cannot be read as its format says: a usage error (exit 2).
// The recommender's DatasetError, the multi-task MtlDataError and the LETOR
// LtrDataError derive from it.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A batch loss or gradient that is NaN or infinite. The recommender, ranking
// and multi-task trainers all throw it; the search turns it into the minimum
// reward, never a crash.
class NonFiniteLoss : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace losscc::models
