// The fused forward+backward program: the unit every backend compiles.
//
// For each element e it computes outputs[0] = the loss term ℓ_e and, for each
// input x in `grad_inputs`, outputs[k] = ∂ℓ_e/∂x_e (the *unscaled* per-element
// derivative). Backends evaluate all outputs in one pass over the elements,
// sharing subexpressions (the outputs are one DAG), sum ℓ_e into the loss, and
// store grad_scale · outputs[k] into the gradient arrays, where grad_scale is
// 1/N for a mean and 1 for a sum. Backward then only rescales what is stored.
//
// A grouped (ranking) program — fn.body uses a segmented op, see expr.h — is
// the same contract over queries instead of elements. The caller passes
// segment offsets: query q owns documents [offsets[q], offsets[q+1]).
// outputs[0] is the per-query loss L_q, outputs[k] the per-document
// derivative ∂L_q/∂x_i; backends sum L_q (÷ Q for a mean over Q queries) and
// store grad_scale · outputs[k] with grad_scale = 1/Q for a mean, 1 for a sum.
//
// A program built `with_hessian` (build_program.h) has one more output per
// gradient: outputs[1 + G + k] = ∂²ℓ/∂x_k² at the same element (document),
// the Hessian's diagonal (hessian.h), stored like a gradient (scaled by
// grad_scale) into the array after the G gradients'. Backends store every
// output after the loss: stored_outputs() arrays.
#pragma once

#include <cstdint>
#include <vector>

#include "compiler/ir/loss_function.h"

namespace losscc {

struct Program {
  LossFunction fn;               // already simplified
  std::vector<int> grad_inputs;  // indices into fn.inputs, ascending
  bool hessian = false;          // the gradients' Hessian diagonals follow them
  std::vector<Expr> outputs;     // 1 + grad_inputs.size() (× 2 with the Hessian) expressions

  // The arrays a backend stores into: the gradients, then the Hessian diagonals.
  size_t stored_outputs() const { return grad_inputs.size() * (hessian ? 2 : 1); }

  // Stable hash of everything a backend's code depends on: the function, the
  // gradient set and every output. The kernel cache adds backend and target.
  uint64_t hash() const;
  // Children-before-parents order of every node of every output, each once.
  std::vector<const Node*> nodes() const { return schedule(outputs); }
  // Whether this is a ranking program run over queries (see above).
  bool grouped() const { return fn.grouped(); }
};

// The longest list (documents of one query) the host backends accept; the
// CUDA backend states its own, smaller limit per program.
inline constexpr int64_t kMaxListSize = int64_t{1} << 16;

// Checks segment offsets for `queries` queries over n documents: offsets[0]
// is 0, offsets[queries] is n, every query has at least one document and at
// most max_list. Throws std::invalid_argument naming the first bad query.
void check_offsets(const int64_t* offsets, int64_t queries, int64_t n, int64_t max_list);

}  // namespace losscc
