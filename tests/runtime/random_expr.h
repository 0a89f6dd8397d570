// A small seeded generator of random loss expressions over the AutoLossGen
// operator set (pred, label, 1; add, mul, max, min, neg, guarded log,
// square, guarded reciprocal) plus sigmoid, tanh, relu, abs and exp. Used to
// compare backends on expressions no person would write.
#pragma once

#include <cstdint>
#include <random>

#include "compiler/ir/expr.h"

namespace losscc::test {

class RandomExpr {
 public:
  explicit RandomExpr(uint64_t seed) : rng_(seed) {}

  // A tree of depth ≤ max_depth (shared leaves make it a DAG after interning).
  Expr operator()(int max_depth) {
    if (max_depth <= 0 || pick(4) == 0) return leaf();
    const Expr a = (*this)(max_depth - 1);
    switch (pick(13)) {
      case 0: return a + (*this)(max_depth - 1);
      case 1: return a * (*this)(max_depth - 1);
      case 2: return max(a, (*this)(max_depth - 1));
      case 3: return min(a, (*this)(max_depth - 1));
      case 4: return -a;
      case 5: return guarded_log(a, kEps);
      case 6: return square(a);
      case 7: return guarded_reciprocal(a, kEps);
      case 8: return sigmoid(a);
      case 9: return tanh(a);
      case 10: return relu(a);
      case 11: return abs(a);
      default: return exp(a);
    }
  }

 private:
  static constexpr double kEps = 1e-6;  // AutoLossGen's guard
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  Expr leaf() {
    switch (pick(3)) {
      case 0: return input("pred");
      case 1: return input("label");
      default: return constant(1.0);
    }
  }
  std::mt19937_64 rng_;
};

}  // namespace losscc::test
