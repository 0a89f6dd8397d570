// bench_search: the loss search as a workload, measured through the
// search library (a real LossSearch writing to a scratch folder, exactly
// as losssearch runs it). Three measurements:
//
//   throughput  --repeats fresh searches of --throughput-candidates candidates
//               with the search's own schedule (--train-steps minibatches per
//               candidate, one-epoch model phases): candidates per minute, all
//               and trained only (medians), and the median wall time a
//               candidate of each status costs, from candidates.jsonl;
//   memory      a search of 1,000 candidates, then the same search resumed to
//               10,000 (--memory-candidates), with TINY training (1 minibatch
//               per candidate, 1 per model phase) so that 10,000 fit in
//               minutes: VmRSS / VmHWM from /proc/self/status after each;
//   compare     the RL controller against random search with the same seed(s)
//               and candidate budget: per window of candidates the valid
//               fraction (what passed check() and the gradient fingerprint),
//               trained count, mean reward of trained candidates and best
//               reward so far.
//
//   bench_search --data ../shared/data/ml100k01-1-5 --json search.json
//   bench_search --only compare --compare-data synthetic --compare-seeds 3
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "benchmarks/common/machine.h"
#include "benchmarks/common/stats.h"
#include "models/rec/data/load_dataset.h"
#include "models/rec/data/synthetic.h"
#include "search/rec_task.h"
#include "search/search.h"

namespace {

using namespace losscc;
using namespace losscc::search;
using losscc::bench::machine_info;
using losscc::bench::median;
namespace fs = std::filesystem;
using json = nlohmann::json;

struct Options {
  std::string data = std::string(LOSSCC_SOURCE_DIR) + "/../shared/data/ml100k01-1-5";
  std::string json_out, scratch, only;
  int threads = 1, layers = 10;
  uint64_t seed = 1;
  std::string optimizer = "adam";
  double lr = 0.01;
  int64_t train_steps = 50;
  // throughput
  int64_t throughput_candidates = 2000;
  int repeats = 3;
  // memory
  std::vector<int64_t> memory_candidates = {1000, 10000};
  // compare
  std::string compare_data = "data";  // "data" (--data) or "synthetic"
  int64_t compare_candidates = 5000, window = 500, compare_model_steps = 0;
  int compare_seeds = 1;
  std::vector<std::string> compare_searchers = {"rl", "random"};
  bool keep = false;
};

json median_or_null(const std::vector<double>& v) { return v.empty() ? json(nullptr) : json(median(v)); }

// A field of /proc/self/status in MiB ("VmRSS", "VmHWM"); -1 if absent.
double proc_status_mib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  return -1;
}

// The first line of `path` (its first line starting with `prefix`, the
// text after its colon), trimmed.
std::string read_first(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (prefix.empty() || line.rfind(prefix, 0) == 0) {
      const size_t colon = prefix.empty() ? std::string::npos : line.find(':');
      std::string v = colon == std::string::npos ? line : line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "";
}

// One line of candidates.jsonl, as far as the benchmark needs it.
struct Row {
  std::string status;
  std::optional<double> reward;
  double elapsed = 0;
};

std::vector<Row> read_rows(const fs::path& out_dir) {
  std::vector<Row> rows;
  std::ifstream in(out_dir / "candidates.jsonl");
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line);
    Row r;
    r.status = j.at("status").get<std::string>();
    if (!j.at("reward").is_null()) r.reward = j.at("reward").get<double>();
    r.elapsed = j.at("elapsed_seconds").get<double>();
    rows.push_back(std::move(r));
  }
  return rows;
}

// Trained and Filtered candidates were both trained and scored.
bool was_trained(const Row& r) { return r.status == "trained" || r.status == "filtered"; }

struct RunResult {
  double wall_seconds = 0;
  SearchCounters counters;
  std::vector<Row> rows;
};

