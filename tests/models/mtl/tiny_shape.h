// The small model shape the multi-task tests train and probe: quick to fit
// on a few hundred synthetic sessions, every layer kind still present.
#pragma once

#include "models/mtl/data.h"
#include "models/mtl/mtl_model.h"

namespace losscc::models::mtl::testing {

inline ModelShape tiny_shape(const MtlDataset& data) {
  ModelShape s;
  s.field_sizes = data.field_sizes;
  s.numerical = static_cast<int64_t>(data.numerical_names.size());
  s.tasks = data.num_tasks();
  s.embed_dim = 4;
  s.bottom = {16, 8};
  s.tower = {8};
  s.experts = 2;
  return s;
}

}  // namespace losscc::models::mtl::testing
