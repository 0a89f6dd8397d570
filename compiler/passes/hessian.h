// The diagonal of the Hessian: ∂²L/∂x_e² at each element (for a ranking loss,
// each document), the second derivative a gradient-boosted tree's leaf values
// need (LightGBM and XGBoost take a custom objective as per-row gradients and
// Hessians).
//
// hessian_diagonal(grads, wrt) differentiates each gradient output
// g = ∂L/∂x (gradient(), grad.h) once more, with respect to the same
// element's x only, by a forward (tangent) pass over g's DAG. For an
// elementwise loss that is the ordinary derivative of g. For a ranking loss a
// change of document i's x reaches
//   T(Q)  a per-query node Q:        ∂Q/∂x_i           (per document, at i)
//   D(y)  a per-document node y:     ∂y_i/∂x_i         (per document, at i)
//   C(y)  a per-document node y:     ∂y_k/∂x_i, k ≠ i  (per pair (i, k))
//   P(e)  a pair node e:             ∂e(i, j)/∂x_i     (per pair (i, j))
// by the rules
//   qsum(y)        T = D(y) + pairsum(1, C(y))
//   qmax(y)        T = w·D(y) + pairsum(1, other(w)·C(y)), w the maximum's tie share
//   pairsum(c, e)  D = pairsum(c, P(e)) with P(y) = D(y), P(other(y)) = C(y);
//                  C(i, k) = Σ_l [c(k, l) > 0] ∂e(k, l)/∂x_i: the term l = i
//                  through e's other(y) (∂e/∂other(y) · D(y), swapped to the
//                  pair (i, k)); the terms through e's values at k and its
//                  per-query values (each partial summed over l, times C or
//                  T); and, where y_l moves with x_i through per-query values
//                  Q (y = exp(x − qmax(x)): ListMLE), ∂e/∂other(y) · ∂y/∂Q
//                  summed over l ≠ k less its term l = i, times T(Q)
//   scan(k, y)     (prefix_sum, suffix_sum: over the documents j on one side
//                  of i, i included) D = D(y) + pairsum(j beyond i, C(y));
//                  C(i, k) = [i beyond k]·D(y)_i plus, where y_j moves with
//                  x_i through per-query values Q, ∂y/∂Q scanned, at k, less
//                  its term at i, times T(Q)
//   rank, detach, sign, step, a pairsum's condition, a scan's key: 0
//   (gradient()'s rules)
// Not covered, and rejected with std::invalid_argument: C of a pairsum whose
// term reads other(y), or of a scan of y, for a y that moves with other
// documents' x through a pairsum or a scan: its ∂/∂x_i is a sum over
// triples. No example loss needs it. A scan's "beyond" is rank(k)'s order,
// which is the scan's own except where k has a NaN (rank puts it first).
// In C's l = i term the pair's condition is a factor step(c), so there a
// pair the condition excludes gives NaN if its partial is inf or NaN, where
// the pairsum itself skips it.
// Zeros are symbolic, as in gradient(): a target a gradient does not reach
// gets the constant 0. The result is not simplified; build_program() does that.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/expr.h"

namespace losscc {

// out[k] = ∂grads[k]/∂wrt[k] at the same element, grads[k] = ∂L/∂wrt[k].
std::vector<Expr> hessian_diagonal(const std::vector<Expr>& grads, const std::vector<std::string>& wrt);

}  // namespace losscc