// A search's settings and its recommender task's.
struct BenchConfig : SearchConfig {
  RecTaskConfig rec;
};

// Runs one search to config.budget_candidates in config.out_dir (a fresh
// folder, or the checkpoint there when `resume`).
RunResult run_search(const BenchConfig& config, const models::Dataset& data, bool resume) {
  const std::atomic<bool> never{false};
  const auto t0 = std::chrono::steady_clock::now();
  RecTaskConfig rec = config.rec;
  rec.seed = config.seed;
  RecTask task(data, rec);
  LossSearch search(config, task);
  search.start(resume);
  search.run(never);
  RunResult r;
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.counters = search.counters();
  return r;
}

json counters_json(const RunResult& r) {
  json j = r.counters.to_json();
  j["wall_seconds"] = r.wall_seconds;
  return j;
}

// Median seconds between consecutive candidates, by the later one's status
// (includes the checkpoint and any model phase that ran before it).
json seconds_by_status(const std::vector<Row>& rows) {
  std::map<std::string, std::vector<double>> by;
  for (size_t i = 1; i < rows.size(); ++i) by[rows[i].status].push_back(rows[i].elapsed - rows[i - 1].elapsed);
  json j = json::object();
  for (const auto& [status, v] : by) j[status] = {{"median_seconds", median(v)}, {"count", v.size()}};
  return j;
}

// Per window of `window` candidates: valid fraction, trained, mean reward of
// the trained ones, best reward so far.
json windows(const std::vector<Row>& rows, int64_t window) {
  json out = json::array();
  std::optional<double> best;
  for (size_t begin = 0; begin < rows.size(); begin += static_cast<size_t>(window)) {
    const size_t end = std::min(rows.size(), begin + static_cast<size_t>(window));
    int64_t valid = 0, trained = 0, duplicates = 0;
    double reward_sum = 0;
    for (size_t i = begin; i < end; ++i) {
      const Row& r = rows[i];
      if (r.status != "invalid") ++valid;
      if (r.status == "duplicate") ++duplicates;
      if (was_trained(r) && r.reward) {
        ++trained;
        reward_sum += *r.reward;
      }
      if (r.reward && (!best || *r.reward > *best)) best = r.reward;
    }
    out.push_back({{"end", end},
                   {"valid_fraction", static_cast<double>(valid) / static_cast<double>(end - begin)},
                   {"trained", trained},
                   {"duplicates", duplicates},
                   {"mean_reward_trained", trained ? json(reward_sum / trained) : json(nullptr)},
                   {"best_so_far", best ? json(*best) : json(nullptr)}});
  }
  return out;
}

// The reward a rejected candidate gets (ReinforceConfig::min_reward's default).
constexpr double kRejectedReward = ReinforceConfig{}.min_reward;

// Whole-run figures of one search: valid fraction, trained, best reward.
json totals(const std::vector<Row>& rows) {
  int64_t valid = 0, trained = 0;
  std::optional<double> best;
  for (const Row& r : rows) {
    if (r.status != "invalid") ++valid;
    if (was_trained(r)) ++trained;
    if (r.reward && (!best || *r.reward > *best)) best = r.reward;
  }
  const size_t half = rows.size() / 2;
  auto valid_in = [&](size_t begin, size_t end) {
    int64_t n = 0;
    for (size_t i = begin; i < end; ++i) n += rows[i].status != "invalid";
    return end > begin ? static_cast<double>(n) / static_cast<double>(end - begin) : 0.0;
  };
  return {{"valid_fraction", rows.empty() ? 0.0 : static_cast<double>(valid) / static_cast<double>(rows.size())},
          {"valid_fraction_first_half", valid_in(0, half)},
          {"valid_fraction_second_half", valid_in(half, rows.size())},
          {"trained", trained},
          {"best_reward", best ? json(*best) : json(nullptr)}};
}

