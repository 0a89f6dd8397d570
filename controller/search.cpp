#include "controller/search.h"

#include <ATen/Context.h>
#include <torch/serialize.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "compiler/language/parse.h"
#include "compiler/passes/program.h"
#include "controller/atomic_file.h"
#include "controller/effectiveness.h"
#include "models/metrics.h"
#include "runtime/kernel.h"
#include "runtime/torch/compiled_loss.h"

namespace losscc::search {

namespace fs = std::filesystem;

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double seconds_since(int64_t start_ns) { return (now_ns() - start_ns) * 1e-9; }

nlohmann::json found_to_json(const FoundLoss& f) {
  return {{"id", f.id}, {"reward", f.reward}, {"hash", hash_hex(f.hash)}, {"source", f.source}};
}

FoundLoss found_from_json(const nlohmann::json& j) {
  return {j.at("id").get<int64_t>(), j.at("reward").get<double>(),
          std::stoull(j.at("hash").get<std::string>(), nullptr, 16),
          j.at("source").get<std::string>()};
}

// Keeps `list` sorted best first, one entry per hash, at most `limit` long.
void offer(std::vector<FoundLoss>& list, const FoundLoss& f, size_t limit) {
  for (const FoundLoss& g : list)
    if (g.hash == f.hash) return;
  auto at = std::find_if(list.begin(), list.end(), [&](const FoundLoss& g) { return f.reward > g.reward; });
  list.insert(at, f);
  if (list.size() > limit) list.pop_back();
}

// The candidates a killed search judged after its last checkpoint: the
// lines of `path` past `offset` (a line cut short by the kill counts too).
int64_t count_lines_after(const fs::path& path, int64_t offset) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  int64_t lines = 0;
  char last = '\n';
  for (char c; in.get(c); last = c) lines += c == '\n';
  return lines + (last != '\n');
}

// What a checkpoint must agree on with the command that resumes it.
nlohmann::json identity(const SearchConfig& c, const std::string& data_name) {
  nlohmann::json id = {{"searcher", c.searcher}, {"layers", c.layers},       {"extended", c.extended},
          {"seed", c.seed},         {"model", c.model_kind},    {"data", data_name},
          {"samples_per_phase", c.samples_per_phase()}, {"reward", c.reward},
          {"reward_epochs", c.reward_epochs}, {"reward_patience", c.reward_patience},
          {"mask", c.policy.mask}};
  if (c.ranking) id["ranking"] = c.ranking_identity;  // absent for the pointwise space, as before
  return id;
}

void save_module(torch::nn::Module& module, const std::string& path) {
  produce_file_atomically(path, [&](const std::string& tmp) {
    torch::serialize::OutputArchive archive;
    module.save(archive);
    archive.save_to(tmp);
  });
}

void load_module(torch::nn::Module& module, const std::string& path) {
  torch::serialize::InputArchive archive;
  archive.load_from(path);
  module.load(archive);
}

// The RL policy takes its initial weights from LibTorch's global generator:
// seed it first, so that a search is a function of its config (--seed
// included), whatever drew from the generator earlier in the process.
std::unique_ptr<Searcher> seeded_searcher(const SearchConfig& c, const SearchSpace& space) {
  at::manual_seed(c.seed);
  return make_searcher(c.searcher, space, c.policy, c.reinforce);
}

}  // namespace

const std::vector<std::string>& reward_names() {
  static const std::vector<std::string> names = {"scratch", "shared"};
  return names;
}

nlohmann::json SearchCounters::to_json() const {
  return {{"candidates", candidates},     {"trained", trained},   {"duplicates", duplicates},
          {"invalid", invalid},           {"filtered", filtered}, {"model_phases", model_phases},
          {"model_updates", model_updates}, {"elapsed_seconds", elapsed_seconds}, {"repeated", repeated}};
}

namespace {

// Checked before anything is built from it (the searcher's masks included).
SearchConfig checked(SearchConfig c, bool has_trainer) {
  if (c.ranking && (!has_trainer || c.shared_reward() || c.policy.mask))
    throw std::invalid_argument("a ranking search needs its own candidate trainer, the scratch reward and no masks");
  return c;
}

}  // namespace

