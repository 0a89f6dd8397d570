// Symbolic reverse-mode differentiation of the per-element loss.
//
// gradient(body, wrt) returns ∂body/∂x for each input name x, as IR built from
// the forward expression's own nodes (d exp(a) = g·exp(a) reuses the exp node),
// so the forward and backward outputs of a Program form one DAG. The result is
// not simplified; build_program() does that.
//
// Conventions at points where the derivative does not exist (these are what
// every backend computes, and what the finite-difference tests skip):
//   d|a|       = sign(a)                      (0 at a = 0)
//   d sign(a)  = d step(a) = 0               (everywhere, including a = 0)
//   d relu(a)  = step(a)                      (0 at a = 0)
//   d max(a,b) = step(a-b)·g to a, (1-step(a-b))·g to b   (a tie goes to b)
//   d min(a,b) = step(b-a)·g to a, (1-step(b-a))·g to b   (a tie goes to b)
//   d a^c      = c·a^(c-1)                    (c is a constant; no derivative to c)
//   d softplus = sigmoid, d sigmoid = s·(1-s), d tanh = 1-t²
// Since max and min are commutative, simplify() may swap their operands into
// canonical order, so which side a tie's gradient goes to follows that order.
// The segmented (ranking) ops, whose adjoints live at their node's level:
//   d qsum(x)       = g at every document of the query
//   d qmax(x)       = g shared evenly between the documents at the maximum
//   a shift by m = qmax(x) that cancels (log(E) + m, or E1 / E2, with E, E1,
//   E2 sums of exp(y - m): qlse, softmax, ListMLE's suffix sums) is
//   differentiated with m held constant, so it sends no term to the maximum
//   d rank(x)       = 0, and the condition of a pairsum is never differentiated
//   d suffix_sum(k, x) = prefix_sum(k, g) to x, d prefix_sum(k, x) =
//                     suffix_sum(k, g): x_j is in the sums on one side of j;
//                     the key k is never differentiated
//   d pairsum(c, e) = g_i to e(i, j) for each pair with c > 0; what e reads at
//                     i is summed over j (pairsum(c, ·)), what it reads through
//                     other(x) is summed over i, written as a pairsum with i and
//                     j swapped (pairsum(swap c, swap ·))
// A per-document term reaching a per-query node is summed over the query.
// Zeros are symbolic: an input the body does not use, or a path through sign or
// step, contributes no term at all (never 0·g, which would be NaN for g = inf).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "compiler/ir/expr.h"

namespace losscc {

std::vector<Expr> gradient(const Expr& body, const std::vector<std::string>& wrt);

// The table gradient() differentiates with, for the passes that differentiate
// again (hessian.h): ∂n/∂arg(i) of an elementwise node n, a null Expr where it
// is identically zero (sign, step, detach, a constant exponent).
std::array<Expr, 2> local_partials(const Expr& n);
// A pair expression with the roles of documents i and j exchanged: a value
// read at i is read through other(...), and other(x) becomes x.
Expr swap_pair_roles(const Expr& e);

}  // namespace losscc
