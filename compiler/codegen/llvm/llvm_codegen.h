// The LLVM backend: a Program → one native, vectorised loop for this CPU.
//
// The loop is built with IRBuilder, optimised at O3 with glibc's vector math
// library (libmvec) known to the vectoriser, so `log`/`exp`/`tanh`/... become
// 8-lane `_ZGVdN8v_*` calls on AVX2, and linked in-process by ORC LLJIT.
// This header is LLVM-free: the rest of the project never includes LLVM.
//
// ABI of the compiled function (C calling convention, symbol `losscc_loop`):
//
//   float losscc_loop(const float* const* inputs,  // one per fn.inputs
//                     float* const* grads,         // one per grad_inputs
//                     int64_t begin, int64_t end,  // element range [begin, end)
//                     float grad_scale);
//
// For each i in [begin, end) it evaluates every node of program.nodes() in
// float, stores grads[k][i] = grad_scale * outputs[1+k](i) and returns the
// float sum of outputs[0](i) over the range. The input and gradient arrays
// must not overlap (they are marked noalias). The per-element math is IEEE
// float as expr.h states it, except that transcendental functions are
// libmvec's (a few ulps, not correctly rounded). The sum alone is
// reassociated (see emit.cpp), so it depends on where the range starts and
// ends but is the same for the same range every time.
//
// A grouped (ranking) program compiles instead to (symbol `losscc_groups`):
//
//   float losscc_groups(const float* const* inputs, float* const* grads,
//                       const int64_t* offsets,          // segment offsets
//                       int64_t q_begin, int64_t q_end,  // query range
//                       float grad_scale,
//                       float* scratch);  // scratch_slots(p) · (longest list) floats
//
// For each query q in the range, documents [offsets[q], offsets[q+1]), it
// runs the stages of compiler/ir/query_plan.h: loops over the documents,
// inner loops over the documents j for pairsum and rank (O(n²) per query),
// calls to the scan helpers for prefix_sum and suffix_sum (scan_helpers.h:
// a sort per key, O(n log n)), stores grads[k][i] = grad_scale · ∂L_q/∂x_i and returns the float sum of
// the per-query losses L_q. Offsets are trusted: check them first
// (check_offsets in program.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "compiler/ir/program.h"

namespace losscc::llvm_backend {

using LoopFn = float (*)(const float* const* inputs, float* const* grads, int64_t begin,
                         int64_t end, float grad_scale);
inline constexpr const char* kLoopSymbol = "losscc_loop";
using GroupFn = float (*)(const float* const* inputs, float* const* grads, const int64_t* offsets,
                          int64_t q_begin, int64_t q_end, float grad_scale, float* scratch);
inline constexpr const char* kGroupSymbol = "losscc_groups";
// Scratch arrays a grouped program needs per document of the longest list.
int scratch_slots(const Program& program);

// The optimised LLVM IR of the loop, as text (`losscc --emit-llvm`).
std::string emit_llvm_ir(const Program& program);

// The loop compiled to a relocatable object file for this host (ELF bytes):
// what the disk cache stores. JitModule loads it.
std::string compile_to_object(const Program& program);

// The CPU the JIT compiles for, from LOSSCC_JIT_CPU: unset or "baseline"
// gives "" (the pinned baseline: x86-64-v3 on x86-64, so that every machine
// computes the same numbers), "host" the CPU this process runs on (numbers
// that depend on the machine), anything else an LLVM CPU name. The JIT's
// target is built from it once, at the process's first compile.
std::string jit_cpu();

// Identifies the code this host gets: LLVM version, CPU name, a hash of the
// CPU features and whether libmvec is used. Part of every cache key, so an
// object compiled for another CPU is never loaded.
const std::string& host_target();

// Native code loaded into this process. Owns its JIT; the function pointer
// is valid while the JitModule lives. Thread-safe to call concurrently.
class JitModule {
 public:
  // Compiles `program` (compile_to_object + load).
  static JitModule compile(const Program& program);
  // Links an object produced by compile_to_object on a host with the same
  // host_target(). Throws std::runtime_error on a malformed object. `grouped`:
  // the object holds `losscc_groups` (groups()) instead of the loop.
  static JitModule load(std::string_view object_file, bool grouped = false);

  JitModule(JitModule&&) noexcept;
  JitModule& operator=(JitModule&&) noexcept;
  ~JitModule();

  LoopFn loop() const { return loop_; }
  GroupFn groups() const { return groups_; }

 private:
  struct Impl;
  explicit JitModule(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  LoopFn loop_ = nullptr;
  GroupFn groups_ = nullptr;
};

}  // namespace losscc::llvm_backend