LossSearch::LossSearch(SearchConfig config, const models::Dataset& data, CandidateTrainer train)
    : config_(checked(std::move(config), static_cast<bool>(train))),
      data_(&data),
      data_name_(data.name),
      space_(config_.layers, config_.extended, config_.ranking),
      searcher_(seeded_searcher(config_, space_)),
      evaluator_(config_.evaluator,
                 train ? std::move(train)
                 : config_.shared_reward()
                     ? CandidateTrainer([this](const LossFunction& fn) { return train_candidate(fn); })
                     : CandidateTrainer([this](const LossFunction& fn) { return scratch_reward(*data_, fn, config_); })),
      rng_(config_.seed) {
  if (std::find(reward_names().begin(), reward_names().end(), config_.reward) == reward_names().end())
    throw std::invalid_argument(fmt::format("unknown reward '{}' (scratch, shared)", config_.reward));
  if (config_.shared_reward())
    shared_ = models::make_model(config_.model_kind, data.num_users, data.num_items, config_.seed);
}

LossSearch::LossSearch(SearchConfig config, std::string data_name, CandidateTrainer train)
    : config_(checked(std::move(config), static_cast<bool>(train))),
      data_(nullptr),
      data_name_(std::move(data_name)),
      space_(config_.layers, config_.extended, config_.ranking),
      searcher_(seeded_searcher(config_, space_)),
      evaluator_(config_.evaluator, train),
      rng_(config_.seed) {
  if (config_.reward != "scratch")
    throw std::invalid_argument(fmt::format("reward '{}': a search on the caller's trainer takes the scratch reward",
                                            config_.reward));
  if (!train) throw std::invalid_argument("LossSearch: no candidate trainer");
}

LossSearch::~LossSearch() = default;

void LossSearch::start(bool resume) {
  const fs::path out(config_.out_dir), ckpt = out / "checkpoint";
  fs::create_directories(ckpt);
  const bool has_checkpoint = fs::exists(ckpt / "state.json");
  if (resume && !has_checkpoint)
    throw std::runtime_error(fmt::format("--resume: no checkpoint in {}", ckpt.string()));
  if (!resume && has_checkpoint)
    throw std::runtime_error(fmt::format(
        "{} already holds a search; pass --resume to continue it or choose another --out",
        out.string()));
  if (resume) {
    const int64_t repeated = restore();
    if (config_.progress_seconds > 0)
      fmt::print(stderr, "[losssearch] resumed at candidate {} from the checkpoint; {} candidates judged after it are "
                 "judged again\n", counters_.candidates, repeated);
  } else {
    if (shared_) shared_auc_ = models::evaluate(*shared_, data_->valid).auc;
    std::ofstream(out / "candidates.jsonl", std::ios::trunc);
  }
  jsonl_.open(out / "candidates.jsonl", std::ios::app | std::ios::binary);
  if (!jsonl_) throw std::runtime_error("cannot open " + (out / "candidates.jsonl").string());
  elapsed_at_start_ = counters_.elapsed_seconds;
  candidates_at_start_ = counters_.candidates;
  trained_at_start_ = counters_.trained + counters_.filtered;  // a filtered candidate was trained too
  start_time_ns_ = last_progress_ns_ = now_ns();
  checkpoint();
}

double LossSearch::elapsed() const { return elapsed_at_start_ + seconds_since(start_time_ns_); }

bool LossSearch::budget_spent() const {
  if (config_.budget_candidates > 0 && counters_.candidates >= config_.budget_candidates) return true;
  if (config_.budget_minutes > 0 && elapsed() >= 60 * config_.budget_minutes) return true;
  return config_.budget_candidates <= 0 && config_.budget_minutes <= 0;
}

