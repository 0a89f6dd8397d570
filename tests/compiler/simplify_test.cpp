#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "compiler/interp/interp.h"
#include "compiler/ir/print.h"
#include "compiler/passes/simplify.h"
#include "random_expr.h"

using namespace losscc;
using losscc::testing::RandomExprGen;

namespace {

// simplify(input) must be exactly the node `expected`.
void check(const Expr& in, const Expr& expected) {
  Expr out = simplify(in);
  INFO("input:    ", to_string(in));
  INFO("expected: ", to_string(expected));
  INFO("got:      ", to_string(out));
  CHECK(out == expected);
}

// Two spellings are the same loss when they simplify to one node.
void check_same(const Expr& a, const Expr& b) {
  Expr sa = simplify(a), sb = simplify(b);
  INFO(to_string(a), "  →  ", to_string(sa));
  INFO(to_string(b), "  →  ", to_string(sb));
  CHECK(sa == sb);
}

// Equal within rounding (relative, with an absolute floor for results that
// cancel to about zero), or both non-finite.
bool close(double a, double b, double tol) {
  if (!std::isfinite(a) || !std::isfinite(b)) return !std::isfinite(a) && !std::isfinite(b);
  return std::fabs(a - b) <= tol * std::max({1.0, std::fabs(a), std::fabs(b)});
}

const Expr p = input("pred"), l = input("label"), x = input("x"), y = input("y");

}  // namespace

TEST_CASE("simplify: the rewrite table, one line at a time") {
  // clang-format off
  check(x + 0.0,                          x);
  check(0.0 + x,                          x);
  check(x - 0.0,                          x);
  check(0.0 - x,                          -x);
  check(x * 1.0,                          x);
  check(1.0 * x,                          x);
  check(x * -1.0,                         -x);
  check(x / 1.0,                          x);
  check(pow(x, 1.0),                      x);
  check(pow(x, 0.0),                      constant(1.0));
  check(x * (1.0 / y),                    x / y);
  check((1.0 / x) / x,                    pow(1.0 / x, 2.0));
  check(x + x,                            x * 2.0);
  check(x * x,                            pow(x, 2.0));
  check(max(x, x),                        x);
  check(-(-x),                            x);
  check(x - (-y),                         simplify(x + y));
  check(x + (-y),                         x - y);
  check(-(x - y),                         y - x);
  check((-x) * y,                         -simplify(x * y));
  check((-x) / y,                         -(x / y));
  check(x / (-y),                         -(x / y));
  check(-(2.0 * x),                       x * -2.0);
  check(-(x / 2.0),                       x / -2.0);
  check(-(2.0 / x),                       -2.0 / x);
  check(-0.0 - x,                         -x);
  check((x + 1.0) + 2.0,                  x + 3.0);
  check(3.0 * (x * 2.0),                  x * 6.0);
  check(abs(-x),                          abs(x));
  check(abs(abs(x)),                      abs(x));
  check(abs(pow(x, 2.0)),                 pow(x, 2.0));
  check(pow(-x, 2.0),                     pow(x, 2.0));
  check(pow(abs(x), 2.0),                 pow(x, 2.0));
  check(sqrt(pow(x, 2.0)),                abs(x));
  check(sign(sign(x)),                    sign(x));
  check(relu(relu(x)),                    relu(x));
  check(log(exp(x)),                      x);
  check(log(1.0 + exp(x)),                softplus(x));
  check(log(1.0 + x),                     log1p(x));
  check(log(x + 1.0),                     log1p(x));
  check(log(1.0 - x),                     log1p(-x));
  check(exp(x) - 1.0,                     expm1(x));
  check(1.0 / (1.0 + exp(-x)),            sigmoid(x));
  check(1.0 / (exp(-x) + 1.0),            sigmoid(x));
  check(1.0 / (1.0 + exp(x)),             sigmoid(-x));
  check(1.0 - sigmoid(x),                 sigmoid(-x));
  check(log(sigmoid(x)),                  -softplus(-x));
  check(log(1.0 - sigmoid(x)),            -softplus(x));
  // Constant folding with the interpreter's semantics.
  check(constant(2.0) * 3.0 + 1.0,        constant(7.0));
  check(log(constant(0.0)),               constant(-INFINITY));
  check(constant(0.0) / 0.0,              constant(NAN));
  check(max(constant(NAN), constant(1.0)), constant(1.0));
  check(sign(constant(NAN)),              constant(0.0));
  // Already canonical: unchanged.
  check(log(p),                           log(p));
  // clang-format on
}

TEST_CASE("simplify: unsafe identities are not applied") {
  // Each would change a value at inf or NaN operands.
  CHECK(simplify(x * 0.0) != constant(0.0));
  CHECK(simplify(x - x) != constant(0.0));
  CHECK(simplify(x / x) != constant(1.0));
  CHECK(simplify(exp(log(x))) != x);
  CHECK(simplify(pow(pow(x, 2.0), 0.5)) != x);
}

