// Multi-task data: every row has categorical fields, numerical features and
// one 0/1 label per task, and may belong to a session (an ordered visit).
// The unit every multi-task model trains on and every metric is computed
// over; the loaders (census.h, sessions.h) all produce it.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/errors.h"

namespace losscc::models::mtl {

// A file that is missing, unreadable or malformed. what() names the file and,
// for a bad row, its line and column: "sessions.csv:17:12: pay: expected 0 or 1, got '2'".
struct MtlDataError : DataError {
  using DataError::DataError;
};

// Rows of one split. Categorical value 0 of every field means "unknown"
// (not seen in the training split); 1.. are the known values.
struct MtlRows {
  at::Tensor categorical;  // int64 [n, fields]
  at::Tensor numerical;    // float32 [n, features] (features may be 0)
  at::Tensor labels;       // float32 [n, tasks], 0 or 1
  // Sessions (undefined when the data has none): rows of a session are
  // consecutive and in time order; next[i] is the row after i in its session,
  // -1 for the last one.
  at::Tensor session;  // int64 [n], dense 0..sessions-1 within the split
  at::Tensor next;     // int64 [n]
  int64_t size() const { return categorical.defined() ? categorical.size(0) : 0; }
  bool has_sessions() const { return session.defined(); }
  // Rows `index` (int64 row numbers), in that order. Session ids are kept;
  // `next` is not (row numbers mean nothing in the selection).
  MtlRows select(const at::Tensor& index) const;
};

struct MtlDataset {
  std::string name;
  std::vector<std::string> tasks;              // one per label column
  std::vector<std::string> categorical_names;  // one per categorical field
  std::vector<int64_t> field_sizes;            // values per field, "unknown" included
  std::vector<std::string> numerical_names;
  MtlRows train, valid, test;
  int64_t num_tasks() const { return static_cast<int64_t>(tasks.size()); }
};

// next[] for rows whose session ids are consecutive runs: next[i] = i + 1
// while the session continues, else -1.
at::Tensor next_in_session(const at::Tensor& session);

// Standardises every numerical column of the three splits with the training
// split's mean and standard deviation (a constant column is only centred).
void standardise_on_train(MtlDataset& data);

// One line per split: "train 59,859 rows; task income 6.2% positive, ...".
std::string describe(const MtlDataset& data);

}  // namespace losscc::models::mtl
