#include "search/evaluator.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "compiler/ir/print.h"
#include "compiler/passes/check.h"
#include "compiler/passes/fingerprint.h"
#include "compiler/passes/simplify.h"

namespace losscc::search {

namespace {

struct StatusName {
  CandidateStatus status;
  std::string_view name;
};
constexpr StatusName kStatusNames[] = {
    {CandidateStatus::Trained, "trained"},
    {CandidateStatus::Duplicate, "duplicate"},
    {CandidateStatus::Invalid, "invalid"},
    {CandidateStatus::Filtered, "filtered"},
};

// The probe points' gradients say nothing a trainer could follow.
std::string useless_gradient(const std::vector<double>& fingerprint) {
  if (std::any_of(fingerprint.begin(), fingerprint.end(), [](double g) { return !std::isfinite(g); }))
    return "non-finite gradient on the probe points";
  if (std::all_of(fingerprint.begin(), fingerprint.end(), [](double g) { return g == 0.0; }))
    return "zero gradient on every probe point";
  return {};
}

}  // namespace

std::string_view status_name(CandidateStatus s) {
  for (const StatusName& n : kStatusNames)
    if (n.status == s) return n.name;
  return "?";
}

std::optional<CandidateStatus> status_by_name(std::string_view name) {
  for (const StatusName& n : kStatusNames)
    if (n.name == name) return n.status;
  return std::nullopt;
}

std::string hash_hex(uint64_t hash) { return fmt::format("{:016x}", hash); }

Evaluator::Evaluator(EvaluatorConfig config)
    : require_batch_statistics_(config.require_batch_statistics),
      cache_(config.cache_capacity, config.fingerprint_tolerance) {}

void Evaluator::remember(uint64_t hash, std::vector<double> fingerprint, double reward) {
  cache_.put(hash, std::move(fingerprint), reward);
}

Evaluator::Screened Evaluator::screen(const SearchSpace& space, const std::vector<Token>& tokens) {
  Screened s;
  Evaluation& e = s.e;
  LossFunction fn = simplify(decode(space, tokens));
  e.hash = fn.hash();
  e.source = to_loss_source(fn);
  if (require_batch_statistics_ && !fn.grouped()) {
    e.reason = "reads no batch statistic (--batch-only)";
    return s;
  }

  const CheckReport report = check(fn);
  if (!report.valid) {
    e.reason = fmt::format("{}", fmt::join(report.reasons, "; "));
    return s;
  }
  e.fingerprint = gradient_fingerprint(fn);
  if (e.reason = useless_gradient(e.fingerprint); !e.reason.empty()) return s;

  if (std::optional<RewardCache::Hit> hit = cache_.find(e.hash, e.fingerprint)) {
    e.status = CandidateStatus::Duplicate;
    e.reward = hit->reward;
    if (hit->hash != e.hash) e.reason = "same gradient fingerprint as " + hash_hex(hit->hash);
    return s;
  }
  s.to_train = true;
  return s;
}

void Evaluator::settle(Screened& s, const WorkResult& result) {
  Evaluation& e = s.e;
  ++trainings_;
  if (result.failure != FitFailure::None) {
    e.reason = result.error;
    return;
  }
  e.compile_seconds = result.outcome.compile_seconds;
  e.train_seconds = result.outcome.train_seconds;
  if (!std::isfinite(result.outcome.reward)) {
    e.reason = "non-finite validation metric after training";
    return;
  }
  e.status = CandidateStatus::Trained;
  e.reward = result.outcome.reward;
  cache_.put(e.hash, e.fingerprint, result.outcome.reward);
}

Evaluator::Pending Evaluator::screen_batch(const SearchSpace& space, const std::vector<std::vector<Token>>& batch,
                                           int64_t first_id, int64_t phase) {
  Pending p;
  for (const std::vector<Token>& tokens : batch) {
    Screened s = screen(space, tokens);
    if (s.to_train)
      for (size_t j : p.to_train)
        if (p.screened[j].e.hash == s.e.hash || same_fingerprint(p.screened[j].e.fingerprint, s.e.fingerprint)) {
          s.same_as = static_cast<int>(j);
          s.to_train = false;
          break;
        }
    if (s.to_train) {
      p.to_train.push_back(p.screened.size());
      p.items.push_back({first_id + static_cast<int64_t>(p.screened.size()), s.e.source, phase});
    }
    p.screened.push_back(std::move(s));
  }
  return p;
}

std::vector<Evaluation> Evaluator::settle_batch(Pending p, const std::vector<WorkResult>& results) {
  if (results.size() != p.items.size())
    throw std::invalid_argument(
        fmt::format("{} results for a round of {} work items", results.size(), p.items.size()));
  for (size_t k = 0; k < p.items.size(); ++k)
    if (results[k].id != p.items[k].id)
      throw std::invalid_argument(fmt::format("result {} is for candidate {}, expected candidate {} (results must "
                                              "answer the round's work items in order)",
                                              k, results[k].id, p.items[k].id));
  // Settle every training first: a repeat reads its first's outcome, which
  // must not have been moved into `out` yet.
  for (size_t k = 0; k < p.to_train.size(); ++k) settle(p.screened[p.to_train[k]], results[k]);
  for (Screened& s : p.screened) {
    if (s.same_as >= 0) {
      const Evaluation& first = p.screened[static_cast<size_t>(s.same_as)].e;
      if (first.reward) {
        s.e.status = CandidateStatus::Duplicate;
        s.e.reward = first.reward;
        if (first.hash != s.e.hash) s.e.reason = "same gradient fingerprint as " + hash_hex(first.hash);
      } else {
        s.e.reason = "repeats a rejected candidate: " + first.reason;
      }
    }
  }
  std::vector<Evaluation> out;
  for (Screened& s : p.screened) out.push_back(std::move(s.e));
  return out;
}

std::vector<Evaluation> Evaluator::evaluate_batch(const SearchSpace& space,
                                                  const std::vector<std::vector<Token>>& batch,
                                                  const SearchTask& task, Executor& executor, int64_t first_id,
                                                  int64_t phase) {
  Pending p = screen_batch(space, batch, first_id, phase);
  const std::vector<WorkResult> results = executor.run(task, p.items);
  return settle_batch(std::move(p), results);
}

Evaluation Evaluator::evaluate(const SearchSpace& space, const std::vector<Token>& tokens, const SearchTask& task,
                               Executor& executor) {
  return evaluate_batch(space, {tokens}, task, executor).front();
}

}  // namespace losscc::search
