// CUDA C for fused loss programs: the text NVRTC compiles.
//
// The emitted translation unit has no #include and no identifier taken from
// the program's .loss source: inputs are `in<k>` (k = declaration index),
// gradients `g<j>` (j = index into grad_inputs), node values `v<i>`
// (schedule order), kernels are named from the program hash. So the source
// is a pure function of the IR's structure, and no input name can inject code.
//
// Kernel ABI. For a program with inputs in0..in{I-1} and gradients
// g0..g{G-1}, kernel_name(p) is
//
//   extern "C" __global__ void losscc_<hash>(
//       const float* in0, ..., const float* in{I-1},
//       float* g0, ..., float* g{G-1},
//       long long n, float grad_scale, float loss_scale,
//       float* block_sums, float* loss);
//
// launched with kBlockSize threads per block and any number of blocks (the
// loop is grid-stride). It stores g_j[i] = grad_scale · ∂ℓ_i/∂x_i and reduces
// Σ ℓ_i in one of two ways:
//   - fast:          block_sums == nullptr; each block atomicAdd()s
//                    loss_scale · (its sum) into *loss, which the caller
//                    zeroes first. The order of the additions varies.
//   - deterministic: block_sums has one float per block; then
//                    kFinishKernel(block_sums, num_blocks, loss_scale, loss)
//                    with one block of kBlockSize threads writes
//                    *loss = loss_scale · Σ block_sums, in a fixed order.
// For a fixed grid size the deterministic result is bitwise reproducible,
// and it does not depend on the arrays' alignment (the 16-byte vector path
// and the scalar path give each thread the same elements).
//
// A grouped (ranking) program (program.h) gets instead
//
//   extern "C" __global__ void losscc_<hash>(
//       const float* in0, ..., float* g0, ...,
//       const long long* offsets, long long queries,
//       float grad_scale, float loss_scale, float* block_sums, float* loss);
//
// launched with kBlockSize threads per block, any number of blocks (each
// block takes queries blockIdx.x, blockIdx.x + gridDim.x, ...) and dynamic
// shared memory of 4 · ranking_shared_slots(p) · (longest list) bytes, so a
// list may hold at most max_list_size(p) documents. Per query it runs the stages of
// compiler/ir/query_plan.h, the documents split over the block's threads,
// and reduces the per-query losses as above (block_sums or atomicAdd). The
// caller checks the offsets (check_offsets, program.h, with max_list_size).
#pragma once

#include <cstddef>

#include <string>
#include <vector>

#include "compiler/ir/program.h"

namespace losscc::cuda {

inline constexpr int kBlockSize = 256;
// Dynamic shared memory a ranking kernel may use without an opt-in: 48 KiB.
inline constexpr int kSharedFloats = 48 * 1024 / 4;

// The longest list (documents per query) the kernel of grouped program `p`
// supports: its per-document shared arrays must fit kSharedFloats.
int max_list_size(const Program& p);
// Shared-memory floats the ranking kernel of `p` needs per document.
int ranking_shared_slots(const Program& p);
inline constexpr const char* kFinishKernel = "losscc_finish_sum";

struct CudaEmitOptions {
  // Start the source with a comment naming the program's hash, input count,
  // gradient count and reduction (never its identifiers).
  bool header_comment = true;
};

// "losscc_<16 hex digits of p.hash()>".
std::string kernel_name(const Program& p);

// One translation unit defining kernel_name(p) and kFinishKernel.
std::string emit_cuda(const Program& p, const CudaEmitOptions& options = {});

// One translation unit defining kernel_name(p) for every program (a program
// listed twice is emitted once) and kFinishKernel once: one NVRTC call for
// many kernels.
std::string emit_cuda_batch(const std::vector<Program>& programs,
                            const CudaEmitOptions& options = {});

}  // namespace losscc::cuda
