#include "search/selection.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "search/effectiveness.h"

namespace losscc::search {

namespace {

// Every seed's result within `tolerance` of the other's.
bool same_results(const std::vector<double>& a, const std::vector<double>& b, double tolerance) {
  if (a.size() != b.size()) return false;
  for (size_t s = 0; s < a.size(); ++s)
    if (!(std::fabs(a[s] - b[s]) <= tolerance)) return false;
  return true;
}

std::vector<FoundLoss> first(const std::vector<FoundLoss>& finalists, size_t k) {
  return {finalists.begin(), finalists.begin() + static_cast<std::ptrdiff_t>(std::min(k, finalists.size()))};
}

}  // namespace

Selection select_found(const SearchTask& task, const std::vector<FoundLoss>& finalists, const SelectionConfig& config,
                       const EffectProgress& progress, const std::atomic<bool>& interrupt) {
  Selection out;
  const size_t top_k = static_cast<size_t>(std::max(config.top_k, 1));
  if (config.seeds <= 0 || finalists.empty()) {
    out.chosen = first(finalists, top_k);
    return out;
  }
  std::vector<NamedLoss> losses;
  for (const FoundLoss& f : finalists)
    losses.push_back({fmt::format("candidate-{}", f.id), "search", f.source, f.reward});
  const nlohmann::json fitted = task.effectiveness(losses, config.fit_seed + kSelectionSeedOffset, config.seeds,
                                                   config.workers, progress, interrupt);
  if (interrupt.load() || fitted.size() != finalists.size()) {
    out.chosen = first(finalists, top_k);
    return out;
  }

  // Validation results only: the test figures the fits also carry are not
  // read, so no test row decides which loss is tested.
  const std::string valid = "valid_" + task.metric();
  struct Kept {
    size_t index;
    std::vector<double> per_seed;
    double score;
  };
  std::vector<Kept> kept;
  for (size_t i = 0; i < finalists.size(); ++i) {
    const FoundLoss& f = finalists[i];
    const nlohmann::json& fit = fitted[i];
    nlohmann::json row = {{"id", f.id}, {"source", f.source}, {"search_reward", f.reward}};
    if (fit.contains("error")) {
      row["dropped"] = "its fit failed: " + fit.at("error").get<std::string>();
    } else {
      std::vector<double> per_seed = fit.at(valid + "_per_seed").get<std::vector<double>>();
      const double mean = fit.at(valid + "_mean").get<double>(), std = fit.at(valid + "_std").get<double>();
      row[valid + "_per_seed"] = per_seed;
      row[valid + "_mean"] = mean;
      row[valid + "_std"] = std;
      row["score"] = mean - std;
      const auto twin = std::find_if(kept.begin(), kept.end(), [&](const Kept& k) {
        return same_results(k.per_seed, per_seed, config.same_tolerance);
      });
      if (twin != kept.end())
        row["dropped"] = fmt::format("trains as candidate {} does", finalists[twin->index].id);
      else if (!std::isfinite(mean - std))
        row["dropped"] = "no finite validation result";
      else
        kept.push_back({i, std::move(per_seed), mean - std});
    }
    out.rows.push_back(std::move(row));
  }
  std::stable_sort(kept.begin(), kept.end(), [](const Kept& a, const Kept& b) { return a.score > b.score; });
  for (size_t r = 0; r < kept.size(); ++r) {
    out.rows[kept[r].index]["rank"] = r + 1;
    if (r < top_k) out.chosen.push_back(finalists[kept[r].index]);
  }
  return out;
}

std::string format_selection_table(const nlohmann::json& rows, const std::string& metric) {
  if (rows.empty()) return {};
  const std::string valid = "valid_" + metric;
  std::vector<const nlohmann::json*> order;
  for (const nlohmann::json& row : rows) order.push_back(&row);
  // The kept by rank, then the dropped in the search's order.
  std::stable_sort(order.begin(), order.end(), [](const nlohmann::json* a, const nlohmann::json* b) {
    const int ra = a->value("rank", 1 << 30), rb = b->value("rank", 1 << 30);
    return ra < rb;
  });
  std::string table = fmt::format("{:<6} {:>9} {:>8} {:>18} {:>8}  {}\n", "rank", "candidate", "search",
                                  valid + " mean ± std", "score", "loss");
  for (const nlohmann::json* row : order) {
    std::string source = row->at("source").get<std::string>();
    std::replace(source.begin(), source.end(), '\n', ' ');
    const std::string rank = row->contains("rank") ? std::to_string(row->at("rank").get<int>()) : "-";
    const std::string fits = row->contains(valid + "_mean")
                                 ? fmt::format("{:.4f} ± {:.4f}", row->at(valid + "_mean").get<double>(),
                                               row->at(valid + "_std").get<double>())
                                 : "-";
    const std::string score = row->contains("score") ? fmt::format("{:.4f}", row->at("score").get<double>()) : "-";
    table += fmt::format("{:<6} {:>9} {:>8.4f} {:>18} {:>8}  {}{}\n", rank, row->at("id").get<int64_t>(),
                         row->at("search_reward").get<double>(), fits, score, source,
                         row->contains("dropped") ? "  (dropped: " + row->at("dropped").get<std::string>() + ")" : "");
  }
  return table;
}

}  // namespace losscc::search
