// Building the fused forward+backward Program (compiler/ir/program.h) that
// every backend compiles: simplify the loss, differentiate its body, simplify
// the gradients together with the body so they share its nodes.
#pragma once

#include <vector>

#include "compiler/ir/program.h"

namespace losscc {

// `grad_inputs` are indices into fn.inputs; they are sorted and deduplicated,
// and an index out of range throws std::invalid_argument. `with_hessian` adds
// each gradient's Hessian diagonal (program.h; hessian.h says which ranking
// losses it rejects, with std::invalid_argument).
Program build_program(const LossFunction& fn, std::vector<int> grad_inputs, bool with_hessian = false);
// The inputs a trainer differentiates: every input whose role is not Label.
std::vector<int> trained_inputs(const LossFunction& fn);
// Differentiates with respect to trained_inputs(fn).
Program build_program(const LossFunction& fn);

}  // namespace losscc