TEST_CASE("simplify: commutative operands get a deterministic order") {
  CHECK(simplify(p * l) == simplify(l * p));
  CHECK(simplify(max(p, l)) == simplify(max(l, p)));
  Expr s = simplify(2.0 + p);
  REQUIRE(s->op() == Op::Add);
  CHECK(s->arg(1)->is_const(2.0));  // constants go right
  // The order follows the stable hash, so it is the same in every run.
  CHECK(simplify(p + l)->hash() == simplify(l + p)->hash());
}

TEST_CASE("simplify: two spellings of one loss become one node") {
  Expr d = p - l;
  check_same(pow(d, 2.0), square(p - l));
  check_same(pow(d, 2.0), d * d);
  check_same(pow(l - p, 2.0), (-(p - l)) * (-(p - l)));
  check_same(l * log(p) + (1.0 - l) * log(1.0 - p), log(1.0 - p) * (1.0 - l) + log(p) * l);
  check_same(-(l * log(p) + (1.0 - l) * log(1.0 - p)), -((1.0 - l) * log(1.0 - p) + l * log(p)));
  check_same(-(x - y), y - x);
  check_same(1.0 / (1.0 + exp(-x)), sigmoid(x));
  check_same(x + (-y), x - y);
  check_same(-(x * 2.0), (-x) * 2.0);
  check_same(log(1.0 - sigmoid(x)), -softplus(x));
}

TEST_CASE("simplify: idempotent, and shared nodes stay shared") {
  Expr e = log(1.0 - sigmoid(p)) * l + pow(p - l, 2.0) * (p - l);
  Expr s = simplify(e);
  CHECK(simplify(s) == s);
  std::vector<Expr> both = simplify(std::vector<Expr>{e, p - l});
  CHECK(both[0] == s);
  CHECK(both[1] == simplify(p - l));
  // Deep expressions are simplified without recursion on the input's depth.
  Expr deep = p;
  for (int i = 0; i < 20000; ++i) deep = deep + 0.0;
  CHECK(simplify(deep) == p);
}

TEST_CASE("simplify: every rule keeps values by its safety class") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  for (const RewriteRule& r : rewrite_rules()) {
    if (r.lhs->segmented()) continue;  // per-query rules: ranking_test.cpp
    INFO("rule ", r.name, ": ", to_string(r.lhs), " → ", to_string(r.rhs));
    // Constant wildcards are bound as constants.
    Expr lhs = substitute(r.lhs, {{"?c", constant(1.5)}, {"?d", constant(-0.25)}});
    Expr rhs = substitute(r.rhs, {{"?c", constant(1.5)}, {"?d", constant(-0.25)}});
    for (int i = 0; i < 200; ++i) {
      std::map<std::string, double> env{{"?x", u(rng)}, {"?y", u(rng)}, {"?z", u(rng)}};
      if (i == 0) env["?x"] = INFINITY;
      if (i == 1) env["?x"] = NAN;
      if (i == 2) env["?y"] = -INFINITY;
      if (i == 3) env["?x"] = 0.0;  // an Exact rule keeps the sign of a zero
      if (i == 4) env["?x"] = -0.0;
      double a = eval(lhs, env), b = eval(rhs, env);
      INFO("x = ", env["?x"], "  y = ", env["?y"], "  lhs = ", a, "  rhs = ", b);
      switch (r.safety) {
        case Safety::Exact:
        case Safety::SignOfZero:
          CHECK(((a == b) || (std::isnan(a) && std::isnan(b))));
          if (r.safety == Safety::Exact && a == 0 && b == 0) CHECK(std::signbit(a) == std::signbit(b));
          break;
        case Safety::Rounding: CHECK(close(a, b, 1e-14)); break;
        case Safety::MoreAccurate:
          if (std::isfinite(a)) CHECK(close(a, b, 1e-9));
          break;
      }
    }
  }
}

TEST_CASE("simplify: values are preserved on 500 random expressions") {
  const double preds[] = {1e-4, 0.013, 0.137, 0.5, 0.777, 0.99, 1 - 1e-4};
  int compared = 0, rewritten = 0;
  for (int i = 0; i < 500; ++i) {
    RandomExprGen gen(5000 + i, /*extended=*/i % 2 == 1);
    Expr e = gen(6);
    Expr s = simplify(e);
    CHECK(simplify(s) == s);
    rewritten += s != e;
    for (double pv : preds)
      for (double lv : {0.0, 1.0}) {
        std::map<std::string, double> env{{"pred", pv}, {"label", lv}};
        double a = eval(e, env), b = eval(s, env);
        INFO("before: ", to_string(e));
        INFO("after:  ", to_string(s));
        INFO("pred = ", pv, "  label = ", lv, "  ", a, " vs ", b);
        CHECK(close(a, b, 1e-9));
        ++compared;
      }
  }
  CHECK(compared == 500 * 7 * 2);
  MESSAGE(rewritten, " of 500 expressions were rewritten");
  CHECK(rewritten > 200);  // the property is not vacuous
}
