// Where a benchmark's figures were measured, the same keys in every
// benchmark's JSON: date_utc, cpu_model, hardware_threads, isa, kernel,
// mem_total, cxx_compiler, libtorch_version, aten_parallel (where LibTorch is
// built in), git_commit and git_tracked_changes of the tree at `source_dir`.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace losscc::bench {

nlohmann::json machine_info(const std::string& source_dir);

// The first line of `command`'s stdout, trimmed; empty on failure.
std::string first_line_of(const std::string& command);

}  // namespace losscc::bench
