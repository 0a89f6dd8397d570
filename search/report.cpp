#include "search/report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "compiler/explain/explain.h"
#include "compiler/explain/plots.h"
#include "compiler/language/parse.h"
#include "search/atomic_file.h"
#include "search/selection.h"

namespace losscc::search {

namespace fs = std::filesystem;

namespace {

// A paired comparison's verdict: +1 a win (the interval above zero and
// p < 0.05), −1 a loss (the mirror image), 0 a tie.
int verdict(const nlohmann::json& c) {
  const double lo = c.at("ci")[0].get<double>(), hi = c.at("ci")[1].get<double>();
  const double p = c.at("wilcoxon_p").get<double>();
  return lo > 0 && p < 0.05 ? 1 : hi < 0 && p < 0.05 ? -1 : 0;
}

double mean_of(const nlohmann::json& row, const std::string& metric) {
  return row.value("test_" + metric + "_mean", std::nan(""));
}

// The baseline row with the best mean test metric, or null.
const nlohmann::json* best_baseline(const nlohmann::json& rows, const std::string& metric) {
  const nlohmann::json* best = nullptr;
  for (const nlohmann::json& row : rows)
    if (row.value("origin", "") == "baseline" && std::isfinite(mean_of(row, metric)) &&
        (!best || mean_of(row, metric) > mean_of(*best, metric)))
      best = &row;
  return best;
}

std::string picture(const fs::path& out, const std::string& file, const std::string& alt, const std::string& why) {
  if (fs::exists(out / file)) return fmt::format("![{}]({})\n", alt, file);
  return fmt::format("_No picture: {}._\n", why.empty() ? "the plotter drew none" : why);
}

std::string code_block(const std::string& text) {
  return "```\n" + text + (text.empty() || text.back() == '\n' ? "" : "\n") + "```\n";
}

// "The best classic here is X" and each tested loss's verdict against it.
std::string verdicts_against_best(const nlohmann::json& rows, const nlohmann::json& paired, const std::string& metric) {
  const nlohmann::json* best = best_baseline(rows, metric);
  if (!best) return {};
  const std::string best_name = best->at("name").get<std::string>();
  std::string md = fmt::format("The best classic here is {} (test {} {:.4f}).\n\n", best_name, metric,
                               mean_of(*best, metric));
  for (const nlohmann::json& c : paired)
    if (c.at("baseline") == best_name) md += "- " + paired_verdict(c) + "\n";
  return md + "\n";
}

// One cell of the transfer table: a tested loss on one dataset, its mean and
// spread, and its paired difference from that dataset's best classic.
std::string transfer_cell(const nlohmann::json& rows, const nlohmann::json& paired, const std::string& name,
                          const std::string& metric) {
  const nlohmann::json* best = best_baseline(rows, metric);
  for (const nlohmann::json& row : rows) {
    if (row.value("name", "") != name) continue;
    if (row.contains("error")) return "error";
    std::string cell = fmt::format("{:.4f} ± {:.4f}", mean_of(row, metric), row.value("test_" + metric + "_std", 0.0));
    if (best)
      for (const nlohmann::json& c : paired)
        if (c.at("found") == name && c.at("baseline") == best->at("name")) {
          const double lo = c.at("ci")[0].get<double>(), hi = c.at("ci")[1].get<double>();
          const double p = c.at("wilcoxon_p").get<double>();
          cell += fmt::format("; vs {} {:+.4f} [{:+.4f}, {:+.4f}] p {:.3g}{}", best->at("name").get<std::string>(),
                              c.at("mean_diff").get<double>(), lo, hi, p,
                              verdict(c) > 0 ? " **win**" : verdict(c) < 0 ? " **loss**" : "");
        }
    return cell;
  }
  return "—";
}

// The tested losses across the search's data and every transfer dataset,
// then each dataset's own verdicts and tables.
std::string transfer_section(const ReportInput& in) {
  const TestedData& here = in.tested;
  std::string md = "## Transfer: the same losses, protocol and seeds on other data\n\n";
  md += "Each cell: the test " + in.metric + " mean ± std over the seeds, and the paired difference from the best "
        "classic on that dataset with its 95% bootstrap interval and Wilcoxon p.\n\n";
  md += "| loss | " + here.description;
  for (const TestedData& t : in.transfer) md += " | " + t.description;
  md += " |\n|---|---";
  for (size_t k = 0; k < in.transfer.size(); ++k) md += "|---";
  md += "|\n";
  for (const nlohmann::json& row : here.rows) {
    if (row.value("origin", "") == "baseline") continue;
    const std::string name = row.at("name").get<std::string>();
    md += "| " + name + " | " + transfer_cell(here.rows, here.paired, name, in.metric);
    for (const TestedData& t : in.transfer) md += " | " + transfer_cell(t.rows, t.paired, name, in.metric);
    md += " |\n";
  }
  md += "\n";
  for (const TestedData& t : in.transfer) {
    md += fmt::format("### {}\n\n", t.description);
    md += verdicts_against_best(t.rows, t.paired, in.metric);
    md += code_block(t.effectiveness_table) + "\n" + code_block(t.paired_table) + "\n";
  }
  return md;
}

}  // namespace

std::string paired_verdict(const nlohmann::json& c) {
  const double diff = c.at("mean_diff").get<double>(), lo = c.at("ci")[0].get<double>(), hi = c.at("ci")[1].get<double>();
  const double p = c.at("wilcoxon_p").get<double>();
  const std::string found = c.at("found").get<std::string>(), baseline = c.at("baseline").get<std::string>();
  const std::string verb = verdict(c) > 0 ? "beats" : verdict(c) < 0 ? "loses to" : "ties with";
  return fmt::format("{} {} {}: {:+.4f} {} [{:+.4f}, {:+.4f}], Wilcoxon p = {:.3g}, {} pairs", found, verb, baseline,
                     diff, c.at("metric").get<std::string>(), lo, hi, p, c.at("n").get<int>());
}

fs::path write_report(const fs::path& out, const ReportInput& in) {
  const nlohmann::json& summary = in.summary;
  const nlohmann::json& rows = in.tested.rows;

  // The cards' numbers first: the plotter draws from them.
  fs::create_directories(out / "cards");
  std::vector<std::pair<std::string, std::string>> explanations;  // name, text
  for (const nlohmann::json& row : rows) {
    if (!row.contains("source")) continue;
    const std::string name = row.at("name").get<std::string>();
    try {
      const LossFunction fn = parse_loss(row.at("source").get<std::string>(), name + ".loss");
      const nlohmann::json card = loss_card(fn, name);
      write_file_atomically((out / "cards" / (name + ".json")).string(), card.dump(1) + "\n");
      explanations.emplace_back(name, card.at("explanation").get<std::string>());
    } catch (const std::exception& e) {
      explanations.emplace_back(name, fmt::format("no card: {}", e.what()));
    }
  }
  const PlotOutcome plots = run_plotter({"search", out.string()});

  const nlohmann::json& counters = summary.at("search");
  const bool compare = summary.contains("compare");
  std::string md = fmt::format("# {}: {}\n\n{}\n", compare ? "Losses compared" : "Loss search", in.tested.description,
                               code_block(in.command));
  if (compare)
    md += "No search: the given .loss files against the classic losses, each trained from scratch.\n\n";
  else
    md += fmt::format(
        "{} candidates in {:.1f} minutes: {} trained ({} of them below the policy's reward baseline, left out of "
        "its update), {} invalid, {} duplicates. Searcher {}, reward {}, seed {}, {} workers.\n\n",
        counters.value("candidates", 0), counters.value("elapsed_seconds", 0.0) / 60,
        counters.value("trained", 0) + counters.value("filtered", 0), counters.value("filtered", 0),
        counters.value("invalid", 0), counters.value("duplicates", 0),
        summary.value("searcher", ""), summary.value("reward", ""), summary.value("seed", 0),
        summary.value("workers", 0));
  if (!plots.ok) md += fmt::format("_{}._\n\n", plots.why);

  if (!compare)
    md += "## Reward over the search\n\n" + picture(out, "reward.png", "reward of every candidate", plots.why) + "\n";

  if (const nlohmann::json selection = summary.value("selection", nlohmann::json::object());
      !selection.value("rows", nlohmann::json::array()).empty())
    md += fmt::format("## Choosing the found losses\n\nThe search's {} best distinct losses, each trained to "
                      "convergence from {} seeds of its own (from {}), validation {} only: a loss whose results equal "
                      "a better-placed one's trains alike and is dropped, the rest are ranked by mean − std.\n\n{}\n",
                      selection.value("finalists", 0), selection.value("seeds", 0), selection.value("seed", 0),
                      in.metric, code_block(format_selection_table(selection.at("rows"), in.metric)));

  md += fmt::format("## Effectiveness: every loss trained from scratch, {} seeds\n\n",
                    summary.value("effectiveness_seeds", 0));
  md += code_block(in.tested.effectiveness_table) + "\n";
  md += picture(out, "effectiveness.png", "test metric per seed and training curves", plots.why) + "\n";

  md += fmt::format("## {} losses against the classics, paired by seed\n\n", compare ? "Given" : "Found");
  if (best_baseline(rows, in.metric)) {
    md += verdicts_against_best(rows, in.tested.paired, in.metric);
    md += "A win needs the 95% bootstrap interval of the paired difference above zero and a Wilcoxon p below "
          "0.05; with n pairs the smallest two-sided p is 2/2^n, so fewer than 6 pairs cannot show one.\n\n";
    md += code_block(in.tested.paired_table) + "\n";
  } else {
    md += "No classic loss has a result here (--no-baselines, or every one failed), so nothing is paired.\n\n";
  }

  if (!in.transfer.empty()) md += transfer_section(in);

  md += "## Loss cards\n\nEach loss read at each label value (simplified on the prediction's domain), its check "
        "verdict, and its loss and gradient drawn.\n\n";
  for (const auto& [name, text] : explanations) {
    md += fmt::format("### {}\n\n{}", name, code_block(text));
    md += picture(out, "cards/" + name + ".png", name, plots.why) + "\n";
  }
  const fs::path path = out / "report.md";
  write_file_atomically(path.string(), md);
  return path;
}

}  // namespace losscc::search