LossSearch::Stop LossSearch::run(const std::atomic<bool>& interrupt) {
  while (!budget_spent()) {
    if (interrupt.load()) {
      checkpoint();
      report_progress(true);
      return Stop::Interrupted;
    }
    // One round: `workers` proposals (fewer at the end of a candidate budget).
    int64_t round = config_.shared_reward() ? 1 : std::max(config_.workers, 1);
    if (config_.budget_candidates > 0)
      round = std::min<int64_t>(round, config_.budget_candidates - counters_.candidates);
    std::vector<std::vector<Token>> proposals;
    for (int64_t k = 0; k < round; ++k) proposals.push_back(searcher_->propose(rng_));
    std::vector<Evaluation> judged =
        evaluator_.evaluate_batch(space_, proposals, config_.shared_reward() ? 1 : config_.workers);
    for (size_t k = 0; k < proposals.size(); ++k) {
      Evaluation& e = judged[k];
      if (searcher_->observe(proposals[k], e.reward)) e.status = CandidateStatus::Filtered;
      record(proposals[k], e);
      if (++phase_sample_ == config_.samples_per_phase()) {
        if (config_.shared_reward()) model_phase();
        phase_sample_ = 0;
        ++phase_;
      }
    }
    checkpoint();
    report_progress(false);
  }
  report_progress(true);
  return Stop::Budget;
}

TrainOutcome LossSearch::train_candidate(const LossFunction& fn) {
  TrainOutcome out;
  int64_t t0 = now_ns();
  {
    // Build the kernel once on a one-element batch, so compile time is told
    // apart from training; the Trainer's own CompiledLoss then hits the
    // runtime's kernel cache. The grad set (pred) is the Trainer's.
    CompiledLoss warm(fn);
    std::vector<at::Tensor> args;
    for (const InputDecl& in : fn.inputs) {
      at::Tensor x = at::full({1}, in.role == Role::Label ? 1.0 : 0.5);
      if (in.role == Role::Prediction) x.requires_grad_(true);
      args.push_back(x);
    }
    warm(args);
  }
  out.compile_seconds = seconds_since(t0);
  t0 = now_ns();
  std::shared_ptr<models::RecModel> copy = shared_->clone_model();
  models::TrainConfig train = config_.train;
  train.seed = config_.seed + static_cast<uint64_t>(phase_);  // same batches within a phase
  models::Trainer trainer(copy, fn, train);
  trainer.train_steps(data_->train, config_.candidate_steps);
  out.reward = models::evaluate(*copy, data_->valid).auc;
  out.train_seconds = seconds_since(t0);
  return out;
}

TrainOutcome scratch_reward(const models::Dataset& data, const LossFunction& fn, const SearchConfig& config) {
  TrainOutcome out;
  models::TrainConfig train = config.train;
  train.epochs = config.reward_epochs;
  train.patience = config.reward_patience;
  // Compile first, so that compile time is told apart from training; the
  // fit then finds the kernel in the runtime's cache.
  const int64_t t0 = now_ns();
  rt::get_kernel(build_program(fn), rt::CompileOptions{});
  out.compile_seconds = seconds_since(t0);
  const int64_t t1 = now_ns();
  // Every candidate starts from the same model and sees the same batches.
  const models::FitResult fit = fit_from_scratch(data, fn, config.model_kind, config.seed, train);
  out.train_seconds = seconds_since(t1);
  // The best epoch's validation AUC; a fit whose AUC was never a number has
  // no best epoch and rejects the candidate.
  out.reward = fit.best_epoch > 0 ? fit.valid.auc : std::numeric_limits<double>::quiet_NaN();
  return out;
}

