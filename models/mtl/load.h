// One entry point to the multi-task loaders, so every tool reads the same
// paths the same way: no path means the built-in synthetic sessions, a
// folder holding sessions.csv the session format (sessions.h), anything else
// census-income (census.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/mtl/data.h"

namespace losscc::models::mtl {

struct MtlLoadOptions {
  uint64_t split_seed = 0;           // census: the hash split's seed; synthetic: its generator's seed − 1
  int64_t max_rows = 0;              // census: read only the first rows (0: all)
  bool skip_bad_lines = false;       // sessions: skip and list malformed lines instead of failing
  int64_t synthetic_sessions = 3000;
};

struct MtlLoad {
  MtlDataset data;
  std::vector<std::string> bad_lines;  // sessions skipped with skip_bad_lines, "file:line:col: why"
};

// Throws MtlDataError naming file:line:column for a malformed file.
MtlLoad load_mtl_data(const std::string& path, const MtlLoadOptions& options = {});

}  // namespace losscc::models::mtl