// Window-wise medians over several runs' windows (same window size).
json median_windows(const std::vector<json>& runs) {
  json out = json::array();
  if (runs.empty()) return out;
  for (size_t w = 0; w < runs.front().size(); ++w) {
    std::vector<double> valid, trained, mean, best;
    for (const json& run : runs) {
      if (w >= run.size()) continue;
      const json& x = run[w];
      valid.push_back(x["valid_fraction"].get<double>());
      trained.push_back(x["trained"].get<double>());
      if (!x["mean_reward_trained"].is_null()) mean.push_back(x["mean_reward_trained"].get<double>());
      // A seed with no trained candidate yet counts as the rejected reward,
      // so the median of the (monotone) best-so-far curves stays monotone.
      best.push_back(x["best_so_far"].is_null() ? kRejectedReward : x["best_so_far"].get<double>());
    }
    out.push_back({{"end", runs.front()[w]["end"]},
                   {"valid_fraction", median(valid)},
                   {"trained", median(trained)},
                   {"mean_reward_trained", median_or_null(mean)},
                   {"best_so_far", median_or_null(best)}});
  }
  return out;
}

std::string fmt_opt(const json& v, const char* spec = "{:.4f}") {
  return v.is_null() ? std::string("-") : fmt::format(fmt::runtime(spec), v.get<double>());
}

class Bench {
 public:
  Bench(Options opt, fs::path scratch) : opt_(std::move(opt)), scratch_(std::move(scratch)) {}

  BenchConfig base(const std::string& name, const std::string& searcher) const {
    BenchConfig c;
    c.searcher = searcher;
    c.layers = opt_.layers;
    c.seed = opt_.seed;
    c.rec.candidate_steps = opt_.train_steps;
    c.rec.train.optimizer = opt_.optimizer;
    c.rec.train.lr = opt_.lr;
    c.rec.train.epochs = 1;
    c.progress_seconds = 0;
    c.out_dir = (scratch_ / name).string();
    return c;
  }

  void done(const BenchConfig& c) const {
    if (!opt_.keep) fs::remove_all(c.out_dir);
  }

  json throughput(const models::Dataset& data) {
    json runs = json::array();
    std::vector<double> per_min, trained_per_min;
    std::vector<Row> rows_all;
    for (int rep = 0; rep < opt_.repeats; ++rep) {
      BenchConfig c = base(fmt::format("throughput-{}", rep), "rl");
      c.budget_candidates = opt_.throughput_candidates;
      const RunResult r = run_search(c, data, false);
      const std::vector<Row> rows = read_rows(c.out_dir);
      rows_all.insert(rows_all.end(), rows.begin(), rows.end());
      const double minutes = r.wall_seconds / 60;
      per_min.push_back(r.counters.candidates / minutes);
      trained_per_min.push_back(r.counters.trained / minutes);
      json j = counters_json(r);
      j["candidates_per_minute"] = per_min.back();
      j["trained_per_minute"] = trained_per_min.back();
      j["seconds_by_status"] = seconds_by_status(rows);
      runs.push_back(j);
      fmt::print(stderr, "[bench_search] throughput {}/{}: {} candidates ({} trained) in {:.1f} s\n", rep + 1,
                 opt_.repeats, r.counters.candidates, r.counters.trained, r.wall_seconds);
      done(c);
    }
    json by_status = json::object();
    // Medians over every repeat's candidates together (the repeats are the same search).
    by_status = seconds_by_status(rows_all);
    return {{"data", data.name},
            {"searcher", "rl"},
            {"candidates", opt_.throughput_candidates},
            {"repeats", opt_.repeats},
            {"train_steps", opt_.train_steps},
            {"model_steps", "one epoch"},
            {"median_candidates_per_minute", median(per_min)},
            {"median_trained_per_minute", median(trained_per_min)},
            {"seconds_by_status", by_status},
            {"runs", runs}};
  }