void LossSearch::record(const std::vector<Token>& tokens, const Evaluation& e) {
  const int64_t id = counters_.candidates++;
  switch (e.status) {
    case CandidateStatus::Trained: ++counters_.trained; break;
    case CandidateStatus::Duplicate: ++counters_.duplicates; break;
    case CandidateStatus::Invalid: ++counters_.invalid; break;
    case CandidateStatus::Filtered: ++counters_.filtered; break;
  }
  if (e.status == CandidateStatus::Duplicate) ++cache_hits_;
  counters_.elapsed_seconds = elapsed();

  nlohmann::json line = {
      {"id", id},
      {"phase", phase_},
      {"tokens", format_tokens(space_, tokens)},
      {"expression", e.source},
      {"hash", hash_hex(e.hash)},
      {"status", status_name(e.status)},
      {"reward", e.reward ? nlohmann::json(*e.reward) : nlohmann::json(nullptr)},
      {"reason", e.reason},
      {"compile_seconds", e.compile_seconds},
      {"train_seconds", e.train_seconds},
      {"elapsed_seconds", counters_.elapsed_seconds},
  };
  // Trained losses carry their fingerprint so a resumed search can rebuild
  // the reward cache from this file.
  if (e.status == CandidateStatus::Trained || e.status == CandidateStatus::Filtered)
    line["fingerprint"] = e.fingerprint;
  const std::string text = line.dump() + "\n";
  jsonl_ << text;
  jsonl_.flush();
  jsonl_bytes_ += static_cast<int64_t>(text.size());

  // A filtered loss was still trained and scored: it competes for the top
  // and the model phase on its measured reward.
  if (e.reward && e.status != CandidateStatus::Duplicate) {
    const FoundLoss found{id, *e.reward, e.hash, e.source};
    const bool new_best = top_.empty() || found.reward > top_.front().reward;
    offer(top_, found, static_cast<size_t>(std::max(config_.top_k, 1)));
    offer(phase_best_, found, static_cast<size_t>(std::max(config_.model_phase_tries, 1)));
    if (new_best)
      write_file_atomically((fs::path(config_.out_dir) / "best.loss").string(),
                            fmt::format("# losssearch: candidate {}, {} {:.6f}\n{}", id,
                                        config_.ranking ? "validation NDCG@10" : "validation AUC", found.reward,
                                        found.source));
  }
}

void LossSearch::model_phase() {
  ++counters_.model_phases;
  for (const FoundLoss& candidate : phase_best_) {
    std::shared_ptr<models::RecModel> copy = shared_->clone_model();
    models::TrainConfig train = config_.train;
    train.seed = config_.seed + 7919 * static_cast<uint64_t>(phase_ + 1);
    try {
      models::Trainer trainer(copy, parse_loss(candidate.source, "candidate.loss"), train);
      if (config_.model_steps > 0)
        trainer.train_steps(data_->train, config_.model_steps);
      else
        trainer.train_epoch(data_->train);
    } catch (const models::NonFiniteLoss&) {
      continue;
    }
    const double auc = models::evaluate(*copy, data_->valid).auc;
    if (auc >= shared_auc_) {
      shared_ = std::move(copy);
      shared_auc_ = auc;
      ++model_version_;
      ++counters_.model_updates;
      break;
    }
  }
  phase_best_.clear();
}

void LossSearch::checkpoint() {
  const fs::path ckpt = fs::path(config_.out_dir) / "checkpoint";
  std::vector<std::string> files;
  const int64_t searcher_version = searcher_->tensor_version();
  const std::string searcher_prefix = fmt::format("{}-{}-", searcher_->name(), searcher_version);
  if (searcher_version != saved_searcher_version_) {
    searcher_->save_tensors((ckpt / searcher_prefix).string());
    saved_searcher_version_ = searcher_version;
  }
  const std::string model_file = fmt::format("model-{}.pt", model_version_);
  if (shared_ && model_version_ != saved_model_version_) {
    save_module(*shared_, (ckpt / model_file).string());
    saved_model_version_ = model_version_;
  }

  std::ostringstream rng;
  rng << rng_;
  nlohmann::json top = nlohmann::json::array(), phase_best = nlohmann::json::array();
  for (const FoundLoss& f : top_) top.push_back(found_to_json(f));
  for (const FoundLoss& f : phase_best_) phase_best.push_back(found_to_json(f));
  counters_.elapsed_seconds = elapsed();
  const nlohmann::json state = {
      {"version", 1},
      {"identity", identity(config_, data_name_)},
      {"counters", counters_.to_json()},
      {"cache_hits", cache_hits_},
      {"jsonl_bytes", jsonl_bytes_},
      {"phase", phase_},
      {"phase_sample", phase_sample_},
      {"phase_best", phase_best},
      {"top", top},
      {"rng", rng.str()},
      {"searcher", searcher_->state()},
      {"searcher_prefix", searcher_prefix},
      {"model_file", model_file},
      {"model_version", model_version_},
      {"shared_model_auc", shared_auc_},
  };
  write_file_atomically((ckpt / "state.json").string(), state.dump());

  // Tensor files no checkpoint names any more.
  for (const fs::directory_entry& entry : fs::directory_iterator(ckpt)) {
    const std::string name = entry.path().filename().string();
    const bool current = name == "state.json" || name == model_file ||
                         name.rfind(searcher_prefix, 0) == 0;
    if (!current && entry.path().extension() == ".pt") fs::remove(entry.path());
  }
}

