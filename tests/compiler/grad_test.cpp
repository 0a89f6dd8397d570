#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <optional>

#include "classic_losses.h"
#include "compiler/interp/interp.h"
#include "compiler/ir/print.h"
#include "compiler/language/parse.h"
#include "compiler/passes/grad.h"
#include "random_expr.h"

using namespace losscc;
using losscc::testing::RandomExprGen;

namespace {

// Points chosen away from the round numbers where the random expressions put
// their kinks (0, 1/2, 1), with labels at both ends of {0,1} and inside.
// ∂/∂label is only compared at the generic labels: at label = 0 a subterm like
// sign(label²)·c·label is continuous with slope c, while the symbolic rule
// (d sign = 0, sign(0) = 0) gives 0 — a convention at a measure-zero point that
// finite differences cannot see.
const double kPreds[] = {0.137, 0.291, 0.433, 0.618, 0.777, 0.912};
const double kLabels[] = {0.0, 0.35, 0.81, 1.0};
bool generic_label(double l) { return l != 0.0 && l != 1.0; }

struct Probe {
  Evaluator f;     // the expression
  Evaluator grad;  // its symbolic gradients w.r.t. pred, label
  explicit Probe(const Expr& e)
      : f({e}, {"pred", "label"}), grad(gradient(e, {"pred", "label"}), {"pred", "label"}) {}
  double value(double p, double l) {
    double in[] = {p, l}, out;
    f.run(in, &out);
    return out;
  }
};

// ∂f/∂x_k at x by central differences, or nullopt where the point is near a
// kink or the differences are not trustworthy: the one-sided slopes must agree
// and the central difference must not move when the step halves.
std::optional<double> finite_difference(Probe& pr, double p, double l, int k) {
  auto at = [&](double dx) { return k == 0 ? pr.value(p + dx, l) : pr.value(p, l + dx); };
  const double h = 1e-5;
  double f0 = at(0), fp = at(h), fm = at(-h), fp2 = at(h / 2), fm2 = at(-h / 2);
  for (double v : {f0, fp, fm, fp2, fm2})
    if (!std::isfinite(v)) return std::nullopt;
  double right = (fp - f0) / h, left = (f0 - fm) / h;
  double central = (fp - fm) / (2 * h), central2 = (fp2 - fm2) / h;
  double scale = std::max(1.0, std::fabs(central2));
  if (std::fabs(right - left) > 1e-2 * scale) return std::nullopt;
  if (std::fabs(central - central2) > 1e-5 * scale) return std::nullopt;
  return central2;
}

struct Tally {
  int checked = 0, skipped = 0;
};

// Compares the symbolic gradient with finite differences at every probe point.
void check_against_fd(const Expr& e, Tally& tally) {
  Probe pr(e);
  for (double p : kPreds)
    for (double l : kLabels) {
      double in[] = {p, l}, g[2];
      pr.grad.run(in, g);
      for (int k = 0; k < 2; ++k) {
        if (k == 1 && !generic_label(l)) continue;
        std::optional<double> fd = finite_difference(pr, p, l, k);
        if (!fd || !std::isfinite(g[k])) {
          ++tally.skipped;
          continue;
        }
        ++tally.checked;
        INFO("expr = ", to_string(e), "  pred = ", p, "  label = ", l, "  d/d", (k ? "label" : "pred"));
        CHECK(g[k] == doctest::Approx(*fd).epsilon(1e-4).scale(1.0));
      }
    }
}

}  // namespace

TEST_CASE("grad: one rule per op, at a point") {
  Expr p = input("pred"), l = input("label");
  auto d = [&](const Expr& e, double pv, double lv = 0.0) {
    return eval(gradient(e, {"pred"})[0], {{"pred", pv}, {"label", lv}});
  };
  CHECK(d(pow(p - l, 2.0), 0.75, 1.0) == doctest::Approx(-0.5));
  CHECK(d(pow(p, 3.0), 2.0) == doctest::Approx(12.0));
  CHECK(d(log(p), 0.25) == doctest::Approx(4.0));
  CHECK(d(exp(p), 1.0) == doctest::Approx(std::exp(1.0)));
  CHECK(d(sqrt(p), 4.0) == doctest::Approx(0.25));
  CHECK(d(p / l, 3.0, 2.0) == doctest::Approx(0.5));
  CHECK(eval(gradient(p / l, {"label"})[0], {{"pred", 3.0}, {"label", 2.0}}) == doctest::Approx(-0.75));
  CHECK(d(sigmoid(p), 0.0) == doctest::Approx(0.25));
  CHECK(d(tanh(p), 0.0) == doctest::Approx(1.0));
  CHECK(d(softplus(p), 0.0) == doctest::Approx(0.5));
  CHECK(d(log1p(p), 1.0) == doctest::Approx(0.5));
  CHECK(d(expm1(p), 0.0) == doctest::Approx(1.0));
  // detach: the value, held constant. (1 + detach(p²))·p has slope 1 + p²,
  // not 1 + 3p² as finite differences would see.
  CHECK(eval(detach(p * p), {{"pred", 3.0}}) == 9.0);
  CHECK(d(detach(p), 0.3) == 0.0);
  CHECK(d((1.0 + detach(p * p)) * p, 3.0) == doctest::Approx(10.0));
  CHECK(d(-p, 0.3) == -1.0);
  CHECK(d(p - l, 0.3) == 1.0);
}

