#include "models/ltr/ltr_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

namespace losscc::models::ltr {

std::string_view convention_name(Convention c) { return c == Convention::Standard ? "standard" : "letor"; }

std::optional<Convention> convention_by_name(std::string_view name) {
  if (name == "standard") return Convention::Standard;
  if (name == "letor") return Convention::Letor;
  return std::nullopt;
}

namespace {

double gain(float label) { return std::exp2(static_cast<double>(label)) - 1.0; }

// 1-based rank r.
double discount(int64_t r, Convention c) {
  if (c == Convention::Standard) return 1.0 / std::log2(static_cast<double>(r) + 1.0);
  return r <= 2 ? 1.0 : 1.0 / std::log2(static_cast<double>(r));
}

double dcg(const std::vector<float>& ranked, int64_t k, Convention c) {
  double sum = 0;
  for (int64_t r = 1; r <= k; ++r) sum += gain(ranked[r - 1]) * discount(r, c);
  return sum;
}

// Labels in score order (highest first, ties and NaNs as the header says).
std::vector<float> ranked_labels(const double* scores, const float* labels, int64_t n) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const bool na = std::isnan(scores[a]), nb = std::isnan(scores[b]);
    if (na || nb) return !na && nb;
    return scores[a] > scores[b];
  });
  std::vector<float> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = labels[order[i]];
  return out;
}

struct QueryScores {
  std::vector<double> ndcg, precision;
  double ap = 0, rr = 0;
  bool ideal_zero = false;
};

QueryScores score_query(const double* scores, const float* labels, int64_t n, const RankingOptions& o) {
  const std::vector<float> ranked = ranked_labels(scores, labels, n);
  std::vector<float> ideal = ranked;
  std::sort(ideal.begin(), ideal.end(), std::greater<float>());
  QueryScores q;
  q.ideal_zero = ideal.empty() || ideal[0] <= 0;
  const bool letor = o.convention == Convention::Letor;
  for (int k : o.cutoffs) {
    if (letor && n < k) {
      q.ndcg.push_back(0);
      q.precision.push_back(0);
      continue;
    }
    const int64_t kk = std::min<int64_t>(k, n);
    const double best = dcg(ideal, kk, o.convention);
    q.ndcg.push_back(best > 0 ? dcg(ranked, kk, o.convention) / best : 0.0);
    int64_t hits = 0;
    for (int64_t r = 0; r < kk; ++r) hits += ranked[r] > 0;
    q.precision.push_back(static_cast<double>(hits) / static_cast<double>(letor ? k : kk));
  }
  int64_t hits = 0;
  for (int64_t r = 1; r <= n; ++r) {
    if (ranked[r - 1] <= 0) continue;
    ++hits;
    q.ap += static_cast<double>(hits) / static_cast<double>(r);
    if (hits == 1) q.rr = 1.0 / static_cast<double>(r);
  }
  if (hits > 0) q.ap /= static_cast<double>(hits);
  return q;
}

}  // namespace

RankingMetrics evaluate_ranking(const std::vector<double>& scores, const std::vector<float>& labels,
                                const std::vector<int64_t>& offsets, const RankingOptions& options) {
  if (scores.size() != labels.size())
    throw std::invalid_argument(fmt::format("evaluate_ranking: {} scores for {} labels", scores.size(), labels.size()));
  if (offsets.empty() || offsets.front() != 0 || offsets.back() != static_cast<int64_t>(labels.size()))
    throw std::invalid_argument("evaluate_ranking: offsets must run from 0 to the number of documents");
  for (int k : options.cutoffs)
    if (k < 1) throw std::invalid_argument(fmt::format("evaluate_ranking: cutoff {} (must be >= 1)", k));
  RankingMetrics m;
  m.convention = options.convention;
  m.ideal_zero = options.ideal_zero;
  m.queries = static_cast<int64_t>(offsets.size()) - 1;
  std::vector<double> ndcg(options.cutoffs.size()), precision(options.cutoffs.size());
  int64_t counted = 0;
  for (int64_t q = 0; q < m.queries; ++q) {
    const int64_t b = offsets[q], n = offsets[q + 1] - b;
    if (n < 0) throw std::invalid_argument(fmt::format("evaluate_ranking: offsets decrease at query {}", q));
    QueryScores s = score_query(scores.data() + b, labels.data() + b, n, options);
    if (options.convention == Convention::Standard && (s.ideal_zero || n == 0)) {
      if (options.ideal_zero == IdealZero::Skip) {
        ++m.skipped;
        continue;
      }
      std::fill(s.ndcg.begin(), s.ndcg.end(), 1.0);
      std::fill(s.precision.begin(), s.precision.end(), 1.0);
      s.ap = s.rr = 1.0;
    }
    ++counted;
    for (size_t j = 0; j < ndcg.size(); ++j) {
      ndcg[j] += s.ndcg[j];
      precision[j] += s.precision[j];
    }
    m.map += s.ap;
    m.mrr += s.rr;
  }
  const double c = counted > 0 ? static_cast<double>(counted) : NAN;
  for (size_t j = 0; j < ndcg.size(); ++j) {
    m.ndcg[options.cutoffs[j]] = ndcg[j] / c;
    m.precision[options.cutoffs[j]] = precision[j] / c;
  }
  m.map /= c;
  m.mrr /= c;
  return m;
}

double query_ndcg(const std::vector<double>& scores, const std::vector<float>& labels, int k, Convention c) {
  RankingOptions o;
  o.convention = c;
  o.cutoffs = {k};
  const int64_t n = static_cast<int64_t>(scores.size());
  const QueryScores s = score_query(scores.data(), labels.data(), n, o);
  if (c == Convention::Standard && s.ideal_zero) return NAN;
  return s.ndcg[0];
}

nlohmann::json RankingMetrics::to_json() const {
  nlohmann::json j;
  j["convention"] = std::string(convention_name(convention));
  if (convention == Convention::Standard) j["ideal_zero"] = ideal_zero == IdealZero::Skip ? "skip" : "one";
  for (const auto& [k, v] : ndcg) j[fmt::format("ndcg@{}", k)] = v;
  for (const auto& [k, v] : precision) j[fmt::format("p@{}", k)] = v;
  j["map"] = map;
  j["mrr"] = mrr;
  j["queries"] = queries;
  j["skipped"] = skipped;
  return j;
}

}  // namespace losscc::models::ltr