  json memory(const models::Dataset& data) {
    BenchConfig c = base("memory", "rl");
    c.rec.candidate_steps = 1;
    c.rec.model_steps = 1;
    json points = json::array();
    const double before = proc_status_mib("VmRSS");
    bool resume = false;
    for (int64_t n : opt_.memory_candidates) {
      c.budget_candidates = n;
      const RunResult r = run_search(c, data, resume);
      resume = true;
      points.push_back({{"candidates", r.counters.candidates},
                        {"trained", r.counters.trained},
                        {"vm_rss_mib", proc_status_mib("VmRSS")},
                        {"vm_hwm_mib", proc_status_mib("VmHWM")},
                        {"wall_seconds", r.wall_seconds}});
      fmt::print(stderr, "[bench_search] memory: {} candidates ({} trained), VmRSS {:.1f} MiB, {:.1f} s\n",
                 r.counters.candidates, r.counters.trained, points.back()["vm_rss_mib"].get<double>(),
                 r.wall_seconds);
    }
    done(c);
    return {{"data", data.name},
            {"searcher", "rl"},
            {"train_steps", 1},
            {"model_steps", 1},
            {"note",
             "tiny training (1 minibatch per candidate and per model phase) so that 10,000 candidates fit in "
             "minutes; each later point resumes the same search from its checkpoint in the same process"},
            {"vm_rss_mib_before_search", before},
            {"points", points}};
  }

  json compare(const models::Dataset& data) {
    json searchers = json::object();
    for (const std::string& name : opt_.compare_searchers) {
      json runs = json::array();
      std::vector<json> curves;
      std::map<std::string, std::vector<double>> run_totals;
      for (int s = 0; s < opt_.compare_seeds; ++s) {
        BenchConfig c = base(fmt::format("compare-{}-{}", name, s), name);
        c.seed = opt_.seed + static_cast<uint64_t>(s);
        c.budget_candidates = opt_.compare_candidates;
        c.rec.model_steps = opt_.compare_model_steps;
        const RunResult r = run_search(c, data, false);
        const std::vector<Row> rows = read_rows(c.out_dir);
        curves.push_back(windows(rows, opt_.window));
        json j = counters_json(r);
        j["totals"] = totals(rows);
        for (const char* k : {"valid_fraction", "valid_fraction_first_half", "valid_fraction_second_half"})
          run_totals[k].push_back(j["totals"][k].get<double>());
        run_totals["trained"].push_back(static_cast<double>(j["totals"]["trained"].get<int64_t>()));
        run_totals["best_reward"].push_back(j["totals"]["best_reward"].is_null()
                                                ? kRejectedReward
                                                : j["totals"]["best_reward"].get<double>());
        run_totals["wall_seconds"].push_back(r.wall_seconds);
        j["seed"] = c.seed;
        j["windows"] = curves.back();
        runs.push_back(j);
        fmt::print(stderr, "[bench_search] compare {} seed {}: {} trained, {} invalid of {} in {:.1f} s\n", name,
                   c.seed, r.counters.trained, r.counters.invalid, r.counters.candidates, r.wall_seconds);
        done(c);
      }
      json med = json::object();
      for (const auto& [k, v] : run_totals) med[k] = median(v);
      searchers[name] = {{"median_totals", med}, {"median_windows", median_windows(curves)}, {"runs", runs}};
    }
    return {{"data", data.name},
            {"candidates", opt_.compare_candidates},
            {"window", opt_.window},
            {"seeds", opt_.compare_seeds},
            {"train_steps", opt_.train_steps},
            {"model_steps", opt_.compare_model_steps == 0 ? json("one epoch") : json(opt_.compare_model_steps)},
            {"searchers", searchers}};
  }

 private:
  Options opt_;
  fs::path scratch_;
};

