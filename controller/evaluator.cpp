#include "controller/evaluator.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <thread>

#include "compiler/ir/print.h"
#include "compiler/passes/check.h"
#include "compiler/passes/simplify.h"
#include "models/trainer.h"

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

Evaluator::Evaluator(EvaluatorConfig config, CandidateTrainer train)
    : train_(std::move(train)), cache_(config.cache_capacity, config.fingerprint_tolerance) {}

void Evaluator::remember(uint64_t hash, std::vector<double> fingerprint, double reward) {
  cache_.put(hash, std::move(fingerprint), reward);
}

Evaluator::Screened Evaluator::screen(const SearchSpace& space, const std::vector<Token>& tokens) {
  Screened s;
  Evaluation& e = s.e;
  LossFunction fn = simplify(decode(space, tokens));
  e.hash = fn.hash();
  e.source = to_loss_source(fn);

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
  s.to_train = std::move(fn);
  return s;
}

// `outcome` is null when training threw `error`.
void Evaluator::settle(Screened& s, const TrainOutcome* outcome, const std::string& error) {
  Evaluation& e = s.e;
  ++trainings_;
  if (!outcome) {
    e.reason = error;
    return;
  }
  e.compile_seconds = outcome->compile_seconds;
  e.train_seconds = outcome->train_seconds;
  if (!std::isfinite(outcome->reward)) {
    e.reason = "non-finite validation metric after training";
    return;
  }
  e.status = CandidateStatus::Trained;
  e.reward = outcome->reward;
  cache_.put(e.hash, e.fingerprint, outcome->reward);
}

Evaluation Evaluator::evaluate(const SearchSpace& space, const std::vector<Token>& tokens) {
  return evaluate_batch(space, {tokens}, 1).front();
}

std::vector<Evaluation> Evaluator::evaluate_batch(const SearchSpace& space,
                                                  const std::vector<std::vector<Token>>& batch, int workers) {
  std::vector<Screened> screened;
  std::vector<size_t> to_train;
  for (const std::vector<Token>& tokens : batch) {
    Screened s = screen(space, tokens);
    if (s.to_train)
      for (size_t j : to_train)
        if (screened[j].e.hash == s.e.hash || same_fingerprint(screened[j].e.fingerprint, s.e.fingerprint)) {
          s.same_as = static_cast<int>(j);
          s.to_train.reset();
          break;
        }
    if (s.to_train) to_train.push_back(screened.size());
    screened.push_back(std::move(s));
  }

  // Train: each worker takes the next untrained candidate.
  std::vector<std::optional<TrainOutcome>> outcomes(screened.size());
  std::vector<std::string> errors(screened.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k; (k = next.fetch_add(1)) < to_train.size();) {
      const size_t i = to_train[k];
      try {
        outcomes[i] = train_(*screened[i].to_train);
      } catch (const models::NonFiniteLoss& error) {
        errors[i] = std::string("non-finite loss during training: ") + error.what();
      }
    }
  };
  const size_t threads = std::min<size_t>(std::max(workers, 1), to_train.size());
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> failures(threads);
    for (size_t t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        try {
          work();
        } catch (...) {
          failures[t] = std::current_exception();
        }
      });
    for (std::thread& t : pool) t.join();
    for (const std::exception_ptr& f : failures)
      if (f) std::rethrow_exception(f);
  }

  // Settle every training first: a repeat reads its first's outcome, which
  // must not have been moved into `out` yet.
  for (size_t i = 0; i < screened.size(); ++i)
    if (screened[i].to_train) settle(screened[i], outcomes[i] ? &*outcomes[i] : nullptr, errors[i]);
  for (Screened& s : screened) {
    if (s.same_as >= 0) {
      const Evaluation& first = screened[static_cast<size_t>(s.same_as)].e;
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
  for (Screened& s : screened) out.push_back(std::move(s.e));
  return out;
}

}  // namespace losscc::search
