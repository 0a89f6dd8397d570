// Simplification: constant folding, canonical operand order and a table of
// value-preserving rewrites, run bottom-up over the hash-consed DAG to a fixed
// point. Its result is the canonical form that the kernel cache and the
// search's duplicate test key on, so two spellings of one loss —
// (pred-label)^2, square(pred-label), (pred-label)*(pred-label) — become the
// same node.
//
// What "value-preserving" means here: on every input the rewritten expression
// has the value of the original up to rounding, the sign of a zero result, or
// a more accurate value where the original lost precision or overflowed in an
// intermediate (log(1+x) → log1p(x)). Each rule carries its Safety class. Rules
// that are wrong for inf or NaN operands are not in the table at all:
//   x*0 → 0, 0/x → 0   (inf·0 and 0/0 are NaN)
//   x-x → 0, x/x → 1   (inf-inf, inf/inf, NaN)
//   exp(log x) → x     (NaN for x < 0)
//   (x^a)^b → x^(a·b)  ((x^2)^0.5 is |x|)
//   distributing or reassociating non-constant sums and products.
#pragma once

#include <string_view>
#include <vector>

#include "compiler/ir/expr.h"
#include "compiler/ir/loss_function.h"

namespace losscc {

Expr simplify(const Expr& e);
// Several roots simplified together: a node shared between them stays shared.
std::vector<Expr> simplify(const std::vector<Expr>& roots);
// The same function with its body simplified (inputs and reduction unchanged).
LossFunction simplify(const LossFunction& fn);

// ---- the rule table (simplify_rules.cpp) -----------------------------------

enum class Safety {
  Exact,         // bit-identical result for every operand, NaN and inf included
  SignOfZero,    // identical except that a zero result may change sign
  Rounding,      // identical up to a few ulps of floating-point rounding
  MoreAccurate,  // identical in exact arithmetic; differs only where the left
                 // side cancels, overflows or underflows, and is then closer
  FiniteFactor,  // a factor moved out of a per-query sum: identical up to
                 // rounding while the factor is finite; where it is ±inf or
                 // NaN both sides are non-finite (but may differ, NaN vs inf).
                 // Sound only because a query is never empty.
};

// A rewrite lhs → rhs. Patterns are ordinary IR over wildcard inputs: `?x`,
// `?y`, `?z` match any expression, `?c` and `?d` only constants, `?q` and
// `?r` only per-query values (constants included, see expr.h); a wildcard
// used twice must match the same node. Commutative ops match either operand
// order. The first matching rule in table order wins.
struct RewriteRule {
  std::string_view name;
  Expr lhs, rhs;
  Safety safety;
};
const std::vector<RewriteRule>& rewrite_rules();

}  // namespace losscc
