// Hand-written fused forward+backward loops: the strongest C++ a person would
// write for a few example losses, the peer the JIT must come close to.
//
// hand_loops.cpp is compiled on its own by clang++ with
// -O3 -march=native -ffast-math -fopenmp-simd -fveclib=libmvec (logf/expf
// become 8-lane libmvec calls), so the peer is as strong as this machine's
// best ahead-of-time compiler makes it. Same ABI as the JIT's loop
// (compiler/codegen/llvm/llvm_codegen.h): inputs in the loss's declaration
// order, grads[k][i] = grad_scale · ∂ℓ_i/∂x_k, returns Σ ℓ_i over [begin, end).
#pragma once

#include <cstdint>

extern "C" {

typedef float (*losscc_hand_loop_fn)(const float* const* inputs, float* const* grads,
                                     int64_t begin, int64_t end, float grad_scale);

struct losscc_hand_loop {
  const char* loss;         // example file stem: "bce", "logmin", ...
  const char* inputs;       // the input names it expects, in order: "pred,label"
  const char* grads;        // the inputs it differentiates, in order: "pred"
  losscc_hand_loop_fn fn;
};

// Terminated by an entry with loss == nullptr.
extern const losscc_hand_loop losscc_hand_loops[];

}
