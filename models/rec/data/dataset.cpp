#include "models/rec/data/dataset.h"

namespace losscc::models {

Interactions Interactions::select(const at::Tensor& index) const {
  return {users.index_select(0, index), items.index_select(0, index), labels.index_select(0, index)};
}

}  // namespace losscc::models
