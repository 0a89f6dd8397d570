// lossrank-eval: evaluates scores someone else produced (a peer library, a
// saved model) with our ranking metrics, in both conventions, so that every
// number in a comparison is computed the same way.
//
//   lossrank-eval --data ../shared/data/MQ2008/S5.txt --scores test.scores --out metrics.json
//
// The scores file holds one number per document, one per line, in the
// order of the documents in --data (its file order, before grouping).
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/ltr/letor.h"
#include "models/ltr/ltr_metrics.h"
#include "tools/run_tool.h"

namespace {

using namespace losscc::models::ltr;

using losscc::models::kUsageError;

std::vector<double> read_scores(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw LtrDataError(fmt::format("{}: cannot open", path));
  std::vector<double> scores;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) throw LtrDataError(fmt::format("{}:{}:1: expected a score, got an empty line", path, number));
    const size_t last = line.find_last_not_of(" \t\r");
    const std::string text = line.substr(first, last - first + 1);
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size())
      throw LtrDataError(fmt::format("{}:{}:{}: expected a score, got '{}'", path, number, first + 1, text));
    scores.push_back(v);
  }
  return scores;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, scores_path, out, ideal_zero = "skip";
  std::vector<int> cutoffs = {1, 3, 5, 10};
  CLI::App app{"Evaluate per-document scores of a LETOR file: NDCG@k, P@k, MAP, MRR in the standard and the "
               "LETOR-official convention (JSON on stdout)"};
  app.add_option("--data", data, "the LETOR file the scores belong to")->required();
  app.add_option("--scores", scores_path, "one score per document, in the file's order")->required();
  app.add_option("--cutoffs", cutoffs, "the k of NDCG@k and P@k")->delimiter(',')->capture_default_str();
  app.add_option("--ideal-zero", ideal_zero, "standard convention: queries with ideal DCG 0 are skipped or score 1")
      ->check(CLI::IsMember({"skip", "one"}))->capture_default_str();
  app.add_option("--out", out, "also write the JSON to this file");
  try {
    app.parse(argc, argv);
    for (int k : cutoffs)
      if (k < 1) throw CLI::ValidationError("--cutoffs", "cutoffs must be >= 1");
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "lossrank-eval: {}\n", e.what());
    return kUsageError;
  }
  return losscc::models::run_reporting_errors("lossrank-eval", [&] {
    const LtrSplit split = load_letor_file(data);
    const std::vector<double> in_file_order = read_scores(scores_path);
    if (static_cast<int64_t>(in_file_order.size()) != split.documents())
      throw LtrDataError(fmt::format("{}: {} scores for the {} documents of {}", scores_path, in_file_order.size(),
                                     split.documents(), data));
    std::vector<double> scores(split.documents());
    for (int64_t i = 0; i < split.documents(); ++i) scores[i] = in_file_order[split.source_row[i]];
    nlohmann::json json = {{"data", data}, {"scores", scores_path}, {"queries", split.queries()},
                           {"queries_without_relevant", split.queries_without_relevant()}};
    RankingOptions o;
    o.cutoffs = cutoffs;
    o.ideal_zero = ideal_zero == "skip" ? IdealZero::Skip : IdealZero::One;
    json["standard"] = evaluate_ranking(scores, split.labels, split.offsets, o).to_json();
    o.convention = Convention::Letor;
    json["letor"] = evaluate_ranking(scores, split.labels, split.offsets, o).to_json();
    fmt::print("{}\n", json.dump(2));
    if (!out.empty()) losscc::models::write_json_file(out, json);
    return 0;
  });
}
