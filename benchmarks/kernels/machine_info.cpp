// Where the figures were measured: CPU, cores, compilers, libraries, date and
// the git commit of the tree that was built.

#include <ATen/Parallel.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>

#include "benchmarks/kernels/bench.h"
#include "benchmarks/kernels/hand_loops.h"
#include "runtime/kernel.h"

namespace losscc::bench {
namespace {

std::string cpuinfo_field(const std::string& key) {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "";
}

// First line of `command`'s stdout, trimmed; empty on failure.
std::string first_line_of(const std::string& command) {
  FILE* p = popen((command + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return "";
  char buf[512] = {0};
  std::string out = std::fgets(buf, sizeof buf, p) != nullptr ? buf : "";
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool has_flag(const std::string& flags, const char* f) {
  return (" " + flags + " ").find(std::string(" ") + f + " ") != std::string::npos;
}

}  // namespace

json machine_info(const Options& options) {
  std::time_t t = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  const std::string flags = cpuinfo_field("flags");
  json isa = json::array();
  for (const char* f : {"avx2", "fma", "avx512f"}) if (has_flag(flags, f)) isa.push_back(f);
  const std::string git = "git -C '" + options.source_dir + "' ";
  std::string commit = first_line_of(git + "rev-parse HEAD");
  bool dirty = !first_line_of(git + "status --porcelain --untracked-files=no").empty();
  return {
      {"date_utc", date},
      {"cpu_model", cpuinfo_field("model name")},
      {"hardware_threads", std::thread::hardware_concurrency()},
      {"isa", isa},
      {"kernel", first_line_of("uname -sr")},
      {"git_commit", commit.empty() ? json(nullptr) : json(commit)},
      {"git_tracked_changes", dirty},
      {"cxx_compiler", LOSSCC_BENCH_CXX},
      {"hand_loop_compiler", LOSSCC_HAND_COMPILER},
      {"hand_loop_flags", LOSSCC_HAND_FLAGS},
      {"llvm_version", LOSSCC_BENCH_LLVM_VERSION},
      {"libtorch_version", LOSSCC_BENCH_TORCH_VERSION},
      {"aten_parallel", at::get_parallel_info()},
      {"backends", {{"llvm", rt::backend_available(rt::Backend::Llvm)},
                    {"cuda", rt::backend_available(rt::Backend::Cuda)}}},
  };
}

}  // namespace losscc::bench
