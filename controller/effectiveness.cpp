#include "controller/effectiveness.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "compiler/language/parse.h"
#include "compiler/passes/check.h"
#include "models/rec_model.h"

namespace losscc::search {

std::vector<NamedLoss> baseline_losses(const std::string& examples_dir) {
  static const char* const kBaselines[] = {"bce", "mse", "hinge", "focal", "maxr", "sumr", "logmin"};
  std::vector<NamedLoss> out;
  for (const char* name : kBaselines) {
    const std::filesystem::path path = std::filesystem::path(examples_dir) / (std::string(name) + ".loss");
    std::ifstream in(path);
    if (!in)
      throw std::runtime_error(fmt::format("baseline loss {} not found (set --examples)", path.string()));
    std::ostringstream text;
    text << in.rdbuf();
    out.push_back({name, "baseline", text.str()});
  }
  return out;
}

nlohmann::json effectiveness_test(const models::Dataset& data, const std::vector<NamedLoss>& losses,
                                  const EffectivenessConfig& config,
                                  const std::function<void(const nlohmann::json&)>& on_row,
                                  const std::atomic<bool>& interrupt) {
  nlohmann::json rows = nlohmann::json::array();
  for (const NamedLoss& loss : losses) {
    if (interrupt.load()) break;
    nlohmann::json row = {{"name", loss.name}, {"origin", loss.origin}, {"source", loss.source}};
    if (loss.search_reward >= 0) row["search_reward"] = loss.search_reward;
    try {
      const LossFunction fn = parse_loss(loss.source, loss.name + ".loss");
      row["check"] = check(fn).to_json();
      // Every loss starts from the same initial model and batch order.
      auto model = models::make_model(config.model_kind, data.num_users, data.num_items, config.seed);
      models::Trainer trainer(model, fn, config.train);
      row["fit"] = trainer.fit(data).to_json();
    } catch (const std::exception& error) {
      row["error"] = error.what();
    }
    if (on_row) on_row(row);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string format_effectiveness_table(const nlohmann::json& rows) {
  std::vector<const nlohmann::json*> order;
  for (const nlohmann::json& r : rows) order.push_back(&r);
  auto test_auc = [](const nlohmann::json* r) {
    return r->contains("fit") ? r->at("fit").at("test").at("auc").get<double>() : -1.0;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](auto* a, auto* b) { return test_auc(a) > test_auc(b); });
  std::string out = fmt::format("{:<10} {:<9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>8}\n", "loss",
                                "origin", "valid AUC", "test AUC", "logloss", "rmse", "epoch",
                                "seconds");
  for (const nlohmann::json* r : order) {
    if (!r->contains("fit")) {
      out += fmt::format("{:<10} {:<9} error: {}\n", r->at("name").get<std::string>(),
                         r->at("origin").get<std::string>(), r->value("error", std::string("?")));
      continue;
    }
    const nlohmann::json& f = r->at("fit");
    out += fmt::format("{:<10} {:<9} {:>9.4f} {:>9.4f} {:>9.4f} {:>9.4f} {:>6} {:>8.1f}\n",
                       r->at("name").get<std::string>(), r->at("origin").get<std::string>(),
                       f.at("valid").at("auc").get<double>(), f.at("test").at("auc").get<double>(),
                       f.at("test").at("logloss").get<double>(), f.at("test").at("rmse").get<double>(),
                       f.at("best_epoch").get<int>(), f.at("seconds").get<double>());
  }
  return out;
}

}  // namespace losscc::search
