// What the search tools (losssearch, lossrank-search) do around
// LossSearch::run(): the first SIGINT or SIGTERM lets the candidate in flight
// finish and checkpoints (a second one kills the default way), and the
// message says how to resume.
#pragma once

#include <atomic>
#include <string>

#include "controller/search.h"

namespace losscc::search {

// The command line as one string, with --resume added unless `resuming`.
std::string resume_command(int argc, char** argv, bool resuming);

// Set by the first SIGINT or SIGTERM once run_to_budget() has installed its
// handlers; what an effectiveness test after the search checks too.
const std::atomic<bool>& interrupted();

// search.start(resume), then run() to the budget. False when interrupted:
// the checkpoint is written and `tool` has printed `resume_line`.
bool run_to_budget(LossSearch& search, bool resume, const std::string& tool, const std::string& resume_line);

}  // namespace losscc::search
