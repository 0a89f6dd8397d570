#include "controller/run_search.h"

#include <csignal>
#include <filesystem>

#include <fmt/format.h>

#include "controller/atomic_file.h"

namespace losscc::search {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" {
static void on_interrupt(int signal) {
  g_interrupted.store(true);
  std::signal(signal, SIG_DFL);
}
}

}  // namespace

std::string resume_command(int argc, char** argv, bool resuming) {
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  return resuming ? command : command + " --resume";
}

const std::atomic<bool>& interrupted() { return g_interrupted; }

bool run_to_budget(LossSearch& search, bool resume, const std::string& tool, const std::string& resume_line) {
  search.start(resume);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  if (search.run(g_interrupted) != LossSearch::Stop::Interrupted) return true;
  fmt::print(stderr, "[{}] interrupted after {} candidates; checkpoint written. Resume with:\n  {}\n", tool,
             search.counters().candidates, resume_line);
  return false;
}

std::vector<NamedLoss> write_found_losses(const LossSearch& search, const std::string& out_dir,
                                          const std::string& tool, const std::string& reward_name) {
  std::vector<NamedLoss> found;
  for (size_t i = 0; i < search.top().size(); ++i) {
    const FoundLoss& f = search.top()[i];
    const std::string name = fmt::format("found-{}", i + 1);
    write_file_atomically((std::filesystem::path(out_dir) / (name + ".loss")).string(),
                          fmt::format("# {}: candidate {}, {} {:.6f} during the search\n{}", tool, f.id, reward_name,
                                      f.reward, f.source));
    found.push_back({name, "search", f.source, f.reward});
  }
  return found;
}

}  // namespace losscc::search
