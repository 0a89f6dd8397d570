// The classic losses the pass tests share, built with the IR builders (the
// parser's tests check the same losses from `.loss` text).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/expr.h"
#include "compiler/ir/loss_function.h"

namespace losscc::testing {

inline LossFunction pointwise(Expr body) {
  LossFunction fn;
  fn.inputs = LossFunction::default_inputs();
  fn.body = std::move(body);
  return fn;
}

inline LossFunction pairwise(Expr body) {
  LossFunction fn;
  fn.inputs = {{"pos", Domain::Real, Role::Positive}, {"neg", Domain::Real, Role::Negative}};
  fn.body = std::move(body);
  return fn;
}

// name → loss; every one of them is valid (check_test.cpp).
inline std::vector<std::pair<std::string, LossFunction>> classic_losses() {
  Expr p = input("pred"), l = input("label"), pos = input("pos"), neg = input("neg");
  LossFunction logit_bce = pointwise(softplus(p) - l * p);  // BCE on a raw score
  logit_bce.inputs[0].domain = Domain::Real;
  return {
      {"bce", pointwise(-(l * log(p) + (1.0 - l) * log(1.0 - p)))},
      {"mse", pointwise(pow(p - l, 2.0))},
      {"mae", pointwise(abs(p - l))},
      {"focal", pointwise(-(l * pow(1.0 - p, 2.0) * log(p) + (1.0 - l) * pow(p, 2.0) * log(1.0 - p)))},
      {"hinge", pointwise(relu(1.0 - (2.0 * l - 1.0) * (2.0 * p - 1.0)))},
      {"guarded-bce", pointwise(-(l * guarded_log(p, 1e-6) + (1.0 - l) * guarded_log(1.0 - p, 1e-6)))},
      {"guarded-reciprocal",
       pointwise(l * guarded_reciprocal(p, 1e-6) + (1.0 - l) * guarded_reciprocal(1.0 - p, 1e-6))},
      {"logit-bce", logit_bce},
      {"bpr", pairwise(softplus(neg - pos))},
      {"pairwise-hinge", pairwise(relu(1.0 - (pos - neg)))},
  };
}

}  // namespace losscc::testing
