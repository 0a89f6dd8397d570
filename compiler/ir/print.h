// Printing the IR back as `.loss` syntax (see docs/LANGUAGE.md). What is
// printed parses back to the same nodes, so search results can be saved as
// `.loss` files and a printed expression is a readable cache key.
#pragma once

#include <string>

#include "compiler/ir/expr.h"
#include "compiler/ir/loss_function.h"

namespace losscc {

// One expression, as a tree. Shared subexpressions are printed at each use, so
// prefer to_loss_source() for large DAGs (gradients).
std::string to_string(const Expr& e);

// A complete `.loss` file: `input` declarations, one `let` for each non-leaf
// node used more than once (so the text stays linear in the DAG's size), the
// reduction when it is not the default, then the body.
std::string to_loss_source(const LossFunction& fn);

// The DAG as a numbered listing, one node per line, children first:
//   %0 = input pred            ; 9f3c...
//   %2 = sub %0, %1
// `roots` are marked with their index (`; output 0`).
std::string to_ir_listing(const std::vector<Expr>& roots);

// A `.loss` number literal for v ("0.5", "1e-06"); inf and NaN print as the
// constant expressions (1/0), (-1/0), (0/0).
std::string format_number(double v);

}  // namespace losscc
