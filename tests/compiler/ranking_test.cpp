// The ranking examples against references written here: plain double loops
// over one query, values and gradients, on random lists (one-document
// queries, all-equal and all-zero labels, tied scores). The interpreter runs
// the compiled Program, so this tests the language, simplify, the symbolic
// gradient of the segmented ops and the interpreter together.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>

#include "compiler/interp/segmented.h"
#include "compiler/ir/print.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "compiler/passes/check.h"
#include "compiler/passes/fingerprint.h"
#include "compiler/passes/simplify.h"
#include "ranking_lists.h"

using namespace losscc;
using losscc::testing::Lists;
using losscc::testing::random_lists;

namespace {

using Vec = std::vector<double>;
// One query: the loss, and its gradient w.r.t. the scores into `grad`.
using Reference = std::function<double(const Vec& s, const Vec& l, Vec& grad)>;

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }
double gain(double l) { return std::pow(2.0, l) - 1.0; }
double discount(double r) { return 1.0 / std::log2(1.0 + r); }

// 1-based positions when sorted by key, highest first, ties to the earlier.
Vec ranks(const Vec& key) {
  Vec r(key.size());
  for (size_t i = 0; i < key.size(); ++i) {
    int above = 0;
    for (size_t j = 0; j < key.size(); ++j) above += key[j] > key[i] || (key[j] == key[i] && j < i);
    r[i] = 1 + above;
  }
  return r;
}

double ideal_dcg(const Vec& l) {
  Vec sorted = l;
  std::sort(sorted.rbegin(), sorted.rend());
  double z = 0;
  for (size_t k = 0; k < sorted.size(); ++k) z += gain(sorted[k]) * discount(k + 1.0);
  return z;
}

double ref_mse(const Vec& s, const Vec& l, Vec& g) {
  double sum = 0;
  const double n = s.size();
  for (size_t i = 0; i < s.size(); ++i) {
    sum += (s[i] - l[i]) * (s[i] - l[i]);
    g[i] = 2 * (s[i] - l[i]) / n;
  }
  return sum / n;
}

// Σ over pairs with l_i > l_j of w_ij · pair(s_i - s_j); dpair is its derivative.
double pairwise(const Vec& s, const Vec& l, Vec& g, const std::function<double(size_t, size_t)>& w,
                const std::function<double(double)>& pair, const std::function<double(double)>& dpair) {
  double sum = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j) {
      if (!(l[i] > l[j])) continue;
      const double d = s[i] - s[j];
      sum += w(i, j) * pair(d);
      g[i] += w(i, j) * dpair(d);
      g[j] -= w(i, j) * dpair(d);
    }
  return sum;
}

double ref_ranknet(const Vec& s, const Vec& l, Vec& g) {
  return pairwise(s, l, g, [](size_t, size_t) { return 1.0; }, [](double d) { return std::log1p(std::exp(-d)); },
                  [](double d) { return -sigmoid(-d); });
}

double ref_hinge(const Vec& s, const Vec& l, Vec& g) {
  return pairwise(s, l, g, [](size_t, size_t) { return 1.0; }, [](double d) { return std::max(0.0, 1.0 - d); },
                  [](double d) { return 1.0 - d > 0 ? -1.0 : 0.0; });
}

double ref_lambdarank(const Vec& s, const Vec& l, Vec& g) {
  const Vec r = ranks(s);
  const double z = ideal_dcg(l);
  auto delta = [&](size_t i, size_t j) {
    return std::fabs((gain(l[i]) - gain(l[j])) * (discount(r[i]) - discount(r[j]))) / z;
  };
  return pairwise(s, l, g, delta, [](double d) { return softplus(-d); }, [](double d) { return -sigmoid(-d); });
}

// LambdaLoss's NDCG-Loss2++ weights: LambdaRank's |ΔNDCG| plus μ = 10 times
// NDCG-Loss2's |D(|r_i − r_j|) − D(|r_i − r_j| + 1)|·|G_i − G_j|, on RankNet's pair
// loss in bits.
double ref_lambdaloss(const Vec& s, const Vec& l, Vec& g) {
  const Vec r = ranks(s);
  const double z = std::max(ideal_dcg(l), 1e-10);
  auto weight = [&](size_t i, size_t j) {
    const double gap = std::fabs(r[i] - r[j]);
    const double mu_loss2 = 10 * std::fabs(discount(gap) - discount(gap + 1));
    return (mu_loss2 + std::fabs(discount(r[i]) - discount(r[j]))) * std::fabs(gain(l[i]) - gain(l[j])) / z /
           std::log(2.0);
  };
  return pairwise(s, l, g, weight, [](double d) { return softplus(-d); }, [](double d) { return -sigmoid(-d); });
}

