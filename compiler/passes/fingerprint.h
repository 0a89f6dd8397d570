// The gradient fingerprint: a loss's gradients with respect to the inputs a
// trainer differentiates (every input but the labels, build_program.h), in
// declaration order, at fixed probe points drawn from the declared domains
// (probes.h; for a ranking loss, at every document of three fixed lists of
// 1, 3 and 6 documents). Two losses with the same fingerprint train the same
// way: they differ by a function of the labels alone, which no gradient
// sees ((pred - label)^2 and pred^2 - 2*label*pred), so the search uses it
// to skip duplicates that simplify() cannot prove equal.
#pragma once

#include <vector>

#include "compiler/ir/loss_function.h"

namespace losscc {

std::vector<double> gradient_fingerprint(const LossFunction& fn);

// Element-wise equal within rel_tol (relative to the larger magnitude, with an
// absolute floor of 1e-12 for values that cancel to about zero); NaN matches
// only NaN, and an infinity only the same infinity.
bool same_fingerprint(const std::vector<double>& a, const std::vector<double>& b, double rel_tol = 1e-6);

}  // namespace losscc
