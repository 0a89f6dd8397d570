// Pictures are drawn by python/losscc/plots.py with matplotlib, the
// ecosystem's plotting library; this runs it. Kept beside the loss card (the
// lowest layer `losscc explain` and a search's report both reach) so that
// every C++ caller finds the interpreter and the script the same way: the
// LOSSCC_PYTHON environment variable, else the Python the build was configured
// with; the script from the source tree (LOSSCC_PLOTS_SCRIPT overrides it).
#pragma once

#include <string>
#include <vector>

namespace losscc {

struct PlotOutcome {
  bool ok = false;
  std::string why;                  // when !ok: one line a report can print
  std::vector<std::string> files;   // the PNGs written
};

// Runs `plots.py ARGS...`; never throws for a missing Python or matplotlib.
PlotOutcome run_plotter(const std::vector<std::string>& args);

}  // namespace losscc