Vec softmax(const Vec& x) {
  const double m = *std::max_element(x.begin(), x.end());
  Vec p(x.size());
  double z = 0;
  for (size_t i = 0; i < x.size(); ++i) z += p[i] = std::exp(x[i] - m);
  for (double& v : p) v /= z;
  return p;
}

double ref_listnet(const Vec& s, const Vec& l, Vec& g) {
  const Vec p = softmax(l), q = softmax(s);
  double sum = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    sum -= p[i] * std::log(q[i]);
    g[i] = q[i] - p[i];
  }
  return sum;
}

double ref_listmle(const Vec& s, const Vec& l, Vec& g) {
  std::vector<size_t> pi(s.size());
  std::iota(pi.begin(), pi.end(), 0);
  std::stable_sort(pi.begin(), pi.end(), [&](size_t a, size_t b) { return l[a] > l[b]; });
  double sum = 0;
  for (size_t k = 0; k < pi.size(); ++k) {
    double m = -INFINITY;
    for (size_t t = k; t < pi.size(); ++t) m = std::max(m, s[pi[t]]);
    double z = 0;
    for (size_t t = k; t < pi.size(); ++t) z += std::exp(s[pi[t]] - m);
    sum += m + std::log(z) - s[pi[k]];
    for (size_t t = k; t < pi.size(); ++t) g[pi[t]] += std::exp(s[pi[t]] - m) / z;
    g[pi[k]] -= 1;
  }
  return sum;
}

double ref_approx_ndcg(const Vec& s, const Vec& l, Vec& g) {
  const double tau = 1.0, z = std::max(ideal_dcg(l), 1e-10);
  const size_t n = s.size();
  Vec r(n, 1.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)
      if (j != i) r[i] += sigmoid((s[j] - s[i]) / tau);
  double dcg = 0;
  for (size_t i = 0; i < n; ++i) {
    dcg += gain(l[i]) * discount(r[i]);
    // d discount/dr = -ln 2 / (ln(1+r))² / (1+r)
    const double dr = -gain(l[i]) * -std::log(2.0) / std::pow(std::log1p(r[i]), 2) / (1 + r[i]) / z;
    for (size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double sp = sigmoid((s[j] - s[i]) / tau);
      const double d = sp * (1 - sp) / tau;
      g[j] += dr * d;
      g[i] -= dr * d;
    }
  }
  return -dcg / z;
}

struct Case {
  const char* file;
  Reference reference;
};
const Case kCases[] = {
    {"rank_mse", ref_mse},       {"ranknet", ref_ranknet}, {"rank_hinge", ref_hinge},
    {"lambdarank", ref_lambdarank}, {"listnet", ref_listnet}, {"listmle", ref_listmle},
    {"approx_ndcg", ref_approx_ndcg}, {"lambdaloss", ref_lambdaloss},
};

bool close(double a, double b, double tol) {
  return std::fabs(a - b) <= tol * std::max({1.0, std::fabs(a), std::fabs(b)});
}

