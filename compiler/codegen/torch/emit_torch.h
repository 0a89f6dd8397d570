// PyTorch source for a loss: a self-contained Python function, so a user
// without losscc can still train with it (`losscc --emit-torch`).
//
//   def logmin(pred: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
//       """... the inputs' domains, the validity check's verdict ..."""
//       t0 = torch.fmin(label, pred)
//       return torch.mean(torch.log(1 / (t0 + 1e-06) + 1e-06) * (t0 + label + pred))
//
// The body is the simplified forward expression, one torch op per IR op
// (the table in emit_torch.cpp), with the IR's edge cases kept: min/max are
// IEEE minNum/maxNum (torch.fmin/fmax), sign/step/relu send NaN to 0.
// Gradients come from torch's autograd, not from losscc's symbolic gradient.
// Nodes used more than once become one local each; constants stay Python
// floats, so the function computes in its inputs' dtype. Input names that
// are Python keywords get a trailing underscore.
//
// A ranking loss gets an `offsets` argument (query q owns elements
// offsets[q] .. offsets[q+1]-1) and a per-query function the outer one loops
// over: per-query values are 0-dim tensors, per-document values vectors [n],
// pair values matrices [n, n] (row: document i, column: the other document j),
// with qsum/qmax/rank/pairsum as small helpers. Correct, not fast.
#pragma once

#include <string>

#include "compiler/ir/loss_function.h"

namespace losscc::torch_codegen {

struct TorchEmitOptions {
  std::string function_name = "loss";  // must be a Python identifier
  std::string source_name;             // named in the docstring when set
};

// One Python module: `import torch`, the helpers the body needs, the function.
std::string emit_torch(const LossFunction& fn, const TorchEmitOptions& options = {});

// `stem` when it is a Python identifier that is not a keyword, else "loss".
std::string python_function_name(const std::string& stem);

}  // namespace losscc::torch_codegen
