#include "controller/evaluator.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <exception>

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

Evaluation Evaluator::evaluate(const SearchSpace& space, const std::vector<Token>& tokens) {
  Evaluation e;
  const LossFunction fn = simplify(decode(space, tokens));
  e.hash = fn.hash();
  e.source = to_loss_source(fn);

  const CheckReport report = check(fn);
  if (!report.valid) {
    e.reason = fmt::format("{}", fmt::join(report.reasons, "; "));
    return e;
  }
  e.fingerprint = gradient_fingerprint(fn);
  if (e.reason = useless_gradient(e.fingerprint); !e.reason.empty()) return e;

  if (std::optional<RewardCache::Hit> hit = cache_.find(e.hash, e.fingerprint)) {
    e.status = CandidateStatus::Duplicate;
    e.reward = hit->reward;
    if (hit->hash != e.hash) e.reason = "same gradient fingerprint as " + hash_hex(hit->hash);
    return e;
  }

  ++trainings_;
  try {
    const TrainOutcome outcome = train_(fn);
    e.compile_seconds = outcome.compile_seconds;
    e.train_seconds = outcome.train_seconds;
    if (!std::isfinite(outcome.reward)) {
      e.reason = "non-finite validation metric after training";
      return e;
    }
    e.status = CandidateStatus::Trained;
    e.reward = outcome.reward;
    cache_.put(e.hash, e.fingerprint, outcome.reward);
  } catch (const models::NonFiniteLoss& error) {
    e.reason = std::string("non-finite loss during training: ") + error.what();
  }
  return e;
}

}  // namespace losscc::search
