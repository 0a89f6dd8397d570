// What the search tools (losssearch, lossrank-search) do around
// LossSearch::run(): the first SIGINT or SIGTERM lets the candidate in flight
// finish and checkpoints (a second one kills the default way), and the
// message says how to resume; then the found losses are written out for the
// effectiveness test.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "controller/effectiveness.h"
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

// Writes a search's top losses as <out_dir>/found-K.loss, each headed by a
// comment naming `tool`, the candidate and its search reward (`reward_name`),
// and returns them as the effectiveness test's "search" rows, best first.
std::vector<NamedLoss> write_found_losses(const LossSearch& search, const std::string& out_dir,
                                          const std::string& tool, const std::string& reward_name);

}  // namespace losscc::search
