#include "benchmarks/common/machine.h"

#ifdef LOSSCC_BENCH_WITH_TORCH
#include <ATen/Parallel.h>
#include <torch/version.h>
#endif

#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>

namespace losscc::bench {
namespace {

// The value of the first "key: value" line of `path` that starts with `key`.
std::string field_of(const std::string& path, const std::string& key) {
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    if (line.rfind(key, 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

bool has_flag(const std::string& flags, const char* f) {
  return (" " + flags + " ").find(std::string(" ") + f + " ") != std::string::npos;
}

}  // namespace

std::string first_line_of(const std::string& command) {
  FILE* p = popen((command + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return "";
  char buf[512] = {0};
  std::string out = std::fgets(buf, sizeof buf, p) != nullptr ? buf : "";
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

nlohmann::json machine_info(const std::string& source_dir) {
  const std::time_t t = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  const std::string flags = field_of("/proc/cpuinfo", "flags");
  nlohmann::json isa = nlohmann::json::array();
  for (const char* f : {"avx2", "fma", "avx512f"})
    if (has_flag(flags, f)) isa.push_back(f);
  const std::string git = "git -C '" + source_dir + "' ";
  const std::string commit = first_line_of(git + "rev-parse HEAD");
  nlohmann::json m = {
      {"date_utc", date},
      {"cpu_model", field_of("/proc/cpuinfo", "model name")},
      {"hardware_threads", std::thread::hardware_concurrency()},
      {"isa", isa},
      {"kernel", first_line_of("uname -sr")},
      {"mem_total", field_of("/proc/meminfo", "MemTotal")},
      {"git_commit", commit.empty() ? nlohmann::json(nullptr) : nlohmann::json(commit)},
      {"git_tracked_changes", !first_line_of(git + "status --porcelain --untracked-files=no").empty()},
      {"cxx_compiler", LOSSCC_BENCH_CXX},
  };
#ifdef LOSSCC_BENCH_WITH_TORCH
  m["libtorch_version"] = TORCH_VERSION;
  m["aten_parallel"] = at::get_parallel_info();
#endif
  return m;
}

}  // namespace losscc::bench
