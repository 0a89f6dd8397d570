#include "search/effectiveness.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "compiler/language/parse.h"
#include "compiler/passes/check.h"
#include "search/paired.h"

namespace losscc::search {

namespace {

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
}

// The sample standard deviation (0 for one value).
double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double sum = 0;
  for (double x : v) sum += (x - m) * (x - m);
  return std::sqrt(sum / static_cast<double>(v.size() - 1));
}

// A row's mean test AUC; a row of one fit may lack the mean: its fit's.
double mean_test_auc(const nlohmann::json& r) {
  if (!r.contains("fit")) return -1.0;
  return r.contains("test_auc_mean") ? r.at("test_auc_mean").get<double>()
                                     : r.at("fit").at("test").at("auc").get<double>();
}

}  // namespace

std::vector<NamedLoss> example_losses(const std::string& examples_dir, const std::vector<std::string>& names) {
  std::vector<NamedLoss> out;
  for (const std::string& name : names) {
    const std::filesystem::path path = std::filesystem::path(examples_dir) / (name + ".loss");
    std::ifstream in(path);
    if (!in)
      throw std::runtime_error(fmt::format("baseline loss {} not found (set --examples)", path.string()));
    std::ostringstream text;
    text << in.rdbuf();
    out.push_back({name, "baseline", text.str()});
  }
  return out;
}

std::vector<NamedLoss> given_losses(const std::vector<std::string>& files) {
  std::vector<NamedLoss> out;
  for (const std::string& file : files) {
    std::string name = std::filesystem::path(file).stem().string();
    for (const NamedLoss& earlier : out)
      if (earlier.name == name) name += fmt::format("-{}", out.size() + 1);
    std::string text = read_loss_file(file);
    parse_loss(text, file);  // a CompileError naming file:line:col
    out.push_back({name, "given", std::move(text)});
  }
  return out;
}

