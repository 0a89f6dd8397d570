#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <unordered_set>

#include "classic_losses.h"
#include "compiler/interp/interp.h"
#include "compiler/ir/print.h"
#include "compiler/passes/build_program.h"
#include "compiler/passes/grad.h"
#include "compiler/passes/simplify.h"
#include "random_expr.h"

using namespace losscc;
using losscc::testing::classic_losses;
using losscc::testing::pointwise;

TEST_CASE("program: outputs are the loss and one gradient per grad input") {
  Expr p = input("pred"), l = input("label");
  LossFunction fn = pointwise(-(l * log(p) + (1.0 - l) * log(1.0 - p)));
  Program prog = build_program(fn);
  CHECK(prog.grad_inputs == std::vector<int>{0});  // label is not differentiated
  REQUIRE(prog.outputs.size() == 2);
  CHECK(prog.outputs[0] == simplify(fn.body));
  CHECK(prog.fn.body == prog.outputs[0]);
  std::map<std::string, double> env{{"pred", 0.3}, {"label", 1.0}};
  CHECK(eval(prog.outputs[0], env) == doctest::Approx(-std::log(0.3)));
  CHECK(eval(prog.outputs[1], env) == doctest::Approx(-1.0 / 0.3));

  Program both = build_program(fn, {1, 0, 1});
  CHECK(both.grad_inputs == std::vector<int>{0, 1});
  CHECK(both.outputs.size() == 3);
  CHECK_THROWS_AS(build_program(fn, {2}), std::invalid_argument);
  CHECK_THROWS_AS(build_program(fn, {-1}), std::invalid_argument);
}

TEST_CASE("program: the gradients share the forward body's nodes") {
  for (auto& [name, fn] : classic_losses()) {
    INFO(name);
    Program prog = build_program(fn);
    std::vector<Expr> grads(prog.outputs.begin() + 1, prog.outputs.end());
    size_t body_nodes = schedule({prog.outputs[0]}).size();
    size_t grad_nodes = schedule(grads).size();
    size_t fused = prog.nodes().size();
    CHECK(fused < body_nodes + grad_nodes);  // at least the leaves are shared
    // Where the derivative contains a forward subexpression, the simplified
    // gradient uses the forward node itself, not a re-derived copy.
    std::unordered_set<const Node*> forward;
    for (const Node* n : schedule({prog.outputs[0]})) forward.insert(n);
    size_t reused = 0;
    for (const Node* n : schedule(grads)) reused += forward.count(n) && !n->args().empty();
    if (name == "mse" || name == "mae" || name == "focal" || name == "hinge" || name == "bpr")
      CHECK(reused > 0);
  }
}

TEST_CASE("program: gradients agree with the interpreter's run of the program") {
  for (auto& [name, fn] : classic_losses()) {
    INFO(name);
    Program prog = build_program(fn);
    // A few elements from each input's domain, as floats.
    std::vector<std::vector<float>> cols;
    for (const InputDecl& in : fn.inputs) {
      switch (in.domain) {
        case Domain::Probability: cols.push_back({0.2f, 0.7f, 0.9f, 0.4f}); break;
        case Domain::Binary: cols.push_back({1.f, 0.f, 1.f, 0.f}); break;
        case Domain::Unit: cols.push_back({0.f, 0.5f, 1.f, 0.25f}); break;
        case Domain::Real: cols.push_back({-1.5f, 0.3f, 2.f, -0.2f}); break;
      }
    }
    std::vector<const float*> ptrs;
    for (auto& c : cols) ptrs.push_back(c.data());
    ProgramResult r = run_program(prog, ptrs, 4);
    double expected_loss = 0;
    for (int i = 0; i < 4; ++i) {
      std::map<std::string, double> env;
      for (size_t j = 0; j < fn.inputs.size(); ++j) env[fn.inputs[j].name] = cols[j][i];
      expected_loss += eval(fn.body, env) / 4;
      std::vector<std::string> wrt;
      for (int k : prog.grad_inputs) wrt.push_back(fn.inputs[k].name);
      std::vector<Expr> g = gradient(fn.body, wrt);  // unsimplified, from the original body
      for (size_t k = 0; k < g.size(); ++k)
        CHECK(r.grads[k][i] == doctest::Approx(eval(g[k], env) / 4));
    }
    CHECK(r.loss == doctest::Approx(expected_loss));
  }
}

TEST_CASE("program: the hash is stable across two builds") {
  Expr p = input("pred"), l = input("label");
  Program a = build_program(pointwise(pow(p - l, 2.0)));
  Program b = build_program(pointwise((p - l) * (p - l)));
  CHECK(a.hash() == b.hash());
  CHECK(a.outputs == b.outputs);
  Program c = build_program(pointwise(abs(p - l)));
  CHECK(a.hash() != c.hash());
  Program d = build_program(pointwise(pow(p - l, 2.0)), {0, 1});
  CHECK(a.hash() != d.hash());
}

TEST_CASE("program: simplified gradients keep the values of the raw ones") {
  // build_program simplifies the gradients; on 300 random losses their values
  // must match the unsimplified symbolic gradients. ∂/∂label is compared at
  // generic labels only: at label 0 or 1 a max or min may tie, and the side a
  // tie's gradient goes to follows the canonical operand order (grad.h), so it
  // may legitimately differ from the raw spelling's.
  int compared = 0;
  for (int i = 0; i < 300; ++i) {
    losscc::testing::RandomExprGen gen(9000 + i, /*extended=*/i % 2 == 0);
    LossFunction fn = pointwise(gen(5));
    Program prog = build_program(fn, {0, 1});
    std::vector<Expr> raw = gradient(fn.body, {"pred", "label"});
    for (double pv : {0.05, 0.3, 0.62, 0.97})
      for (double lv : {0.0, 0.41, 1.0}) {
        std::map<std::string, double> env{{"pred", pv}, {"label", lv}};
        for (size_t k = 0; k < 2; ++k) {
          if (k == 1 && (lv == 0.0 || lv == 1.0)) continue;
          double a = eval(raw[k], env), b = eval(prog.outputs[k + 1], env);
          if (!std::isfinite(a) || !std::isfinite(b)) {
            CHECK(std::isfinite(a) == std::isfinite(b));
            continue;
          }
          INFO(to_string(fn.body), " | ", to_string(prog.fn.body), " | pred=", pv, " label=", lv, " k=", k);
          CHECK(b == doctest::Approx(a).epsilon(1e-9).scale(1.0));
          ++compared;
        }
      }
  }
  CHECK(compared > 300 * 4 * 4 / 2);
}
