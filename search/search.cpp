#include "search/search.h"

#include <ATen/Context.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "search/atomic_file.h"

namespace losscc::search {

namespace fs = std::filesystem;

namespace {

constexpr int kCheckpointVersion = 2;  // 2: the task's state under "task"

int64_t now_ns() { return std::chrono::steady_clock::now().time_since_epoch() / std::chrono::nanoseconds(1); }

double seconds_since(int64_t start_ns) { return (now_ns() - start_ns) * 1e-9; }

// Keeps `list` sorted best first, one entry per hash, at most `limit` long.
void offer(std::vector<FoundLoss>& list, const FoundLoss& f, size_t limit) {
  for (const FoundLoss& g : list)
    if (g.hash == f.hash) return;
  auto at = std::find_if(list.begin(), list.end(), [&](const FoundLoss& g) { return f.reward > g.reward; });
  list.insert(at, f);
  if (list.size() > limit) list.pop_back();
}

// What a checkpoint must agree on with the command that resumes it.
nlohmann::json identity(const SearchConfig& c, const SearchTask& task) {
  nlohmann::json id = {{"searcher", c.searcher}, {"layers", c.layers}, {"extended", c.extended},
                       {"seed", c.seed}, {"samples_per_phase", c.samples_per_phase()}, {"mask", c.policy.mask},
                       {"task", task.name()}};
  // Absent unless set, so older checkpoints still resume.
  if (c.batch_statistics) id["batch_statistics"] = true;
  if (c.evaluator.require_batch_statistics) id["batch_only"] = true;
  id.update(task.identity());
  return id;
}

// The RL policy takes its initial weights from LibTorch's global generator:
// seed it first, so that a search is a function of its config (--seed
// included), whatever drew from the generator earlier in the process.
std::unique_ptr<Searcher> seeded_searcher(const SearchConfig& c, const SearchSpace& space) {
  at::manual_seed(c.seed);
  return make_searcher(c.searcher, space, c.policy, c.reinforce);
}

}  // namespace

nlohmann::json SearchCounters::to_json() const {
  return {{"candidates", candidates},     {"trained", trained},   {"duplicates", duplicates},
          {"invalid", invalid},           {"filtered", filtered}, {"model_phases", model_phases},
          {"model_updates", model_updates}, {"elapsed_seconds", elapsed_seconds}, {"repeated", repeated}};
}

LossSearch::LossSearch(SearchConfig config, SearchTask& task, std::unique_ptr<Executor> executor)
    : config_(std::move(config)),
      task_(task),
      executor_(executor ? std::move(executor) : std::make_unique<ThreadExecutor>(config_.workers)),
      space_(task.multi_task_space() ? SearchSpace::multi_task(task.multi_task_space(), config_.layers, config_.extended,
                                                                        config_.batch_statistics)
                                     : SearchSpace(config_.layers, config_.extended, task.ranking_space())),
      searcher_(seeded_searcher(config_, space_)),
      evaluator_(config_.evaluator),
      rng_(config_.seed) {}

LossSearch::~LossSearch() = default;

void LossSearch::start(bool resume) {
  const fs::path out(config_.out_dir), ckpt = out / "checkpoint";
  fs::create_directories(ckpt);
  const bool has_checkpoint = fs::exists(ckpt / "state.json");
  if (resume && !has_checkpoint) throw std::runtime_error(fmt::format("--resume: no checkpoint in {}", ckpt.string()));
  if (!resume && has_checkpoint)
    throw std::runtime_error(fmt::format(
        "{} already holds a search; pass --resume to continue it or choose another --out", out.string()));
  if (resume) {
    const int64_t repeated = restore();
    if (config_.progress_seconds > 0)
      fmt::print(stderr, "[losssearch] resumed at candidate {} from the checkpoint; {} candidates judged after it are "
                 "judged again\n", counters_.candidates, repeated);
  } else {
    log_.create(out / "candidates.jsonl");
  }
  started_ = true;
  elapsed_at_start_ = counters_.elapsed_seconds;
  candidates_at_start_ = counters_.candidates;
  trained_at_start_ = counters_.trained + counters_.filtered;  // a filtered candidate was trained too
  start_time_ns_ = last_progress_ns_ = now_ns();
  checkpoint();
}

double LossSearch::elapsed() const { return elapsed_at_start_ + seconds_since(start_time_ns_); }

bool LossSearch::done() const {
  if (config_.budget_candidates > 0 && counters_.candidates >= config_.budget_candidates) return true;
  if (config_.budget_minutes > 0 && elapsed() >= 60 * config_.budget_minutes) return true;
  return config_.budget_candidates <= 0 && config_.budget_minutes <= 0;
}

int64_t LossSearch::round_size() const {
  int64_t size = std::max(config_.workers, 1);
  if (task_.max_workers() > 0) size = std::min<int64_t>(size, task_.max_workers());
  if (config_.budget_candidates > 0) size = std::max<int64_t>(std::min(size, config_.budget_candidates - counters_.candidates), 1);
  return size;
}

std::vector<WorkItem> LossSearch::propose_round() {
  if (round_) throw std::logic_error("propose_round(): the last round is not settled yet");
  if (!started_) throw std::logic_error("propose_round(): start() the search first");
  Round round;
  for (int64_t k = 0, size = round_size(); k < size; ++k) round.proposals.push_back(searcher_->propose(rng_));
  round.pending = evaluator_.screen_batch(space_, round.proposals, counters_.candidates, phase_);
  std::vector<WorkItem> items = round.pending.items;
  round_ = std::move(round);
  return items;
}

void LossSearch::settle_round(const std::vector<WorkResult>& results) {
  if (!round_) throw std::invalid_argument("settle_round(): no round in flight (call propose_round() first)");
  std::vector<Evaluation> judged = evaluator_.settle_batch(round_->pending, results);
  const std::vector<std::vector<Token>> proposals = std::move(round_->proposals);
  round_.reset();
  for (size_t k = 0; k < proposals.size(); ++k) {
    Evaluation& e = judged[k];
    if (searcher_->observe(proposals[k], e.reward)) e.status = CandidateStatus::Filtered;
    record(proposals[k], e);
    if (++phase_sample_ == config_.samples_per_phase()) {
      if (const std::optional<bool> updated = task_.model_phase(phase_best_, phase_)) {
        ++counters_.model_phases;
        counters_.model_updates += *updated;
      }
      phase_best_.clear();
      phase_sample_ = 0;
      ++phase_;
    }
  }
  checkpoint();
  report_progress(false);
}

LossSearch::Stop LossSearch::run(const std::atomic<bool>& interrupt) {
  while (!done()) {
    if (interrupt.load()) {
      checkpoint();
      report_progress(true);
      return Stop::Interrupted;
    }
    const std::vector<WorkItem> items = propose_round();
    settle_round(executor_->run(task_, items));
  }
  report_progress(true);
  return Stop::Budget;
}

void LossSearch::record(const std::vector<Token>& tokens, const Evaluation& e) {
  const int64_t id = counters_.candidates++;
  switch (e.status) {
    case CandidateStatus::Trained: ++counters_.trained; break;
    case CandidateStatus::Duplicate: ++counters_.duplicates; ++cache_hits_; break;
    case CandidateStatus::Invalid: ++counters_.invalid; break;
    case CandidateStatus::Filtered: ++counters_.filtered; break;
  }
  counters_.elapsed_seconds = elapsed();
  nlohmann::json line = {
      {"id", id}, {"phase", phase_}, {"tokens", format_tokens(space_, tokens)}, {"expression", e.source},
      {"hash", hash_hex(e.hash)}, {"status", status_name(e.status)},
      {"reward", e.reward ? nlohmann::json(*e.reward) : nlohmann::json(nullptr)}, {"reason", e.reason},
      {"compile_seconds", e.compile_seconds}, {"train_seconds", e.train_seconds},
      {"elapsed_seconds", counters_.elapsed_seconds},
  };
  // Trained losses carry their fingerprint so a resumed search can rebuild
  // the reward cache from this file.
  if (e.status == CandidateStatus::Trained || e.status == CandidateStatus::Filtered) line["fingerprint"] = e.fingerprint;
  log_.append(line);

  // A filtered loss was still trained and scored: it competes for the top
  // and the model phase on its measured reward.
  if (e.reward && e.status != CandidateStatus::Duplicate) {
    const FoundLoss found{id, *e.reward, e.hash, e.source};
    const bool new_best = top_.empty() || found.reward > top_.front().reward;
    offer(top_, found, static_cast<size_t>(std::max(config_.top_k, 1)));
    offer(phase_best_, found, static_cast<size_t>(std::max(config_.model_phase_tries, 1)));
    if (new_best)
      write_file_atomically((fs::path(config_.out_dir) / "best.loss").string(),
                            fmt::format("# losssearch: candidate {}, {} {:.6f}\n{}", id, task_.reward_name(),
                                        found.reward, found.source));
  }
}

void LossSearch::checkpoint() {
  const fs::path ckpt = fs::path(config_.out_dir) / "checkpoint";
  const int64_t searcher_version = searcher_->tensor_version();
  const std::string searcher_prefix = fmt::format("{}-{}-", searcher_->name(), searcher_version);
  if (searcher_version != saved_searcher_version_) {
    searcher_->save_tensors((ckpt / searcher_prefix).string());
    saved_searcher_version_ = searcher_version;
  }
  const nlohmann::json task_state = task_.save_state(ckpt.string());

  std::ostringstream rng;
  rng << rng_;
  counters_.elapsed_seconds = elapsed();
  const nlohmann::json state = {
      {"version", kCheckpointVersion}, {"identity", identity(config_, task_)}, {"counters", counters_.to_json()},
      {"cache_hits", cache_hits_}, {"jsonl_bytes", log_.bytes()}, {"phase", phase_}, {"phase_sample", phase_sample_},
      {"phase_best", phase_best_}, {"top", top_}, {"rng", rng.str()}, {"searcher", searcher_->state()},
      {"searcher_prefix", searcher_prefix}, {"task", task_state},
  };
  write_file_atomically((ckpt / "state.json").string(), state.dump());

  // Tensor files no checkpoint names any more.
  const std::vector<std::string> task_files = task_state.value("files", std::vector<std::string>{});
  for (const fs::directory_entry& entry : fs::directory_iterator(ckpt)) {
    const std::string name = entry.path().filename().string();
    const bool current = name.rfind(searcher_prefix, 0) == 0 ||
                         std::find(task_files.begin(), task_files.end(), name) != task_files.end();
    if (!current && entry.path().extension() == ".pt") fs::remove(entry.path());
  }
}

int64_t LossSearch::restore() {
  const fs::path out(config_.out_dir), ckpt = out / "checkpoint";
  std::ifstream in(ckpt / "state.json");
  const nlohmann::json state = nlohmann::json::parse(in);
  if (state.value("version", 0) != kCheckpointVersion)
    throw std::runtime_error(fmt::format("--resume: the checkpoint in {} was written by an older losssearch "
                                         "(version {}, this one reads {}); start a fresh search",
                                         ckpt.string(), state.value("version", 0), kCheckpointVersion));
  const nlohmann::json expected = identity(config_, task_);
  if (state.at("identity") != expected)
    throw std::runtime_error(fmt::format("--resume: the checkpoint in {} was made with {}, this command asks for {}",
                                         ckpt.string(), state.at("identity").dump(), expected.dump()));
  const nlohmann::json& c = state.at("counters");
  for (auto [field, key] : {std::pair{&counters_.candidates, "candidates"}, {&counters_.trained, "trained"},
                            {&counters_.duplicates, "duplicates"}, {&counters_.invalid, "invalid"},
                            {&counters_.filtered, "filtered"}, {&counters_.model_phases, "model_phases"},
                            {&counters_.model_updates, "model_updates"}, {&counters_.repeated, "repeated"}})
    *field = c.at(key).get<int64_t>();
  counters_.elapsed_seconds = c.at("elapsed_seconds");
  cache_hits_ = state.at("cache_hits");
  phase_ = state.at("phase");
  phase_sample_ = state.at("phase_sample");
  top_ = state.at("top").get<std::vector<FoundLoss>>();
  phase_best_ = state.at("phase_best").get<std::vector<FoundLoss>>();
  std::istringstream rng(state.at("rng").get<std::string>());
  rng >> rng_;
  searcher_->restore(state.at("searcher"));
  searcher_->load_tensors((ckpt / state.at("searcher_prefix").get<std::string>()).string());
  saved_searcher_version_ = searcher_->tensor_version();
  task_.restore_state(state.at("task"), ckpt.string());

  // Lines written after the checkpoint belong to a candidate the resumed
  // search evaluates again: cut them off, then relearn the rewards.
  const fs::path jsonl = out / "candidates.jsonl";
  const int64_t repeated = log_.resume(jsonl, state.at("jsonl_bytes"));
  counters_.repeated += repeated;
  CandidateLog::for_each(jsonl, [&](const nlohmann::json& j) {
    if (j.contains("fingerprint") && !j.at("reward").is_null())
      evaluator_.remember(std::stoull(j.at("hash").get<std::string>(), nullptr, 16),
                          j.at("fingerprint").get<std::vector<double>>(), j.at("reward"));
  });
  return repeated;
}

void LossSearch::report_progress(bool force) {
  if (config_.progress_seconds <= 0) return;
  if (!force && seconds_since(last_progress_ns_) < config_.progress_seconds) return;
  last_progress_ns_ = now_ns();
  const double minutes = std::max(seconds_since(start_time_ns_) / 60, 1e-9);
  const std::string note = task_.progress_note();
  const std::string repeated = counters_.repeated ? fmt::format(" | repeated after resume {}", counters_.repeated) : "";
  const std::string executor = executor_note_.empty() ? "" : " | " + executor_note_;
  fmt::print(stderr,
             "[losssearch] {} candidates ({:.1f}/min, fits {:.1f}/min) | best {} | cache hits {} "
             "| invalid {} filtered {}{}{}{} | {:.0f} s\n",
             counters_.candidates, (counters_.candidates - candidates_at_start_) / minutes,
             (counters_.trained + counters_.filtered - trained_at_start_) / minutes,
             top_.empty() ? std::string("-") : fmt::format("{:.4f}", top_.front().reward), cache_hits_,
             counters_.invalid, counters_.filtered, note.empty() ? "" : " | " + note, repeated, executor, elapsed());
}

}  // namespace losscc::search
