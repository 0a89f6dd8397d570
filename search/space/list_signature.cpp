#include "search/space/list_signature.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "compiler/interp/segmented.h"
#include "compiler/passes/check.h"

namespace losscc::search {

namespace {

// The probe queries: labels 0..4, one query of one document, one whose labels
// are all equal, one with tied scores and one with scores at ±10, as check()'s
// probe lists have.
struct ProbeQueries {
  std::vector<int64_t> offsets{0};
  std::vector<double> label;
  std::array<std::vector<double>, ListSignature::kVariants> score;

  int64_t size() const { return offsets.back(); }
  int64_t queries() const { return static_cast<int64_t>(offsets.size()) - 1; }
  bool labels_differ(int64_t q) const {
    return std::any_of(label.begin() + offsets[q], label.begin() + offsets[q + 1],
                       [&](double l) { return l != label[offsets[q]]; });
  }
};

ProbeQueries make_probe_queries() {
  ProbeQueries p;
  std::mt19937_64 rng(0x6c697374ULL);
  std::normal_distribution<double> normal(0.0, 2.0);
  std::uniform_int_distribution<int> grade(0, 4);
  const int sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 4, 6, 9};
  for (int q = 0; q < static_cast<int>(std::size(sizes)); ++q) {
    const int n = sizes[q];
    std::vector<double> l(n), s(n);
    for (double& v : l) v = grade(rng);
    for (double& v : s) v = normal(rng);
    if (q == 2) std::fill(l.begin(), l.end(), 3.0);                  // all labels equal
    else if (n > 1 && std::all_of(l.begin(), l.end(), [&](double v) { return v == l[0]; })) l[0] = l[0] > 0 ? 0 : 2;
    if (q == 4) s = {10.0, -10.0, 0.0, 10.0, -3.0};                  // scores at ±10
    if (q == 5) s[3] = s[1];                                         // a tie
    std::sort(s.rbegin(), s.rend());
    std::vector<size_t> by_label(n);
    std::iota(by_label.begin(), by_label.end(), 0);
    std::stable_sort(by_label.begin(), by_label.end(), [&](size_t a, size_t b) { return l[a] > l[b]; });
    std::vector<double> ideal(n), reversed(n), shuffled = s;
    for (int k = 0; k < n; ++k) {
      ideal[by_label[k]] = s[k];
      reversed[by_label[k]] = s[n - 1 - k];
    }
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    p.label.insert(p.label.end(), l.begin(), l.end());
    p.score[ListSignature::kRandom].insert(p.score[ListSignature::kRandom].end(), shuffled.begin(), shuffled.end());
    p.score[ListSignature::kIdeal].insert(p.score[ListSignature::kIdeal].end(), ideal.begin(), ideal.end());
    p.score[ListSignature::kReversed].insert(p.score[ListSignature::kReversed].end(), reversed.begin(),
                                             reversed.end());
    p.offsets.push_back(p.offsets.back() + n);
  }
  return p;
}

const ProbeQueries& probes() {
  static const ProbeQueries p = make_probe_queries();
  return p;
}

bool close(double x, double y, double rel_tol) {
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
  if (std::isinf(x) || std::isinf(y)) return x == y;
  const double diff = std::fabs(x - y);
  return diff <= 1e-12 || diff <= rel_tol * std::max(std::fabs(x), std::fabs(y));
}

}  // namespace

ListSignature ListSignature::score() {
  ListSignature s;
  s.value = probes().score;
  s.reads = kScore;
  return s;
}

ListSignature ListSignature::label() {
  ListSignature s;
  for (auto& v : s.value) v = probes().label;
  s.reads = kLabel;
  return s;
}

ListSignature ListSignature::constant(double c) {
  ListSignature s;
  for (auto& v : s.value) v.assign(static_cast<size_t>(probes().size()), c);
  return s;
}

bool ListSignature::finite() const {
  for (const auto& v : value)
    if (!std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); })) return false;
  return true;
}

bool ListSignature::same_as(const ListSignature& other, double rel_tol) const {
  for (int v = 0; v < kVariants; ++v)
    for (size_t d = 0; d < value[v].size(); ++d)
      if (!close(value[v][d], other.value[v][d], rel_tol)) return false;
  return true;
}

bool ListSignature::passes_check() const {
  if (!finite() || (reads & (kScore | kLabel)) != (kScore | kLabel)) return false;
  const ProbeQueries& p = probes();
  bool moves = false;
  int held = 0, total = 0;
  for (int64_t q = 0; q < p.queries(); ++q) {
    double loss[kVariants];
    for (int v = 0; v < kVariants; ++v)
      loss[v] = std::accumulate(value[v].begin() + p.offsets[q], value[v].begin() + p.offsets[q + 1], 0.0);
    moves = moves || !close(loss[kRandom], loss[kIdeal], 1e-9) || !close(loss[kIdeal], loss[kReversed], 1e-9);
    if (!p.labels_differ(q)) continue;
    held += loss[kIdeal] < loss[kReversed];
    ++total;
  }
  return moves && held > kIdealOrderThreshold * total;
}

struct ListTemplate::Compiled {
  GroupEvaluator eval;
  bool per_query;    // reads a per-query op: run query by query
  bool reads_label;  // the pair operators compare labels
};

ListTemplate::ListTemplate(const Expr& body)
    : compiled_(std::make_unique<Compiled>(Compiled{GroupEvaluator({body}, {"a", "b", "label"}), body->segmented(),
                                                    depends_on(body, "label")})) {}
ListTemplate::~ListTemplate() = default;
ListTemplate::ListTemplate(ListTemplate&&) noexcept = default;
ListTemplate& ListTemplate::operator=(ListTemplate&&) noexcept = default;

void ListTemplate::compose(const ListSignature& a, const ListSignature& b, ListSignature& out) {
  const ProbeQueries& p = probes();
  out.reads = a.reads | b.reads | (compiled_->reads_label ? ListSignature::kLabel : 0);
  for (int v = 0; v < ListSignature::kVariants; ++v) {
    std::vector<double>& o = out.value[v];
    o.resize(static_cast<size_t>(p.size()));
    // Elementwise templates do not care where one query ends.
    const int64_t runs = compiled_->per_query ? p.queries() : 1;
    for (int64_t q = 0; q < runs; ++q) {
      const int64_t begin = compiled_->per_query ? p.offsets[q] : 0;
      const int64_t n = compiled_->per_query ? p.offsets[q + 1] - begin : p.size();
      const double* in[] = {a.value[v].data() + begin, b.value[v].data() + begin, p.label.data() + begin};
      double* result[] = {o.data() + begin};
      compiled_->eval.run(in, n, result);
    }
  }
}

}  // namespace losscc::search