std::string check_offsets_message(const std::vector<int64_t>& offsets) {
  try {
    check_offsets(offsets.data(), static_cast<int64_t>(offsets.size()) - 1, offsets.back(), kMaxListSize);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

Program example(const std::string& name) {
  return build_program(parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/") + name + ".loss"));
}

}  // namespace

TEST_CASE("ranking examples match their loop references (interpreter, values and gradients)") {
  const Lists lists = random_lists(42, 40);
  for (const Case& c : kCases) {
    INFO(std::string(c.file));
    const Program p = example(c.file);
    REQUIRE(p.grouped());
    REQUIRE(p.fn.inputs.size() == 2);
    REQUIRE(p.grad_inputs == std::vector<int>{0});
    const ProgramResult got =
        run_grouped_program(p, std::vector<const double*>{lists.score.data(), lists.label.data()},
                            lists.offsets.data(), lists.queries());
    double want = 0;
    Vec want_grad(lists.size(), 0.0);
    for (int64_t q = 0; q < lists.queries(); ++q) {
      const int64_t b = lists.offsets[q], e = lists.offsets[q + 1];
      const Vec s(lists.score.begin() + b, lists.score.begin() + e), l(lists.label.begin() + b, lists.label.begin() + e);
      Vec g(s.size(), 0.0);
      const double v = c.reference(s, l, g);
      REQUIRE(std::isfinite(v));
      want += v / lists.queries();
      for (size_t i = 0; i < g.size(); ++i) want_grad[b + i] = g[i] / lists.queries();
    }
    CHECK(close(got.loss, want, 1e-10));
    int bad = 0;
    for (int64_t i = 0; i < lists.size(); ++i)
      if (!close(got.grads[0][i], want_grad[i], 1e-9)) {
        if (bad++ < 3) MESSAGE("document ", i, ": ", got.grads[0][i], " vs ", want_grad[i]);
      }
    CHECK(bad == 0);
  }
}

// ---- the language ------------------------------------------------------------

TEST_CASE("ranking: every ranking example prints and parses back to the same nodes") {
  for (const Case& c : kCases) {
    INFO(std::string(c.file));
    const LossFunction fn = parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/") + c.file + ".loss");
    const std::string text = to_loss_source(fn);
    CAPTURE(text);
    const LossFunction back = parse_loss(text);
    CHECK(back.body.same_as(fn.body));
    CHECK(back.grouped());
    CHECK(back.inputs == fn.inputs);
    // The simplified form and the gradients round-trip too.
    const Program p = build_program(fn);
    for (const Expr& e : p.outputs) {
      LossFunction out = p.fn;
      out.body = e;
      if (e->level() != Level::Query && !e->segmented()) continue;  // a plain gradient prints as pointwise
      if (e->level() != Level::Query) continue;
      CHECK(parse_loss(to_loss_source(out)).body.same_as(e));
    }
  }
}

TEST_CASE("ranking: the language's errors name the place") {
  const std::pair<const char*, const char*> cases[] = {
      {"input s: real as pred\ninput label: grade\nqsum(other(s))",
       "3:1: error: qsum(...): qsum of a pair term (one that uses other(...)); sum it over pairs with pairsum first"},
      {"input s: real as pred\ninput label: grade\nqsum(pairsum(1, s)) + other(s)",
       "3:23: error: other(...) is the value at the other document of a pair: use it inside pairsum(...)"},
      {"input s: real as pred\ninput label: grade\ns - qmean(s)",
       "3:1: error: a ranking loss is one value per query: reduce the per-document expression with qsum(...), "
       "qmean(...) or qmax(...)"},
      {"input s: real\nqsum(pairsum(s))", "2:6: error: 'pairsum' takes 2 arguments, found 1 (usage: pairsum(condition, term))"},
      {"input s: real\nqsum(smooth_rank(s, s))",
       "2:21: error: argument 2 of 'smooth_rank' must be a constant, but 's' is an input"},
      {"input s: real\nqcount(s)", "2:1: error: 'qcount' takes 0 arguments, found 1 (usage: qcount())"},
  };
  for (const auto& [text, want] : cases) {
    CAPTURE(text);
    try {
      parse_loss(text);
      FAIL("no error");
    } catch (const CompileError& e) {
      CHECK(std::string(e.what()).find(want) != std::string::npos);
      CAPTURE(e.what());
    }
  }
}

TEST_CASE("ranking: levels of the segmented ops") {
  Expr s = input("s"), l = input("l");
  CHECK(qsum(s)->level() == Level::Query);
  CHECK(qcount()->level() == Level::Query);
  CHECK(rank(s)->level() == Level::Document);
  CHECK(other(s)->level() == Level::Pair);
  CHECK((other(s) - s)->level() == Level::Pair);
  CHECK(pairsum(l - other(l), other(s) - s)->level() == Level::Document);
  CHECK(pairsum(l - other(l), other(s) - s)->segmented());
  CHECK_FALSE((s - l)->segmented());
  CHECK_THROWS_AS(qsum(other(s)), std::invalid_argument);
  CHECK_THROWS_AS(other(other(s)), std::invalid_argument);
  CHECK_THROWS_AS(rank(other(s)), std::invalid_argument);
  CHECK(suffix_sum(l, s)->level() == Level::Document);
  CHECK(prefix_sum(l, constant(1))->level() == Level::Document);
  CHECK(prefix_sum(l, s)->segmented());
  CHECK_THROWS_AS(suffix_sum(other(l), s), std::invalid_argument);
  CHECK_THROWS_AS(prefix_sum(l, other(s)), std::invalid_argument);
  // The pointwise evaluator refuses them; the grouped one takes them.
  CHECK_THROWS_AS(Evaluator({qsum(s)}, {"s"}), std::invalid_argument);
}

// ---- the interpreter's semantics ------------------------------------------------

TEST_CASE("ranking: the segmented ops' edge semantics in the interpreter") {
  Expr s = input("s");
  auto run = [&](const Expr& e, std::vector<double> v) {
    GroupEvaluator ev({e}, {"s"});
    std::vector<double> out(v.size());
    const double* in[] = {v.data()};
    double* o[] = {out.data()};
    ev.run(in, static_cast<int64_t>(v.size()), o);
    return out;
  };
  CHECK(run(qsum(s), {1, 2, 4}) == std::vector<double>{7, 7, 7});
  CHECK(run(qcount(), {1, 2, 4}) == std::vector<double>{3, 3, 3});
  CHECK(run(qmax(s), {1, NAN, 4})[0] == 4);  // NaN is skipped
  // Ties go to the earlier document; a NaN is never above another.
  CHECK(run(rank(s), {2, 5, 2, 1}) == std::vector<double>{2, 1, 3, 4});
  // One document: no pairs, an empty sum is 0.
  CHECK(run(pairsum(constant(1), other(s)), {3}) == std::vector<double>{0});
  // Skipped pairs add nothing, not even a NaN.
  CHECK(run(pairsum(s - other(s), log(s - other(s))), {1, 2, 3}) == std::vector<double>{0, 0, std::log(2.0)});
  CHECK(run(pairsum(s - other(s), other(s)), {1, 2, 3}) == std::vector<double>{0, 1, 3});
  // The sugar.
  const std::vector<double> sm = run(softmax(s), {1000, 1000});  // qlse cannot overflow
  CHECK(sm[0] == doctest::Approx(0.5));
  CHECK(run(smooth_rank(s, 1.0), {0, 0})[0] == doctest::Approx(1.5));
  CHECK(run(ideal_dcg(s), {0, 1, 2})[0] == doctest::Approx(3 + 1 / std::log2(3.0)));
}

TEST_CASE("ranking: the scans sum in rank's order, a NaN key last, and equal their pairsum forms") {
  const Expr k = input("k"), x = input("x");
  auto run = [&](const Expr& e, std::vector<double> key, std::vector<double> v) {
    GroupEvaluator ev({e}, {"k", "x"});
    std::vector<double> out(v.size());
    const double* in[] = {key.data(), v.data()};
    double* o[] = {out.data()};
    ev.run(in, static_cast<int64_t>(v.size()), o);
    return out;
  };
  // Order by key 3, 2 (the earlier), 2, 1: documents 1, 0, 2, 3.
  const std::vector<double> key{2, 3, 2, 1}, v{1, 10, 100, 1000};
  CHECK(run(suffix_sum(k, x), key, v) == std::vector<double>{1101, 1111, 1100, 1000});
  CHECK(run(prefix_sum(k, x), key, v) == std::vector<double>{11, 10, 111, 1111});
  // A per-query operand counts the documents; a per-query key keeps the list's order.
  CHECK(run(suffix_sum(k, constant(2)), key, v) == std::vector<double>{6, 8, 4, 2});
  CHECK(run(prefix_sum(constant(0), x), key, v) == std::vector<double>{1, 11, 111, 1111});
  // A NaN key goes after every other one (-inf included), NaNs in document order.
  CHECK(run(prefix_sum(k, x), {NAN, -INFINITY, NAN, 5}, v) == std::vector<double>{1011, 1010, 1111, 1000});
  CHECK(run(suffix_sum(k, x), {1}, {7}) == std::vector<double>{7});

  // On random lists (ties included): the pairsum forms over rank(key).
  const Lists lists = random_lists(31, 40, 15);
  const Expr at_or_below = x + pairsum(other(rank(k)) - rank(k), other(x));
  const Expr at_or_above = x + pairsum(rank(k) - other(rank(k)), other(x));
  for (int64_t q = 0; q < lists.queries(); ++q) {
    const auto b = lists.offsets[q], e = lists.offsets[q + 1];
    const std::vector<double> kq(lists.label.begin() + b, lists.label.begin() + e);
    const std::vector<double> xq(lists.score.begin() + b, lists.score.begin() + e);
    const std::vector<double> s1 = run(suffix_sum(k, x), kq, xq), s2 = run(at_or_below, kq, xq);
    const std::vector<double> p1 = run(prefix_sum(k, x), kq, xq), p2 = run(at_or_above, kq, xq);
    for (size_t i = 0; i < kq.size(); ++i) {
      CHECK(s1[i] == doctest::Approx(s2[i]));
      CHECK(p1[i] == doctest::Approx(p2[i]));
    }
  }
}

TEST_CASE("ranking: hostile segment offsets are clear errors") {
  const Program p = example("ranknet");
  const std::vector<double> s(6, 0.0), l(6, 1.0);
  const std::vector<const double*> in{s.data(), l.data()};
  auto error = [&](std::vector<int64_t> offsets, int64_t queries) -> std::string {
    try {
      run_grouped_program(p, in, offsets.data(), queries);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(error({0, 3, 3, 6}, 3) == "segment offsets: query 1 is empty (offsets[1] = offsets[2] = 3)");
  CHECK(error({0, 4, 2, 6}, 3) == "segment offsets: out of order: offsets[1] = 4 > offsets[2] = 2");
  CHECK(error({1, 3, 6}, 2) == "segment offsets: offsets[0] is 1, not 0");
  CHECK(error({0, 3, 6}, 2) == "no error");
  std::vector<int64_t> huge{0, kMaxListSize + 1};
  CHECK(check_offsets_message(huge) == std::string("segment offsets: query 0 has ") +
                                           std::to_string(kMaxListSize + 1) + " documents, more than the " +
                                           std::to_string(kMaxListSize) + " this backend supports");
}

// ---- simplify ------------------------------------------------------------------

TEST_CASE("ranking: the per-query rewrite rules keep values on random lists") {
  const Lists lists = random_lists(7, 20);
  int rules = 0;
  for (const RewriteRule& r : rewrite_rules()) {
    if (!r.lhs->segmented()) continue;
    ++rules;
    INFO("rule ", std::string(r.name), ": ", to_string(r.lhs), " → ", to_string(r.rhs));
    const std::vector<std::pair<std::string, Expr>> bind = {
        {"?x", sigmoid(input("s")) - input("l")}, {"?y", input("l")}, {"?q", qsum(input("s")) * 0.3},
        {"?w", input("l") - other(input("l"))}};
    // Both sides summed the same way: a pair value over the pairs first.
    const bool pair = substitute(r.lhs, bind)->level() == Level::Pair;
    auto bound = [&](const Expr& e) {
      Expr b = substitute(e, bind);
      return pair ? qsum(pairsum(constant(1.0), b)) : qsum(b);
    };
    GroupEvaluator lhs({bound(r.lhs)}, {"s", "l"}), rhs({bound(r.rhs)}, {"s", "l"});
    for (int64_t q = 0; q < lists.queries(); ++q) {
      const int64_t b = lists.offsets[q], n = lists.offsets[q + 1] - b;
      const double* in[] = {lists.score.data() + b, lists.label.data() + b};
      std::vector<double> x(n), y(n);
      double* ox[] = {x.data()};
      double* oy[] = {y.data()};
      lhs.run(in, n, ox);
      rhs.run(in, n, oy);
      CHECK(close(x[0], y[0], 1e-12));
    }
  }
  CHECK(rules >= 5);
  // Constants leave sums; a per-query sum of a per-query value is a product.
  Expr s = input("s"), l = input("l");
  CHECK(simplify(qsum(s * 2.0)) == simplify(qsum(s) * 2.0));
  CHECK(simplify(qsum(s / qsum(l))) == simplify(qsum(s) / qsum(l)));
  CHECK(simplify(qsum(constant(3.0))) == simplify(3.0 * qcount()));
  CHECK(simplify(pairsum(constant(1.0), other(qmax(s)) - other(s))) ==
        simplify(pairsum(constant(1.0), qmax(s) - other(s))));
  CHECK(simplify(qsum(constant(1.0))) == qcount());
  // Per-document work leaves the pairs: exp(other(s) − m) is other(exp(s − m)).
  CHECK(simplify(exp(other(s) - qmax(s))) == other(exp(s - qmax(s))));
  CHECK(simplify(2.0 * other(s) / qsum(s))->op() == Op::Other);
  // Pair sums over the same pairs become one; over different pairs they stay two.
  const Expr up = l - other(l), t = sigmoid(other(s) - s);
  CHECK(simplify(pairsum(up, t) + pairsum(up, t * other(l))) == simplify(pairsum(up, t + t * other(l))));
  CHECK(simplify(pairsum(up, t) - pairsum(-up, t))->op() == Op::Sub);
}

TEST_CASE("ranking: ApproxNDCG's gradient computes each pair's sigmoids in two pair loops") {
  // σ(s_j − s_i)·σ(s_i − s_j) is one exp; the gradient's two pair sums are one loop.
  const LossFunction fn = parse_loss_file(std::string(LOSSCC_SOURCE_DIR) + "/examples/approx_ndcg.loss");
  const Program program = build_program(fn);
  int pair_loops = 0, sigmoids = 0;
  for (const Node* n : schedule({program.outputs.begin(), program.outputs.end()})) {
    pair_loops += n->op() == Op::PairSum;
    sigmoids += n->op() == Op::Sigmoid;
  }
  CHECK(pair_loops == 2);  // the smooth ranks (forward), the gradient's
  CHECK(sigmoids == 1);    // the smooth ranks' σ(s_j − s_i)
}

TEST_CASE("ranking: a shift by qmax that cancels sends no gradient term through the maximum") {
  auto count = [](const Program& p, Op op) {
    int k = 0;
    for (const Node* n : schedule({p.outputs.begin(), p.outputs.end()})) k += n->op() == op;
    return k;
  };
  // ListNet: the gradient is softmax(score)·Σ softmax(label) − softmax(label),
  // built from the forward pass's two exps; no step() for the maximum.
  const Program listnet = example("listnet");
  CHECK(count(listnet, Op::Exp) == 2);
  CHECK(count(listnet, Op::Step) == 0);
  // ListMLE: one scan forward (the suffix sums) and one backward (the prefix
  // sums of the adjoint), no pair loop, nothing for the zero term through the
  // shift, one exp per document.
  const Program listmle = example("listmle");
  CHECK(count(listmle, Op::SuffixSum) == 1);
  CHECK(count(listmle, Op::PrefixSum) == 1);
  CHECK(count(listmle, Op::PairSum) == 0);
  CHECK(count(listmle, Op::Step) == 0);
  CHECK(count(listmle, Op::Exp) == 1);

  // Values: central differences of the interpreter's loss, ties included.
  const Lists lists = random_lists(5, 12, 7);
  const char* const bodies[] = {
      "qlse(score * label)", "qsum(softmax(2 * score) * label)", "qsum(softmax(score) * score) + qlse(-score)",
      "qmax(score) + qlse(score) * qsum(softmax(score - label) * label)",
      // ListMLE-like suffix sums, and a ratio through a pair sum.
      "qsum(log(pairsum(label - other(label), exp(other(score) - qmax(score))) + exp(score - qmax(score))) + "
      "qmax(score) - score)",
      "qsum(label * pairsum(1, exp(other(score) - qmax(score))) / qsum(exp(score - qmax(score))))",
      // The same with scans: ListMLE, a prefix form, a scan of a scan, a
      // computed key, a per-query operand.
      "qsum(log(suffix_sum(label, exp(score - qmax(score)))) + qmax(score) - score)",
      "qsum(label * log(prefix_sum(label, exp(score - qmax(score)))))",
      "qsum(sigmoid(suffix_sum(score, prefix_sum(label, score * label))) * label)",
      "qsum(suffix_sum(2 * score - label, score * score) * label) + qsum(prefix_sum(label, qmax(score)) * score)",
      // Shifts that do not cancel keep their term through the maximum.
      "qsum(exp(score - qmax(score))) + log(qsum(exp(score - qmax(score)))) + 2 * qmax(score)"};
  for (const char* body : bodies) {
    INFO(std::string(body));
    const Program p = build_program(
        parse_loss(std::string("input score: real as pred\ninput label: grade\n") + body + "\n", "unit.loss"), {0});
    auto loss_at = [&](const Vec& score) {
      return run_grouped_program(p, std::vector<const double*>{score.data(), lists.label.data()},
                                 lists.offsets.data(), lists.queries())
          .loss;
    };
    const Vec grad = run_grouped_program(p, std::vector<const double*>{lists.score.data(), lists.label.data()},
                                         lists.offsets.data(), lists.queries())
                         .grads[0];
    Vec score = lists.score;
    for (int64_t i = 0; i < lists.size(); ++i) {
      // qmax has no derivative where the maximum is tied: skip those queries.
      const int64_t q = std::upper_bound(lists.offsets.begin(), lists.offsets.end(), i) - lists.offsets.begin() - 1;
      const auto first = score.begin() + lists.offsets[q], last = score.begin() + lists.offsets[q + 1];
      if (std::count(first, last, *std::max_element(first, last)) > 1) continue;
      const double h = 1e-6, at = score[i];
      score[i] = at + h;
      const double up = loss_at(score);
      score[i] = at - h;
      const double down = loss_at(score);
      score[i] = at;
      INFO("document ", i, ": ", grad[i], " vs ", (up - down) / (2 * h));
      CHECK(close(grad[i], (up - down) / (2 * h), 1e-5));
    }
  }
}

// ---- check and the fingerprint --------------------------------------------------

TEST_CASE("ranking check: every ranking example passes, with the fractions reported") {
  for (const Case& c : kCases) {
    INFO(std::string(c.file));
    const CheckReport r = check(parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/") + c.file + ".loss"));
    INFO(r.to_json().dump());
    CHECK(r.valid);
    REQUIRE(r.ideal_order_fraction.has_value());
    CHECK(*r.ideal_order_fraction > 0.9);
    CHECK(r.monotonic_fraction > 0.6);
    CHECK(r.to_json().contains("ideal_order_fraction"));
  }
}

TEST_CASE("ranking check: what it rejects") {
  const std::string head = "input score: real as pred\ninput label: grade\n";
  auto report = [&](const std::string& body) { return check(parse_loss(head + body)); };
  // RankNet with the pair order flipped prefers the reversed order.
  CheckReport flipped = report("qsum(pairsum(other(label) - label, softplus(other(score) - score)))");
  CHECK(flipped.failed("ideal-order"));
  CHECK(flipped.failed("monotonic"));
  CHECK(*flipped.ideal_order_fraction < 0.1);
  CHECK(flipped.monotonic_fraction < 0.1);
  // Scores never used.
  CHECK(report("qsum(label)").failed("depends-on-prediction"));
  // Divides by zero on one-document queries.
  CheckReport single = report("qsum(pairsum(label - other(label), softplus(other(score) - score))) / (qcount() - 1)");
  CHECK(single.failed("finite"));
  CHECK(single.reasons[0].find("1 documents") != std::string::npos);
  // Flat in the scores: the hard rank has no gradient.
  CHECK(report("qsum(label * rank(score))").failed("nonzero-gradient"));
}

TEST_CASE("ranking fingerprint: equal losses match, different ones do not") {
  const std::string head = "input score: real as pred\ninput label: grade\n";
  auto fp = [&](const std::string& body) { return gradient_fingerprint(parse_loss(head + body)); };
  const auto ranknet = fp("qsum(pairsum(label - other(label), softplus(other(score) - score)))");
  CHECK(ranknet.size() == 1 + 3 + 6);  // ∂/∂score at every document; labels train nothing
  CHECK(same_fingerprint(ranknet, fp("qsum(pairsum(label - other(label), log(1 + exp(other(score) - score))))")));
  CHECK_FALSE(same_fingerprint(ranknet, fp("qsum(pairsum(label - other(label), relu(1 - score + other(score))))")));
  CHECK_FALSE(same_fingerprint(ranknet, fp("qmean(pairsum(label - other(label), softplus(other(score) - score)))")));
}