void print_compare(const json& c) {
  fmt::print("\nRL vs random on {} ({} candidates, window {}, median over {} seed(s)):\n", c["data"].get<std::string>(),
             c["candidates"].get<int64_t>(), c["window"].get<int64_t>(), c["seeds"].get<int>());
  fmt::print("{:>7} | {:>7} {:>7} {:>8} {:>8} | {:>7} {:>7} {:>8} {:>8}\n", "cands", "rl val%", "trained",
             "mean AUC", "best", "rnd val%", "trained", "mean AUC", "best");
  for (const auto& [name, v] : c["searchers"].items()) {
    const json& t = v["median_totals"];
    fmt::print("  {:<6} valid {:.3f}% (first half {:.3f}%, second half {:.3f}%), trained {}, best reward {:.4f}, "
               "{:.1f} s\n",
               name, 100 * t["valid_fraction"].get<double>(), 100 * t["valid_fraction_first_half"].get<double>(),
               100 * t["valid_fraction_second_half"].get<double>(), t["trained"].dump(),
               t["best_reward"].get<double>(), t["wall_seconds"].get<double>());
  }
  if (!c["searchers"].contains("rl") || !c["searchers"].contains("random")) return;
  const json& rl = c["searchers"]["rl"]["median_windows"];
  const json& rnd = c["searchers"]["random"]["median_windows"];
  for (size_t w = 0; w < rl.size() && w < rnd.size(); ++w)
    fmt::print("{:>7} | {:>7.2f} {:>7} {:>8} {:>8} | {:>7.2f} {:>7} {:>8} {:>8}\n", rl[w]["end"].get<int64_t>(),
               100 * rl[w]["valid_fraction"].get<double>(), rl[w]["trained"].dump(),
               fmt_opt(rl[w]["mean_reward_trained"]), fmt_opt(rl[w]["best_so_far"]),
               100 * rnd[w]["valid_fraction"].get<double>(), rnd[w]["trained"].dump(),
               fmt_opt(rnd[w]["mean_reward_trained"]), fmt_opt(rnd[w]["best_so_far"]));
}

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"Benchmark the loss search: throughput, memory over 10,000 candidates, RL vs random"};
  app.add_option("--data", opt.data, "dataset folder (ml100k01-1-5)")->capture_default_str();
  app.add_option("--json", opt.json_out, "write the results as JSON to this file");
  app.add_option("--only", opt.only, "run one part")->check(CLI::IsMember({"throughput", "memory", "compare"}));
  app.add_option("--threads", opt.threads, "LibTorch CPU threads")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", opt.seed, "search seed (compare: the first of --compare-seeds)")->capture_default_str();
  app.add_option("--layers", opt.layers, "operator nodes per loss")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--optimizer", opt.optimizer, "recommender optimiser")->capture_default_str();
  app.add_option("--lr", opt.lr, "recommender learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--train-steps", opt.train_steps, "minibatches per candidate (throughput, compare)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--throughput-candidates", opt.throughput_candidates, "candidates per throughput run")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--repeats", opt.repeats, "throughput runs (median)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--memory-candidates", opt.memory_candidates, "candidate counts where VmRSS is read (ascending, comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--compare-data", opt.compare_data, "data of the RL-vs-random comparison: the --data folder or synthetic")
      ->check(CLI::IsMember({"data", "synthetic"}))->capture_default_str();
  app.add_option("--compare-candidates", opt.compare_candidates, "candidate budget of each compared search")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--compare-searchers", opt.compare_searchers, "searchers compared (comma-separated)")
      ->delimiter(',')
      ->check(CLI::IsMember(searcher_names()))
      ->capture_default_str();
  app.add_option("--compare-seeds", opt.compare_seeds, "seeds per searcher (medians over them)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--compare-model-steps", opt.compare_model_steps, "minibatches of a model phase; 0: one epoch")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--window", opt.window, "candidates per window of the reward curve")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--scratch", opt.scratch, "folder for the searches' outputs (default: a new one under /tmp)");
  app.add_flag("--keep", opt.keep, "keep the searches' outputs");
  CLI11_PARSE(app, argc, argv);
  if (!std::is_sorted(opt.memory_candidates.begin(), opt.memory_candidates.end())) {
    fmt::print(stderr, "bench_search: --memory-candidates must be ascending\n");
    return 2;
  }

  try {
    at::set_num_threads(opt.threads);
    const bool need_data = opt.only != "compare" || opt.compare_data == "data";
    if (need_data && !fs::is_directory(opt.data)) {
      fmt::print(stderr,
                 "bench_search: dataset folder '{}' not found; pass --data DIR (the ml100k01-1-5 split: "
                 "ml100k01-1-5.train.csv, .validation.csv, .test.csv)\n",
                 opt.data);
      return 2;
    }
    std::optional<models::Dataset> data, synthetic;
    if (need_data) data = models::load_dataset(opt.data);
    fs::path scratch = opt.scratch;
    if (scratch.empty()) {
      std::string tmpl = (fs::temp_directory_path() / "bench_search-XXXXXX").string();
      if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
      scratch = tmpl;
    }
    fs::create_directories(scratch);

    json result = {{"benchmark", "search"},  {"date", today()},         {"machine", machine_info(LOSSCC_SOURCE_DIR)},
                   {"threads", opt.threads}, {"layers", opt.layers},
                   {"optimizer", opt.optimizer}, {"lr", opt.lr},          {"seed", opt.seed}};
    result["load_average_start"] = read_first("/proc/loadavg", "");
    Bench bench(opt, scratch);
    if (opt.only.empty() || opt.only == "throughput") {
      result["throughput"] = bench.throughput(*data);
      const json& t = result["throughput"];
      fmt::print("throughput on {} (RL, {} candidates, train steps {}, median of {}): {:.0f} candidates/min, "
                 "{:.2f} trained/min\n",
                 t["data"].get<std::string>(), opt.throughput_candidates, opt.train_steps, opt.repeats,
                 t["median_candidates_per_minute"].get<double>(), t["median_trained_per_minute"].get<double>());
      for (const auto& [status, v] : t["seconds_by_status"].items())
        fmt::print("  {:<9} {:>6} candidates, median {:.4f} s each\n", status, v["count"].get<int64_t>(),
                   v["median_seconds"].get<double>());
    }
    if (opt.only.empty() || opt.only == "memory") {
      result["memory"] = bench.memory(*data);
      const json& m = result["memory"];
      fmt::print("memory on {} (train steps 1, model steps 1: tiny, so 10,000 candidates fit in minutes): "
                 "VmRSS {:.1f} MiB before the search\n",
                 m["data"].get<std::string>(), m["vm_rss_mib_before_search"].get<double>());
      for (const json& p : m["points"])
        fmt::print("  after {:>6} candidates ({} trained): VmRSS {:.1f} MiB, VmHWM {:.1f} MiB\n",
                   p["candidates"].get<int64_t>(), p["trained"].get<int64_t>(), p["vm_rss_mib"].get<double>(),
                   p["vm_hwm_mib"].get<double>());
    }
    if (opt.only.empty() || opt.only == "compare") {
      if (opt.compare_data == "synthetic") synthetic = models::synthetic_dataset();
      result["compare"] = bench.compare(opt.compare_data == "synthetic" ? *synthetic : *data);
      print_compare(result["compare"]);
    }
    result["load_average_end"] = read_first("/proc/loadavg", "");
    if (!opt.keep && opt.scratch.empty()) fs::remove_all(scratch);
    if (!opt.json_out.empty()) {
      std::ofstream out(opt.json_out);
      out << result.dump(2) << "\n";
      if (!out) throw std::runtime_error("cannot write " + opt.json_out);
    }
    return 0;
  } catch (const models::DatasetError& e) {
    fmt::print(stderr, "bench_search: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_search: {}\n", e.what());
    return 1;
  }
}
