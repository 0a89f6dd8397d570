#include "compiler/explain/plots.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

namespace losscc {

namespace {

std::string setting(const char* variable, const char* built_in) {
  const char* value = std::getenv(variable);
  return value && *value ? value : built_in;
}

// 'it'\''s' quoting for /bin/sh.
std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

PlotOutcome run_plotter(const std::vector<std::string>& args) {
  PlotOutcome outcome;
  const std::string python = setting("LOSSCC_PYTHON", LOSSCC_BUILD_PYTHON);
  const std::string script = setting("LOSSCC_PLOTS_SCRIPT", LOSSCC_BUILD_PLOTS_SCRIPT);
  if (!std::filesystem::exists(script)) {
    outcome.why = fmt::format("no plots: the plotting script {} is not there (set LOSSCC_PLOTS_SCRIPT)", script);
    return outcome;
  }
  std::string command = quoted(python) + " " + quoted(script);
  for (const std::string& a : args) command += " " + quoted(a);
  command += " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    outcome.why = fmt::format("no plots: cannot run {}", python);
    return outcome;
  }
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  std::istringstream lines(output);
  std::string line, last;
  while (std::getline(lines, line)) {
    if (line.rfind("wrote ", 0) == 0)
      outcome.files.push_back(line.substr(6));
    else if (!line.empty())
      last = line;
  }
  outcome.ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!outcome.ok) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
      outcome.why = fmt::format("no plots: {} was not found (set LOSSCC_PYTHON to a Python with matplotlib)", python);
    else
      outcome.why = fmt::format("no plots: {} {}: {}", python, script, last.empty() ? "failed" : last);
  }
  return outcome;
}

}  // namespace losscc