TEST_CASE("grad: conventions at kinks") {
  Expr p = input("pred"), l = input("label");
  auto d = [&](const Expr& e, const std::string& wrt, double pv, double lv) {
    return eval(gradient(e, {wrt})[0], {{"pred", pv}, {"label", lv}});
  };
  CHECK(d(abs(p), "pred", 0.0, 0) == 0.0);
  CHECK(d(abs(p), "pred", -2.0, 0) == -1.0);
  CHECK(d(relu(p), "pred", 0.0, 0) == 0.0);
  CHECK(d(relu(p), "pred", 0.5, 0) == 1.0);
  // Ties of max and min go to the second operand.
  CHECK(d(max(p, l), "pred", 0.5, 0.5) == 0.0);
  CHECK(d(max(p, l), "label", 0.5, 0.5) == 1.0);
  CHECK(d(min(p, l), "pred", 0.5, 0.5) == 0.0);
  CHECK(d(min(p, l), "label", 0.5, 0.5) == 1.0);
  CHECK(d(max(p, l), "pred", 0.7, 0.5) == 1.0);
  CHECK(d(min(p, l), "pred", 0.7, 0.5) == 0.0);
  // sign and step have no derivative terms at all: no 0·inf = NaN.
  CHECK(gradient(sign(p) + step(p), {"pred"})[0]->is_const(0.0));
  CHECK(d(sign(p) * exp(1000.0 * p), "pred", 1.0, 0) == INFINITY);
}

TEST_CASE("grad: absent inputs get the constant 0") {
  std::vector<Expr> g = gradient(input("pred") * 2.0, {"label", "weight"});
  REQUIRE(g.size() == 2);
  CHECK(g[0]->is_const(0.0));
  CHECK(g[1]->is_const(0.0));
}

TEST_CASE("grad: the backward expression reuses forward nodes") {
  Expr p = input("pred"), l = input("label");
  Expr e = exp(p) * l;
  Expr g = gradient(e, {"pred"})[0];
  bool reuses_exp = false;
  for (const Node* n : schedule({g})) reuses_exp = reuses_exp || n == exp(p).get();
  CHECK(reuses_exp);
  Expr s = sigmoid(p);
  Expr gs = gradient(s, {"pred"})[0];
  size_t separate = schedule({s}).size() + schedule({gs}).size();
  CHECK(schedule({s, gs}).size() < separate);
}

TEST_CASE("grad: the classic losses match finite differences") {
  for (auto& [name, fn] : losscc::testing::classic_losses()) {
    if (fn.find_input("pred") == nullptr) continue;  // the pairwise ones: below
    INFO(name);
    Tally tally;
    check_against_fd(fn.body, tally);
    CHECK(tally.checked >= 18);  // at least half the points are smooth
  }
  Expr pos = input("pos"), neg = input("neg");
  Expr bpr = softplus(neg - pos);
  std::vector<Expr> g = gradient(bpr, {"pos", "neg"});
  std::map<std::string, double> env{{"pos", 0.3}, {"neg", -0.4}};
  double s = 1.0 / (1.0 + std::exp(-(-0.4 - 0.3)));
  CHECK(eval(g[0], env) == doctest::Approx(-s));
  CHECK(eval(g[1], env) == doctest::Approx(s));
}

TEST_CASE("grad: every pointwise examples/*.loss matches finite differences") {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(LOSSCC_SOURCE_DIR "/examples")) {
    if (entry.path().extension() != ".loss") continue;
    const LossFunction fn = parse_loss_file(entry.path().string());
    if (fn.find_input("pred") == nullptr) continue;  // bpr: pairwise, checked above
    INFO(entry.path().filename().string());
    Tally tally;
    check_against_fd(fn.body, tally);
    CHECK(tally.checked >= 18);
    ++files;
  }
  CHECK(files >= 7);
}

TEST_CASE("grad: 600 random expressions match finite differences") {
  Tally tally;
  for (int i = 0; i < 600; ++i) {
    RandomExprGen gen(1000 + i, /*extended=*/i % 2 == 1);
    check_against_fd(gen(5), tally);
  }
  MESSAGE("checked ", tally.checked, " derivatives, skipped ", tally.skipped, " near kinks");
  CHECK(tally.checked > 2 * tally.skipped);
}