nlohmann::json effectiveness_rows(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                                  const EffectFitter& fit, const EffectProgress& progress,
                                  const std::atomic<bool>& interrupt, const std::string& metric) {
  seeds = std::max(seeds, 1);
  workers = std::max(workers, 1);
  // Each loss's row starts with its check; a loss that does not parse is an
  // error row with no fits.
  const size_t n = losses.size();
  std::vector<nlohmann::json> rows(n);
  std::vector<std::optional<LossFunction>> fns(n);
  for (size_t i = 0; i < n; ++i) {
    const NamedLoss& loss = losses[i];
    rows[i] = {{"name", loss.name}, {"origin", loss.origin}, {"source", loss.source}};
    if (loss.search_reward >= 0) rows[i]["search_reward"] = loss.search_reward;
    try {
      fns[i] = parse_loss(loss.source, loss.name + ".loss");
      rows[i]["check"] = check(*fns[i]).to_json();
    } catch (const std::exception& error) {
      rows[i]["error"] = error.what();
    }
  }

  // The fits, (loss, seed) in order, taken by `workers` threads; each writes
  // only its own slot. A loss's row is complete when all its fits are in, and
  // rows are reported (on_row) in the losses' order as they complete.
  struct Slot {
    std::optional<EffectFit> fit;
    std::string error;
  };
  std::vector<Slot> slots(n * static_cast<size_t>(seeds));
  std::vector<int> fits_left(n, seeds);
  std::mutex mutex;  // guards the slots' completion, the counters, the reporting
  std::atomic<size_t> next{0};
  int started = 0, finished = 0;
  double fit_seconds = 0;  // the fits done so far, summed
  size_t reported = 0;     // rows[0, reported) went to on_row
  const int total = static_cast<int>(slots.size());

  const auto finish_row = [&](size_t i) {  // under the mutex; all of loss i's fits are in
    nlohmann::json& row = rows[i];
    for (int k = 0; k < seeds; ++k)
      if (!slots[i * seeds + k].error.empty()) {
        row["error"] = slots[i * seeds + k].error;
        return;
      }
    nlohmann::json fits = nlohmann::json::array();
    std::vector<double> test, valid;
    for (int k = 0; k < seeds; ++k) {
      EffectFit& f = *slots[i * seeds + k].fit;
      fits.push_back(std::move(f.json));
      test.push_back(f.test);
      valid.push_back(f.valid);
    }
    row["fit"] = fits.front();
    row["fits"] = fits;
    row["test_" + metric + "_per_seed"] = test;
    row["test_" + metric + "_mean"] = mean(test);
    row["test_" + metric + "_std"] = stddev(test);
    row["valid_" + metric + "_per_seed"] = valid;
    row["valid_" + metric + "_mean"] = mean(valid);
    row["valid_" + metric + "_std"] = stddev(valid);
  };
  const auto report_ready = [&] {  // under the mutex
    while (reported < n && fits_left[reported] == 0) {
      if (progress.on_row) progress.on_row(rows[reported]);
      ++reported;
    }
  };
  for (size_t i = 0; i < n; ++i)
    if (!fns[i]) fits_left[i] = 0;
  report_ready();

  const auto work = [&] {
    for (;;) {
      if (interrupt.load()) return;
      const size_t j = next.fetch_add(1);
      if (j >= slots.size()) return;
      const size_t i = j / seeds;
      const int k = static_cast<int>(j % seeds);
      if (!fns[i]) continue;
      {
        std::lock_guard<std::mutex> lock(mutex);
        bool earlier_failed = false;  // then the loss is done with, as a sequential run would stop
        for (int e = 0; e < k; ++e) earlier_failed = earlier_failed || !slots[i * seeds + e].error.empty();
        if (earlier_failed) {
          if (--fits_left[i] == 0) finish_row(i), report_ready();
          continue;
        }
        if (!progress.tool.empty()) {
          const double eta = finished > 0 ? fit_seconds / finished * (total - started) / workers : -1;
          fmt::print(stderr, "[{}] {}: fit {}/{}, {} seed {}/{} | ETA {}\n", progress.tool, progress.stage, started + 1,
                     total, losses[i].name, k + 1, seeds,
                     eta < 0 ? std::string("-") : eta < 90 ? fmt::format("{:.0f} s", eta) : fmt::format("{:.1f} min", eta / 60));
        }
        ++started;
      }
      const auto start = std::chrono::steady_clock::now();
      Slot result;
      try {
        result.fit = fit(*fns[i], seed + static_cast<uint64_t>(k));
      } catch (const std::exception& error) {
        result.error = error.what();
      }
      std::lock_guard<std::mutex> lock(mutex);
      fit_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++finished;
      slots[j] = std::move(result);
      if (--fits_left[i] == 0) finish_row(i), report_ready();
    }
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < std::min<int>(workers, total); ++w) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();

  // Rows whose fits all finished, in order; an interrupt leaves the rest out.
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < n && fits_left[i] == 0; ++i) out.push_back(std::move(rows[i]));
  return out;
}

nlohmann::json paired_comparisons(const nlohmann::json& rows, const std::string& metric) {
  const std::string key = "test_" + metric + "_per_seed";
  nlohmann::json out = nlohmann::json::array();
  for (const nlohmann::json& found : rows) {
    if (found.value("origin", "") == "baseline" || !found.contains(key)) continue;
    for (const nlohmann::json& baseline : rows) {
      if (baseline.value("origin", "") != "baseline" || !baseline.contains(key)) continue;
      nlohmann::json c = compare_paired(found.at(key).get<std::vector<double>>(),
                                        baseline.at(key).get<std::vector<double>>()).to_json();
      c["found"] = found.at("name");
      c["baseline"] = baseline.at("name");
      c["metric"] = "test " + metric;
      out.push_back(std::move(c));
    }
  }
  return out;
}

