// The fused forward+backward program: the unit every backend compiles.
//
// For each element e it computes outputs[0] = the loss term ℓ_e and, for each
// input x in `grad_inputs`, outputs[k] = ∂ℓ_e/∂x_e (the *unscaled* per-element
// derivative). Backends evaluate all outputs in one pass over the elements,
// sharing subexpressions (the outputs are one DAG), sum ℓ_e into the loss, and
// store grad_scale · outputs[k] into the gradient arrays, where grad_scale is
// 1/N for a mean and 1 for a sum. Backward then only rescales what is stored.
#pragma once

#include <cstdint>
#include <vector>

#include "compiler/ir/loss_function.h"

namespace losscc {

struct Program {
  LossFunction fn;               // already simplified
  std::vector<int> grad_inputs;  // indices into fn.inputs, ascending
  std::vector<Expr> outputs;     // 1 + grad_inputs.size() expressions

  // Stable hash of everything a backend's code depends on: the function, the
  // gradient set and every output. The kernel cache adds backend and target.
  uint64_t hash() const;
  // Children-before-parents order of every node of every output, each once.
  std::vector<const Node*> nodes() const { return schedule(outputs); }
};

}  // namespace losscc
