// CUDA C for grouped (ranking) programs: one block per query, the stages of
// compiler/ir/query_plan.h as block-strided loops over the documents, the
// per-query reductions as block reductions, and every per-document value read
// at another document (other, rank) kept in shared memory, so the O(n²) pair
// loops read their j operands from shared memory, not global memory. Used by
// emit_cuda.cpp; the ABI is in emit_cuda.h.
#pragma once

#include <string>

#include "compiler/ir/program.h"

namespace losscc::cuda {

// The device helpers the ranking kernels call (block-wide sum and max that
// every thread receives). Emitted once per translation unit.
std::string_view ranking_helpers();

// Appends the kernel of grouped program `p`, named `name`.
void emit_ranking_kernel(const Program& p, const std::string& name, std::string& out);

// Shared-memory floats per document of the longest list.
int ranking_shared_slots(const Program& p);

}  // namespace losscc::cuda
