// Random ranking lists for the tests: query sizes, graded labels and scores,
// with the cases that break careless code — one-document queries, queries
// whose labels are all equal (all zero included), and tied scores.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace losscc::testing {

struct Lists {
  std::vector<int64_t> offsets{0};
  std::vector<double> score, label;
  int64_t queries() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t size() const { return offsets.back(); }

  void add(const std::vector<double>& s, const std::vector<double>& l) {
    score.insert(score.end(), s.begin(), s.end());
    label.insert(label.end(), l.begin(), l.end());
    offsets.push_back(offsets.back() + static_cast<int64_t>(s.size()));
  }
};

// `queries` random queries of 1..max_len documents, labels 0..max_label,
// scores N(0, 2²) with some tied; the first queries are the edge cases.
inline Lists random_lists(uint64_t seed, int queries, int max_len = 12, int max_label = 4) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 2.0);
  std::uniform_int_distribution<int> grade(0, max_label);
  std::uniform_int_distribution<int> len(1, max_len);
  Lists lists;
  for (int q = 0; q < queries; ++q) {
    const int n = q == 0 ? 1 : q == 1 ? 1 : len(rng);
    std::vector<double> s(n), l(n);
    for (int i = 0; i < n; ++i) {
      s[i] = normal(rng);
      l[i] = grade(rng);
    }
    if (q == 1) l[0] = 2;                              // one relevant document alone
    if (q == 2) for (double& x : l) x = 0;             // no relevant document
    if (q == 3) for (double& x : l) x = 3;             // all labels equal
    if (q % 4 == 0 && n > 2) s[n - 1] = s[0];          // a tie in the scores
    if (q == 5) for (double& x : s) x = 0.5;           // every score tied
    lists.add(s, l);
  }
  return lists;
}

}  // namespace losscc::testing
