// What every tool (losstrain, losstrain-mtl, lossrank, lossrank-eval and the
// search tool losssearch) shares: their exit codes and
// how an exception out of a run becomes one (bad input — the .loss, rendered
// with its file, line and column; a data file; a setting the model cannot
// take — exits 2, a run that fails on good input, such as diverged training,
// exits 1), and writing their JSON result.
#pragma once

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compiler/language/diagnostics.h"
#include "models/errors.h"

namespace losscc::models {

inline constexpr int kRunError = 1;
inline constexpr int kUsageError = 2;

// run()'s exit code, or the one its exception means.
template <class Run>
int run_reporting_errors(const char* tool, const Run& run) {
  try {
    return run();
  } catch (const CompileError& e) {
    fmt::print(stderr, "{}", e.render());  // render() ends the line
    return kUsageError;
  } catch (const DataError& e) {
    fmt::print(stderr, "{}: {}\n", tool, e.what());
    return kUsageError;
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "{}: {}\n", tool, e.what());
    return kUsageError;
  } catch (const NonFiniteLoss& e) {
    fmt::print(stderr, "{}: training diverged: {}\n", tool, e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: {}\n", tool, e.what());
  }
  return kRunError;
}

// Writes `json` (indented, one trailing newline) to `path`; throws
// std::runtime_error naming the path when it cannot.
inline void write_json_file(const std::string& path, const nlohmann::json& json) {
  std::ofstream file(path);
  file << json.dump(2) << "\n";
  if (!file) throw std::runtime_error(fmt::format("{}: cannot write", path));
}

}  // namespace losscc::models