size_t name_width(const nlohmann::json& rows, const std::string& key, size_t at_least) {
  size_t width = at_least;
  for (const nlohmann::json& row : rows)
    if (row.contains(key) && row.at(key).is_string()) width = std::max(width, row.at(key).get<std::string>().size());
  return width;
}

std::string format_paired_table(const nlohmann::json& comparisons) {
  if (comparisons.empty()) return {};
  const size_t found = name_width(comparisons, "found", 10), vs = name_width(comparisons, "baseline", 12);
  std::string out = fmt::format("{:<{}} {:<{}} {:>11} {:>22} {:>10} {:>6}\n", "found", found, "vs", vs, "mean diff",
                                "95% bootstrap interval", "Wilcoxon p", "pairs");
  for (const nlohmann::json& c : comparisons)
    out += fmt::format("{:<{}} {:<{}} {:>+11.4f} [{:>+9.4f}, {:>+9.4f}] {:>10.3g} {:>6}\n",
                       c.at("found").get<std::string>(), found, c.at("baseline").get<std::string>(), vs,
                       c.at("mean_diff").get<double>(), c.at("ci")[0].get<double>(), c.at("ci")[1].get<double>(),
                       c.at("wilcoxon_p").get<double>(), c.at("n").get<int>());
  out += fmt::format("paired by seed on the {}; with n pairs the smallest two-sided Wilcoxon p is 2/2^n\n",
                     comparisons.front().at("metric").get<std::string>());
  return out;
}

std::string format_auc_row(const nlohmann::json& row) {
  const std::string name = row.at("name").get<std::string>();
  if (!row.contains("fit")) return fmt::format("{:<9} {}", name, row.value("error", std::string("?")));
  return fmt::format("{:<9} test AUC {:.4f} ± {:.4f}", name, row.at("test_auc_mean").get<double>(),
                     row.at("test_auc_std").get<double>());
}

std::vector<const nlohmann::json*> by_test_auc(const nlohmann::json& rows) {
  std::vector<const nlohmann::json*> order;
  for (const nlohmann::json& r : rows) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return mean_test_auc(*a) > mean_test_auc(*b); });
  return order;
}

std::string format_error_row(const nlohmann::json& row, size_t width) {
  return fmt::format("{:<{}} {:<9} error: {}\n", row.at("name").get<std::string>(), width,
                     row.at("origin").get<std::string>(), row.value("error", std::string("?")));
}

std::string format_effectiveness_table(const nlohmann::json& rows) {
  const size_t width = name_width(rows, "name", 10);
  std::string out = fmt::format("{:<{}} {:<9} {:>9} {:>17} {:>9} {:>9} {:>6} {:>8}\n", "loss", width, "origin",
                                "valid AUC", "test AUC (± std)", "logloss", "rmse", "epoch", "seconds");
  for (const nlohmann::json* r : by_test_auc(rows)) {
    if (!r->contains("fit")) {
      out += format_error_row(*r, width);
      continue;
    }
    const nlohmann::json& f = r->at("fit");
    double seconds = 0;
    for (const nlohmann::json& fit : r->value("fits", nlohmann::json::array({f}))) seconds += fit.at("seconds").get<double>();
    out += fmt::format("{:<{}} {:<9} {:>9.4f} {:>9.4f} ± {:.4f} {:>9.4f} {:>9.4f} {:>6} {:>8.1f}\n",
                       r->at("name").get<std::string>(), width, r->at("origin").get<std::string>(),
                       r->value("valid_auc_mean", f.at("valid").at("auc").get<double>()), mean_test_auc(*r),
                       r->value("test_auc_std", 0.0), f.at("test").at("logloss").get<double>(),
                       f.at("test").value("rmse", std::nan("")), f.at("best_epoch").get<int>(), seconds);
  }
  out += "valid/test AUC: mean over the seeds; logloss, rmse, epoch: the first seed's fit; seconds: all fits\n";
  return out;
}

}  // namespace losscc::search
