#include "tests/doctest_torch.h"

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "compiler/ir/print.h"
#include "compiler/language/parse.h"
#include "search/selection.h"

using namespace losscc;
using namespace losscc::search;

namespace {

// A task whose fits are a table: a loss's validation result at each seed
// (by its source), and a test result the selection must never read.
class TableTask : public FunctionTask {
 public:
  struct Fits {
    std::vector<double> valid;  // per seed, from the first seed fitted
    double test = 0.5;
    bool fails = false;
  };
  explicit TableTask(std::map<std::string, Fits> table)
      : FunctionTask("table", [](const LossFunction&) { return TrainOutcome{}; }), table_(std::move(table)) {}

  nlohmann::json effectiveness(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                               const EffectProgress& progress, const std::atomic<bool>& interrupt) const override {
    const EffectFitter fit = [&](const LossFunction& fn, uint64_t s) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        seeds_seen_.insert(s);
      }
      const Fits& f = table_.at(to_loss_source(fn));
      if (f.fails) throw std::runtime_error("non-finite loss");
      return EffectFit{nlohmann::json::object(), f.valid.at(s - seed), f.test};
    };
    return effectiveness_rows(losses, seed, seeds, workers, fit, progress, interrupt);
  }
  std::set<uint64_t> seeds_seen() const { return seeds_seen_; }

 private:
  std::map<std::string, Fits> table_;
  mutable std::mutex mutex_;
  mutable std::set<uint64_t> seeds_seen_;
};

FoundLoss found(int64_t id, double reward, const std::string& source) {
  const LossFunction fn = parse_loss(source, "found.loss");
  return {id, reward, fn.hash(), to_loss_source(fn)};
}

std::string canonical(const std::string& source) { return to_loss_source(parse_loss(source, "x.loss")); }

}  // namespace

TEST_CASE("selection: twins are dropped, the rest ranked by mean - std on validation only") {
  const std::string lucky = "(pred - label)^2", twin = "(pred - label)^2 * 2", stable = "-(label * log(pred))",
                    broken = "pred * (1 - label) - label * pred", steady = "(1 - label) * pred^2 - label * pred";
  TableTask task({
      {canonical(lucky), {{0.80, 0.60, 0.70}, 0.1}},         // mean 0.70, std 0.10: a lucky seed
      {canonical(twin), {{0.80, 0.60 + 5e-5, 0.70}, 0.99}},  // trains as `lucky` does, whatever its test says
      {canonical(stable), {{0.66, 0.67, 0.68}, 0.2}},        // mean 0.67, std 0.01
      {canonical(broken), {{0.9, 0.9, 0.9}, 0.5, /*fails=*/true}},
      {canonical(steady), {{0.65, 0.65, 0.65}, 0.3}},        // mean 0.65, std 0
  });
  const std::vector<FoundLoss> finalists = {found(7, 0.79, lucky), found(3, 0.78, twin), found(9, 0.75, broken),
                                            found(1, 0.74, stable), found(5, 0.73, steady)};
  std::atomic<bool> interrupt{false};
  const SelectionConfig config{3, 2, 1e-4, /*fit_seed=*/11, /*workers=*/2};
  const Selection s = select_found(task, finalists, config, {}, interrupt);

  REQUIRE(s.chosen.size() == 2);
  CHECK(s.chosen[0].id == 1);  // stable: 0.66
  CHECK(s.chosen[1].id == 5);  // steady: 0.65, above lucky's 0.60
  REQUIRE(s.rows.size() == 5);
  CHECK(s.rows[0]["rank"] == 3);
  CHECK(s.rows[0]["score"].get<double>() == doctest::Approx(0.6));
  CHECK(s.rows[1]["dropped"] == "trains as candidate 7 does");
  CHECK(s.rows[2]["dropped"].get<std::string>().find("non-finite loss") != std::string::npos);
  CHECK(s.rows[3]["rank"] == 1);
  CHECK(s.rows[3]["valid_auc_std"].get<double>() == doctest::Approx(0.01));
  CHECK(s.rows[4]["rank"] == 2);
  for (const nlohmann::json& row : s.rows) CHECK_FALSE(row.contains("test_auc_mean"));
  // Seeds of its own, apart from the effectiveness test's (11, 12, 13).
  CHECK(task.seeds_seen() == std::set<uint64_t>{11 + kSelectionSeedOffset, 12 + kSelectionSeedOffset,
                                                 13 + kSelectionSeedOffset});

  const std::string table = format_selection_table(s.rows, "auc");
  CHECK(table.find("0.6700 ± 0.0100") < table.find("dropped: trains as candidate 7"));
}

TEST_CASE("selection: with no seeds, or interrupted, the search's order stands") {
  TableTask task({});
  const std::vector<FoundLoss> finalists = {found(2, 0.7, "(pred - label)^2"), found(4, 0.6, "-(label * log(pred))"),
                                            found(6, 0.5, "pred * (1 - label) - label * pred")};
  std::atomic<bool> interrupt{false};
  Selection s = select_found(task, finalists, {0, 2, 1e-4, 1, 1}, {}, interrupt);
  REQUIRE(s.chosen.size() == 2);
  CHECK(s.chosen[0].id == 2);
  CHECK(s.chosen[1].id == 4);
  CHECK(s.rows.empty());
  CHECK(task.seeds_seen().empty());

  interrupt = true;
  s = select_found(task, finalists, {3, 5, 1e-4, 1, 1}, {}, interrupt);
  CHECK(s.chosen.size() == 3);
  CHECK(s.chosen[2].id == 6);
}
