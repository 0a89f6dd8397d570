// A search's report: report.md beside summary.json, for a person rather than
// a program. It says what was searched, shows the reward over the search,
// how the found losses were chosen from the finalists (selection.h),
// the effectiveness table with its seed spreads, the paired comparison with
// a verdict in words for each found loss against the best classic, the same
// on each transfer dataset with a table of the verdicts across datasets, and
// a loss card (compiler/explain) for each found loss and each classic. A
// comparison without a search (--compare) reports the given losses the same
// way, without the reward.
//
// The pictures (reward.png, effectiveness.png, cards/NAME.png) are drawn by
// the Python plotter (compiler/explain/plots.h). Without Python or matplotlib
// the report is still written, saying why it has no pictures.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace losscc::search {

// The effectiveness test on one dataset: the search's, or a transfer one.
struct TestedData {
  std::string description;          // the task, data and model in words
  nlohmann::json rows, paired;      // effectiveness_rows() and paired_comparisons()
  std::string effectiveness_table;  // the task's text table of the rows
  std::string paired_table;         // format_paired_table of `paired`
};

struct ReportInput {
  std::string command;             // the command line that ran the search
  nlohmann::json summary;          // what summary.json holds
  std::string metric;              // the effectiveness metric ("auc", "ndcg@10")
  TestedData tested;               // on the search's data
  std::vector<TestedData> transfer;  // on each --transfer-data set
};

// Writes cards/NAME.json for every effectiveness row with a source, runs the
// plotter and writes report.md into `out`. Returns report.md's path.
std::filesystem::path write_report(const std::filesystem::path& out, const ReportInput& input);

// One sentence on a paired comparison: "win", "loss" or "tie" with its
// numbers ("found-1 beats logmin: +0.0123 test auc [+0.0041, +0.0201],
// Wilcoxon p = 0.031, 5 pairs"). A win needs the whole interval above zero
// and p < 0.05; a loss the mirror image; anything else is a tie.
std::string paired_verdict(const nlohmann::json& comparison);

}  // namespace losscc::search
