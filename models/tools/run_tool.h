// The exit codes of the model tools (losstrain, losstrain-mtl, lossrank) and
// how an exception out of a run becomes one: bad input (the .loss, rendered
// with its file, line and column; a data file; a setting the model cannot
// take) exits 2, a run that fails on good input (diverged training) exits 1.
#pragma once

#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

#include "compiler/language/diagnostics.h"

namespace losscc::models {

inline constexpr int kRunError = 1;
inline constexpr int kUsageError = 2;

// run()'s exit code, or the one its exception means. `DataError` is the
// tool's bad-data error, `Diverged` its non-finite-training one.
template <class DataError, class Diverged, class Run>
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
  } catch (const Diverged& e) {
    fmt::print(stderr, "{}: training diverged: {}\n", tool, e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: {}\n", tool, e.what());
  }
  return kRunError;
}

}  // namespace losscc::models
