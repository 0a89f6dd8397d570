// Implicit-feedback interaction data: who met which item, and whether they
// liked it. The unit every model trains on and every metric is computed over.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace losscc::models {

// Row i: user users[i] met item items[i] with label labels[i] (1 = liked).
// Ids are dense, 0..num_users-1 and 0..num_items-1; rows are in time order.
struct Interactions {
  at::Tensor users;   // int64 [n]
  at::Tensor items;   // int64 [n]
  at::Tensor labels;  // float32 [n], 0 or 1
  int64_t size() const { return users.defined() ? users.size(0) : 0; }
  // Rows `index` (an int64 tensor of row numbers), in that order.
  Interactions select(const at::Tensor& index) const;
};

// Train, validation and test splits over one id space. The split follows
// AutoLossGen/NCR: per user (with at least 5 interactions) the last positive
// and the negatives after it form the test rows, the positive before that and
// the negatives up to the test rows form the validation rows, the rest is train.
struct Dataset {
  std::string name;
  int64_t num_users = 0, num_items = 0;
  Interactions train, valid, test;
};

}  // namespace losscc::models
