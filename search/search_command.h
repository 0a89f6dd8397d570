// losssearch's command line and what it does around the search loop, shared
// by the tool (cli/losssearch.cpp) and the Python module's search
// (`python -m losscc.search`), so that both take the same flags and write
// the same folder:
//
//   parse_search_command()  the flags, with each task family's defaults
//   SearchSession           loads the data, builds the task and the search,
//                           and after the search chooses the found losses from
//                           its finalists (selection.h), writes found-K.loss,
//                           runs the effectiveness test (with progress lines), on the
//                           search's data and on each --transfer-data set,
//                           and writes summary.json, the tables and the report.
//                           With --compare it tests the given .loss files
//                           instead of searching.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "search/search.h"
#include "search/task.h"

namespace losscc::search {

struct SearchOptions {
  std::string task = "rec";  // task_names()
  std::string data;          // empty: the family's built-in synthetic data
  int fold = 1;              // rank: the LETOR fold
  std::string target;        // mtl: the task whose loss is searched; empty: the whole multi-task loss
  int64_t synthetic_sessions = 3000;  // mtl: sessions of the built-in synthetic data
  std::vector<double> auc_weights;    // mtl, the whole loss: the reward's task weights (empty: equal)
  double reward_holdout = 0;          // rank: training queries held out as the reward fits' validation
  std::string model;         // empty: the family's default
  std::vector<int64_t> hidden{64, 32};  // rank: MLP hidden sizes
  std::string reward = "scratch";       // rec: rec_reward_names()
  int64_t candidate_steps = 50, model_steps = 0;  // rec, shared reward
  int reward_epochs = 0, reward_patience = 0, effect_epochs = 0, effect_patience = 0;  // 0: the family's
  int effect_seeds = 3;
  // The found losses tested (--top-k), chosen from the search's `finalists`
  // best distinct losses by `select_seeds` fits each (selection.h; 0: no
  // selection, the first top_k). select_seeds -1: the family's; finalists 0:
  // 3 × top_k with a selection, top_k without.
  int top_k = 5, finalists = 0, select_seeds = -1;
  uint64_t fit_seed = 0;  // every fit's seed (--fit-seed, else --seed)
  std::string optimizer;  // empty: the family's
  double lr = 0;          // 0: the family's
  int64_t batch = 0;      // 0: the family's
  std::string examples;   // the baseline .loss files
  bool no_baselines = false;
  // Further datasets of the same family: the effectiveness test's losses,
  // protocol and seeds on each, as a transfer table (--transfer-data).
  std::vector<std::string> transfer_data;
  // .loss files to test instead of searching (--compare): they take the
  // found losses' place in the effectiveness test and the report.
  std::vector<std::string> compare;
  bool resume = false;
  // Who fits the candidates: "threads" (of this process) or "ray" (tasks on a
  // Ray cluster, driven by `python -m losscc.search`; ray_address empty: a
  // local cluster, "auto": the running one).
  std::string executor = "threads";
  std::string ray_address;
  int threads = 1;        // LibTorch CPU threads per worker; 0: LibTorch's default
  SearchConfig search;
  std::string command;    // the command line, for the resume hint
};

// The task families `--task` accepts: "rec", "rank", "mtl".
const std::vector<std::string>& task_names();
// The executors `--executor` accepts: "threads", "ray".
const std::vector<std::string>& executor_names();

// Parses losssearch's command line (args[0]: the program name) into
// `options`. Returns -1 to go on, else the exit code after printing what to
// print: 0 for --help, 2 for a bad or retired flag (a retired one names its
// replacement).
int parse_search_command(const std::vector<std::string>& args, SearchOptions& options);

// A task family's data, loaded once, and the task built on it, as the
// options say. An executor's worker builds one from the driver's options to
// evaluate work items (executor.h). Throws models::DataError for bad data,
// std::invalid_argument for a bad task setting.
class LoadedTask {
 public:
  explicit LoadedTask(const SearchOptions& options);
  ~LoadedTask();
  SearchTask& task() { return *task_; }
  const SearchTask& task() const { return *task_; }
  const std::string& description() const { return description_; }  // the data and the model, in words

 private:
  struct Data;
  std::unique_ptr<Data> data_;
  std::unique_ptr<SearchTask> task_;
  std::string description_;
};

class SearchSession {
 public:
  // Loads the data and builds the task and the search (not started). Prints
  // one line saying what is searched. Throws as LoadedTask does, and
  // std::runtime_error for a missing baseline loss.
  explicit SearchSession(SearchOptions options);
  ~SearchSession();

  LossSearch& search() { return *search_; }
  const SearchTask& task() const { return loaded_.task(); }
  const LoadedTask& loaded_task() const { return loaded_; }
  LoadedTask& loaded_task() { return loaded_; }
  const SearchOptions& options() const { return options_; }

  // search().start(), then run() to the budget with SIGINT / SIGTERM
  // handled (interrupted()). False when interrupted: the checkpoint is
  // written and the resume command printed. With --compare, nothing to run.
  bool run_to_budget();
  // After the search: found-K.loss, the effectiveness test, summary.json and
  // the table on stdout. Returns the tool's exit code (130 when interrupted).
  int finish();

 private:
  SearchOptions options_;
  LoadedTask loaded_;
  std::vector<std::unique_ptr<LoadedTask>> transfer_;  // one per --transfer-data set
  std::unique_ptr<LossSearch> search_;
  std::vector<NamedLoss> baselines_;
  std::vector<NamedLoss> compared_;  // --compare's losses
};

}  // namespace losscc::search
