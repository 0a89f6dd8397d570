#include "search/report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "compiler/explain/explain.h"
#include "compiler/explain/plots.h"
#include "compiler/language/parse.h"
#include "search/atomic_file.h"

namespace losscc::search {

namespace fs = std::filesystem;

namespace {

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

}  // namespace

std::string paired_verdict(const nlohmann::json& c) {
  const double diff = c.at("mean_diff").get<double>(), lo = c.at("ci")[0].get<double>(), hi = c.at("ci")[1].get<double>();
  const double p = c.at("wilcoxon_p").get<double>();
  const std::string found = c.at("found").get<std::string>(), baseline = c.at("baseline").get<std::string>();
  const std::string verb = lo > 0 && p < 0.05 ? "beats" : hi < 0 && p < 0.05 ? "loses to" : "ties with";
  return fmt::format("{} {} {}: {:+.4f} {} [{:+.4f}, {:+.4f}], Wilcoxon p = {:.3g}, {} pairs", found, verb, baseline,
                     diff, c.at("metric").get<std::string>(), lo, hi, p, c.at("n").get<int>());
}

fs::path write_report(const fs::path& out, const ReportInput& in) {
  const nlohmann::json& summary = in.summary;
  const nlohmann::json& rows = summary.at("effectiveness");

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
  std::string md = fmt::format("# Loss search: {}\n\n{}\n", in.description, code_block(in.command));
  md += fmt::format(
      "{} candidates in {:.1f} minutes: {} trained, {} invalid, {} filtered by the masks, {} duplicates. "
      "Searcher {}, reward {}, seed {}, {} workers.\n\n",
      counters.value("candidates", 0), counters.value("elapsed_seconds", 0.0) / 60, counters.value("trained", 0),
      counters.value("invalid", 0), counters.value("filtered", 0), counters.value("duplicates", 0),
      summary.value("searcher", ""), summary.value("reward", ""), summary.value("seed", 0), summary.value("workers", 0));
  if (!plots.ok) md += fmt::format("_{}._\n\n", plots.why);

  md += "## Reward over the search\n\n" + picture(out, "reward.png", "reward of every candidate", plots.why) + "\n";

  md += fmt::format("## Effectiveness: every loss trained from scratch, {} seeds\n\n",
                    summary.value("effectiveness_seeds", 0));
  md += code_block(in.effectiveness_table) + "\n";
  md += picture(out, "effectiveness.png", "test metric per seed and training curves", plots.why) + "\n";

  md += "## Found losses against the classics, paired by seed\n\n";
  const nlohmann::json* best = best_baseline(rows, in.metric);
  if (best) {
    const std::string best_name = best->at("name").get<std::string>();
    md += fmt::format("The best classic here is {} (test {} {:.4f}).\n\n", best_name, in.metric, mean_of(*best, in.metric));
    for (const nlohmann::json& c : summary.at("paired"))
      if (c.at("baseline") == best_name) md += "- " + paired_verdict(c) + "\n";
    md += "\nA win needs the 95% bootstrap interval of the paired difference above zero and a Wilcoxon p below "
          "0.05; with n pairs the smallest two-sided p is 2/2^n, so fewer than 6 pairs cannot show one.\n\n";
  }
  md += code_block(in.paired_table) + "\n";

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