int64_t LossSearch::restore() {
  const fs::path out(config_.out_dir), ckpt = out / "checkpoint";
  std::ifstream in(ckpt / "state.json");
  const nlohmann::json state = nlohmann::json::parse(in);
  const nlohmann::json expected = identity(config_, data_name_);
  if (state.at("identity") != expected)
    throw std::runtime_error(fmt::format(
        "--resume: the checkpoint in {} was made with {}, this command asks for {}",
        ckpt.string(), state.at("identity").dump(), expected.dump()));

  const nlohmann::json& c = state.at("counters");
  counters_.candidates = c.at("candidates");
  counters_.trained = c.at("trained");
  counters_.duplicates = c.at("duplicates");
  counters_.invalid = c.at("invalid");
  counters_.filtered = c.at("filtered");
  counters_.model_phases = c.at("model_phases");
  counters_.model_updates = c.at("model_updates");
  counters_.elapsed_seconds = c.at("elapsed_seconds");
  counters_.repeated = c.value("repeated", int64_t{0});  // absent in checkpoints made before it was counted
  cache_hits_ = state.at("cache_hits");
  phase_ = state.at("phase");
  phase_sample_ = state.at("phase_sample");
  for (const nlohmann::json& f : state.at("top")) top_.push_back(found_from_json(f));
  for (const nlohmann::json& f : state.at("phase_best")) phase_best_.push_back(found_from_json(f));
  std::istringstream rng(state.at("rng").get<std::string>());
  rng >> rng_;
  searcher_->restore(state.at("searcher"));
  const std::string searcher_prefix = state.at("searcher_prefix");
  searcher_->load_tensors((ckpt / searcher_prefix).string());
  saved_searcher_version_ = searcher_->tensor_version();
  if (shared_) load_module(*shared_, (ckpt / state.at("model_file").get<std::string>()).string());
  model_version_ = saved_model_version_ = state.at("model_version");
  shared_auc_ = state.at("shared_model_auc");

  // Lines written after the checkpoint belong to a candidate the resumed
  // search evaluates again: cut them off, then relearn the rewards.
  const fs::path jsonl = out / "candidates.jsonl";
  jsonl_bytes_ = state.at("jsonl_bytes");
  if (!fs::exists(jsonl) || static_cast<int64_t>(fs::file_size(jsonl)) < jsonl_bytes_)
    throw std::runtime_error("--resume: " + jsonl.string() + " is shorter than its checkpoint");
  const int64_t repeated = count_lines_after(jsonl, jsonl_bytes_);
  counters_.repeated += repeated;
  fs::resize_file(jsonl, static_cast<uintmax_t>(jsonl_bytes_));
  std::ifstream lines(jsonl);
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("fingerprint") && !j.at("reward").is_null())
      evaluator_.remember(std::stoull(j.at("hash").get<std::string>(), nullptr, 16),
                          j.at("fingerprint").get<std::vector<double>>(), j.at("reward"));
  }
  return repeated;
}

void LossSearch::report_progress(bool force) {
  if (config_.progress_seconds <= 0) return;
  if (!force && seconds_since(last_progress_ns_) < config_.progress_seconds) return;
  last_progress_ns_ = now_ns();
  const double minutes = std::max(seconds_since(start_time_ns_) / 60, 1e-9);
  const std::string model = config_.shared_reward() ? fmt::format(" | shared model AUC {:.4f}", shared_auc_) : "";
  const std::string repeated = counters_.repeated ? fmt::format(" | repeated after resume {}", counters_.repeated) : "";
  fmt::print(stderr,
             "[losssearch] {} candidates ({:.1f}/min, fits {:.1f}/min) | best {} | cache hits {} "
             "| invalid {} filtered {}{}{} | {:.0f} s\n",
             counters_.candidates, (counters_.candidates - candidates_at_start_) / minutes,
             (counters_.trained + counters_.filtered - trained_at_start_) / minutes,
             top_.empty() ? std::string("-") : fmt::format("{:.4f}", top_.front().reward),
             cache_hits_, counters_.invalid, counters_.filtered, model, repeated, elapsed());
}

}  // namespace losscc::search
