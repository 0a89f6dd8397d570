// Programs the CUDA tests share: hand-built losses that together use every
// IR op (and the awkward constants), and a reproducible random generator.
// Built with the IR builders and the symbolic gradient only, so these tests
// do not wait on the parser or the simplifier.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/program.h"
#include "compiler/passes/grad.h"

namespace losscc::cuda_testing {

// A Program for `body` over `inputs`, with the gradient for each input in
// `wrt`, unsimplified (the backends must cope with whatever they are given).
inline Program make_program(std::vector<InputDecl> inputs, Expr body, const std::vector<std::string>& wrt,
                            Reduction reduction = Reduction::Mean) {
  Program p;
  p.fn.inputs = std::move(inputs);
  p.fn.body = body;
  p.fn.reduction = reduction;
  std::vector<std::string> names = wrt;
  std::sort(names.begin(), names.end(),
            [&](const std::string& a, const std::string& b) { return p.fn.input_index(a) < p.fn.input_index(b); });
  for (const std::string& n : names) p.grad_inputs.push_back(p.fn.input_index(n));
  p.outputs = {body};
  for (const Expr& g : gradient(body, names)) p.outputs.push_back(g);
  return p;
}

inline std::vector<InputDecl> pred_label() { return LossFunction::default_inputs(); }
inline std::vector<InputDecl> reals(std::vector<std::string> names) {
  std::vector<InputDecl> decls;
  for (auto& n : names) decls.push_back({n, Domain::Real, Role::Other});
  return decls;
}

// name → program. Between them they use every op of expr.h.
inline std::vector<std::pair<std::string, Program>> hand_built_programs() {
  const Expr p = input("pred"), l = input("label"), x = input("x"), y = input("y");
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {
      {"bce", make_program(pred_label(), -(l * log(p) + (1.0 - l) * log(1.0 - p)), {"pred"})},
      {"focal", make_program(pred_label(), -(l * pow(1.0 - p, 2.0) * log(p) + (1.0 - l) * pow(p, 2.0) * log(1.0 - p)),
                             {"pred"})},
      {"logit-bce (sum)", make_program(pred_label(), softplus(p) - l * p, {"pred", "label"}, Reduction::Sum)},
      {"hinge", make_program(pred_label(), relu(1.0 - (2.0 * l - 1.0) * (2.0 * p - 1.0)), {"pred"})},
      {"pairwise", make_program(reals({"x", "y"}), log1p(exp(-(x - y))) + sigmoid(y - x) * tanh(x), {"x", "y"})},
      {"pow exponents",
       make_program(reals({"x"}), pow(x, 3.0) + pow(x, -1.0) + pow(x, -2.0) + pow(abs(x), 0.5) + pow(x, 0.0) +
                                      pow(abs(x) + 1.0, 7.0) + pow(x, 1.0),
                    {"x"})},
      {"piecewise", make_program(reals({"x", "y"}), min(x, y) * sign(x) + max(x, constant(0.5)) * step(y) - abs(x - y), {"x", "y"})},
      {"elementary", make_program(reals({"x"}), sqrt(abs(x)) + expm1(x) / (1.0 + exp(x)) - softplus(-x), {"x"})},
      {"non-finite constants", make_program(reals({"x"}), min(x, constant(inf)) + max(x, constant(-inf)) +
                                                             max(x, constant(nan)) + x * 1e-30 + 3.4e38 * x,
                                            {"x"})},
      {"unused input, no gradients", make_program(reals({"unused", "x"}), x * x, {})},
      {"gradient of an unused input", make_program(reals({"unused", "x"}), x * x, {"unused", "x"})},
      {"constant loss", make_program({}, constant(1.5), {})},
  };
}

// Random expressions over every op, with inputs pred, label, x and a mix of
// constants; reproducible from the seed.
class RandomProgramGen {
 public:
  explicit RandomProgramGen(uint64_t seed) : rng_(seed) {}

  Program operator()(int depth) {
    Expr body = gen(depth);
    return make_program({{"pred", Domain::Probability, Role::Prediction},
                         {"label", Domain::Binary, Role::Label},
                         {"x", Domain::Real, Role::Other}},
                        body, {"pred", "x"});
  }

 private:
  Expr leaf() {
    static const double kConstants[] = {0.0, 1.0, -1.0, 0.5, 2.0, 1e-6, 100.0};
    switch (pick(4)) {
      case 0: return input("pred");
      case 1: return input("label");
      case 2: return input("x");
      default: return constant(kConstants[pick(7)]);
    }
  }

  Expr gen(int depth) {
    if (depth <= 0 || pick(5) == 0) return leaf();
    static const double kExponents[] = {2.0, 3.0, -1.0, -2.0, 0.5, 1.5, 0.0, 5.0};
    const Op op = static_cast<Op>(2 + pick(kNumElementwiseOps - 2));  // elementwise, not Const or Input
    if (op == Op::Pow) return pow(gen(depth - 1), kExponents[pick(8)]);
    if (op_info(op).arity == 1) return Expr::make(op, {gen(depth - 1)});
    Expr a = gen(depth - 1);  // drawn in a fixed order, so the sequence is portable
    Expr b = gen(depth - 1);
    return Expr::make(op, {a, b});
  }

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::mt19937_64 rng_;
};

}  // namespace losscc::cuda_testing
