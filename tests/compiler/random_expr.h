// A small deterministic generator of random loss expressions for the pass
// tests, over pred, label and the constant 1 with AutoLossGen's operators
// (add, mul, max, min, neg, identity, guarded log, square, guarded reciprocal),
// optionally widened with sigmoid, tanh, relu, abs and exp. The controller's
// search-space sampler is the real one; this only has to be reproducible.
#pragma once

#include <cstdint>
#include <random>

#include "compiler/ir/expr.h"

namespace losscc::testing {

class RandomExprGen {
 public:
  explicit RandomExprGen(uint64_t seed, bool extended = false) : rng_(seed), extended_(extended) {}

  // A random tree of at most `depth` operator levels.
  Expr operator()(int depth) { return gen(depth); }

 private:
  Expr leaf() {
    switch (pick(3)) {
      case 0: return input("pred");
      case 1: return input("label");
      default: return constant(1.0);
    }
  }

  Expr gen(int depth) {
    if (depth <= 0 || pick(4) == 0) return leaf();
    const int num_basic = 9, num_extended = extended_ ? 5 : 0;
    switch (pick(num_basic + num_extended)) {
      case 0: return binary(Op::Add, depth);
      case 1: return binary(Op::Mul, depth);
      case 2: return binary(Op::Max, depth);
      case 3: return binary(Op::Min, depth);
      case 4: return -gen(depth - 1);
      case 5: return gen(depth - 1);  // identity
      case 6: return guarded_log(gen(depth - 1), 1e-6);
      case 7: return square(gen(depth - 1));
      case 8: return guarded_reciprocal(gen(depth - 1), 1e-6);
      case 9: return sigmoid(gen(depth - 1));
      case 10: return tanh(gen(depth - 1));
      case 11: return relu(gen(depth - 1));
      case 12: return abs(gen(depth - 1));
      default: return exp(gen(depth - 1));
    }
  }

  // Operands drawn in a fixed order (the order of evaluation of `f(g(), g())`
  // is unspecified in C++, which would make the sequence compiler-dependent).
  Expr binary(Op op, int depth) {
    Expr a = gen(depth - 1);
    Expr b = gen(depth - 1);
    return Expr::make(op, {a, b});
  }

  int pick(int n) { return static_cast<int>(std::uniform_int_distribution<int>(0, n - 1)(rng_)); }

  std::mt19937_64 rng_;
  bool extended_;
};

}  // namespace losscc::testing
