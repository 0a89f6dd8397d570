#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "compiler/interp/interp.h"

using namespace losscc;

namespace {
const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST_CASE("interp: hand-computed values") {
  Expr p = input("pred"), l = input("label");
  std::map<std::string, double> env{{"pred", 0.25}, {"label", 1.0}};
  CHECK(eval(p + l, env) == 1.25);
  CHECK(eval(p - l, env) == -0.75);
  CHECK(eval(p * l * 4.0, env) == 1.0);
  CHECK(eval(l / p, env) == 4.0);
  CHECK(eval(pow(p, 2.0), env) == 0.0625);
  CHECK(eval(sqrt(p), env) == 0.5);
  CHECK(eval(-(l * log(p) + (1.0 - l) * log(1.0 - p)), env) == doctest::Approx(1.3862943611198906));
  CHECK(eval(pow(p - l, 2.0), env) == 0.5625);
  CHECK(eval(max(p, l), env) == 1.0);
  CHECK(eval(min(p, l), env) == 0.25);
  CHECK(eval(relu(p - l), env) == 0.0);
  CHECK(eval(abs(p - l), env) == 0.75);
  CHECK(eval(sigmoid(constant(0.0)), {}) == 0.5);
  CHECK(eval(softplus(constant(0.0)), {}) == doctest::Approx(std::log(2.0)));
  CHECK(eval(tanh(constant(0.5)), {}) == doctest::Approx(0.46211715726000974));
  CHECK(eval(log1p(constant(1e-20)), {}) == 1e-20);
  CHECK(eval(expm1(constant(1e-20)), {}) == 1e-20);
}

TEST_CASE("interp: edge semantics") {
  CHECK(eval(log(constant(0.0)), {}) == -kInf);
  CHECK(std::isnan(eval(log(constant(-1.0)), {})));
  CHECK(std::isnan(eval(constant(0.0) / constant(0.0), {})));
  CHECK(eval(constant(1.0) / constant(0.0), {}) == kInf);
  CHECK(eval(constant(-1.0) / constant(0.0), {}) == -kInf);
  CHECK(std::isnan(eval(constant(0.0) * constant(kInf), {})));
  CHECK(eval(exp(constant(1000.0)), {}) == kInf);
  CHECK(std::isnan(eval(sqrt(constant(-1.0)), {})));
  CHECK(std::isnan(eval(pow(constant(-2.0), 0.5), {})));
  CHECK(eval(pow(constant(0.0), -1.0), {}) == kInf);
  CHECK(eval(log1p(constant(-1.0)), {}) == -kInf);
  // minNum / maxNum: one NaN operand yields the other.
  CHECK(eval(max(constant(kNaN), constant(2.0)), {}) == 2.0);
  CHECK(eval(max(constant(2.0), constant(kNaN)), {}) == 2.0);
  CHECK(eval(min(constant(kNaN), constant(-3.0)), {}) == -3.0);
  CHECK(std::isnan(eval(max(constant(kNaN), constant(kNaN)), {})));
  // sign, step and relu send NaN to 0.
  CHECK(eval(sign(constant(kNaN)), {}) == 0.0);
  CHECK(eval(sign(constant(0.0)), {}) == 0.0);
  CHECK(eval(sign(constant(-0.5)), {}) == -1.0);
  CHECK(eval(step(constant(kNaN)), {}) == 0.0);
  CHECK(eval(step(constant(0.0)), {}) == 0.0);
  CHECK(eval(step(constant(1e-300)), {}) == 1.0);
  CHECK(eval(relu(constant(kNaN)), {}) == 0.0);
  // The stable forms do not overflow.
  CHECK(eval(sigmoid(constant(-1000.0)), {}) == 0.0);
  CHECK(eval(sigmoid(constant(1000.0)), {}) == 1.0);
  CHECK(eval(softplus(constant(1000.0)), {}) == 1000.0);
  CHECK(eval(softplus(constant(-1000.0)), {}) == 0.0);
  CHECK(std::isnan(eval(sigmoid(constant(kNaN)), {})));
  CHECK(std::isnan(eval(softplus(constant(kNaN)), {})));
}

TEST_CASE("interp: apply is the one scalar table") {
  CHECK(apply(Op::Add, 1, 2) == 3);
  CHECK(apply(Op::Pow, 3, 2) == 9);
  CHECK(apply(Op::Sign, -2) == -1);
  CHECK_THROWS_AS(apply(Op::Const, 1), std::invalid_argument);
  CHECK_THROWS_AS(apply(Op::Input, 1), std::invalid_argument);
}

TEST_CASE("interp: an unknown input is an error") {
  CHECK_THROWS_AS(eval(input("pred") + input("label"), {{"pred", 0.5}}), std::invalid_argument);
}

TEST_CASE("interp: deep expressions do not recurse") {
  Expr e = input("pred");
  for (int i = 0; i < 50000; ++i) e = e + 1.0;
  CHECK(eval(e, {{"pred", 0.5}}) == 50000.5);
}

TEST_CASE("interp: run_program reduces and scales by the contract") {
  Expr p = input("pred"), l = input("label");
  Program prog;
  prog.fn.inputs = LossFunction::default_inputs();
  prog.fn.body = pow(p - l, 2.0);
  prog.grad_inputs = {0};
  prog.outputs = {prog.fn.body, 2.0 * (p - l)};
  const float pred[] = {0.5f, 0.25f, 1.0f, 0.0f};
  const float label[] = {1.0f, 0.0f, 1.0f, 1.0f};

  ProgramResult mean = run_program(prog, std::vector<const float*>{pred, label}, 4);
  CHECK(mean.loss == doctest::Approx((0.25 + 0.0625 + 0 + 1) / 4));
  REQUIRE(mean.grads.size() == 1);
  REQUIRE(mean.grads[0].size() == 4);
  CHECK(mean.grads[0][0] == doctest::Approx(-1.0 / 4));
  CHECK(mean.grads[0][1] == doctest::Approx(0.5 / 4));
  CHECK(mean.grads[0][3] == doctest::Approx(-2.0 / 4));

  prog.fn.reduction = Reduction::Sum;
  const double dpred[] = {0.5, 0.25, 1.0, 0.0};
  const double dlabel[] = {1.0, 0.0, 1.0, 1.0};
  ProgramResult sum = run_program(prog, std::vector<const double*>{dpred, dlabel}, 4);
  CHECK(sum.loss == doctest::Approx(0.25 + 0.0625 + 0 + 1));
  CHECK(sum.grads[0][0] == doctest::Approx(-1.0));

  CHECK_THROWS_AS(run_program(prog, std::vector<const float*>{pred}, 4), std::invalid_argument);
}
