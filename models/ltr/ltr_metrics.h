// Ranking metrics — NDCG@k, P@k, MAP, MRR — in the two conventions the
// field's published numbers use. Every result carries its convention's
// name, because the same ranking scores about 2× apart on MQ2008 NDCG@10.
//
// Both: each query's documents are sorted by score, highest first; tied
// scores keep file order (the earlier document ranks higher, as a stable
// sort — Eval-Score-4.0's Perl sort — leaves them). A document is relevant
// for P@k, MAP and MRR when its label is > 0. Gains are 2^label − 1.
// Metrics are means over queries.
//
// standard (allRank, TF-Ranking, LightGBM):
//   DCG@k = Σ_{r ≤ min(k, n)} gain_r / log2(r + 1) over the n documents;
//   NDCG@k = DCG@k / ideal DCG@k; P@k = relevant in the top min(k, n) /
//   min(k, n); AP = mean of P@r over the ranks r of the relevant documents;
//   RR = 1 / rank of the first relevant document. A query whose ideal DCG is
//   0 (no relevant document) is skipped by every metric (the default; the
//   count is reported) or, with IdealZero::One, scores 1 on every metric.
//
// letor (LETOR 4.0's Eval-Score-4.0.pl):
//   ranks 1 and 2 undiscounted, rank r ≥ 3 discounted by 1/log2(r);
//   NDCG@k and P@k of a query with fewer than k documents are 0 (the
//   positions past the list count as 0, as that script leaves them); a
//   query without a relevant document scores 0 on every metric and counts.
//   P@k = relevant in the top k / k. MRR (not in the script) follows the
//   same rule: 1 / rank of the first relevant document, 0 when none.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace losscc::models::ltr {

enum class Convention { Standard, Letor };
std::string_view convention_name(Convention c);  // "standard", "letor"
std::optional<Convention> convention_by_name(std::string_view name);

// Standard convention: what a query with ideal DCG 0 contributes.
enum class IdealZero { Skip, One };

struct RankingOptions {
  Convention convention = Convention::Standard;
  IdealZero ideal_zero = IdealZero::Skip;  // standard only
  std::vector<int> cutoffs = {1, 3, 5, 10};
};

struct RankingMetrics {
  Convention convention = Convention::Standard;
  IdealZero ideal_zero = IdealZero::Skip;
  std::map<int, double> ndcg, precision;  // by cutoff k
  double map = 0, mrr = 0;
  int64_t queries = 0;  // queries in the split
  int64_t skipped = 0;  // standard + Skip: queries with ideal DCG 0, left out of every mean

  // {"convention": "standard", "ndcg@1": ..., "p@1": ..., "map": ..., "mrr": ..., "queries": ..., "skipped": ...}
  nlohmann::json to_json() const;
};

// Metrics of `scores` for the queries given by `offsets` (Q + 1 entries, as
// LtrSplit). Throws std::invalid_argument for mismatched sizes or a bad
// cutoff. NaN scores rank last.
RankingMetrics evaluate_ranking(const std::vector<double>& scores, const std::vector<float>& labels,
                                const std::vector<int64_t>& offsets, const RankingOptions& options = {});

// One query's NDCG@k in a convention (NaN: a standard query with ideal DCG 0).
double query_ndcg(const std::vector<double>& scores, const std::vector<float>& labels, int k, Convention c);

}  // namespace losscc::models::ltr
