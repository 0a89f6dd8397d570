#include "models/mtl/load.h"

#include <filesystem>

#include "models/mtl/census.h"
#include "models/mtl/sessions.h"

namespace losscc::models::mtl {

MtlLoad load_mtl_data(const std::string& path, const MtlLoadOptions& options) {
  if (path.empty()) {
    SyntheticSessionConfig config;
    config.sessions = options.synthetic_sessions;
    config.seed = options.split_seed + 1;
    return {synthetic_sessions(config), {}};
  }
  if (std::filesystem::is_directory(path) && std::filesystem::exists(std::filesystem::path(path) / "sessions.csv")) {
    SessionLoadOptions session_options;
    session_options.skip_bad_lines = options.skip_bad_lines;
    SessionLoad load = load_sessions(path, session_options);
    return {std::move(load.data), std::move(load.bad_lines)};
  }
  CensusOptions census;
  census.split_seed = options.split_seed;
  census.max_rows = options.max_rows;
  return {load_census(path, census), {}};
}

}  // namespace losscc::models::mtl
