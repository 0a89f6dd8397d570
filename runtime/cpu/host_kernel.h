// What every host (CPU) kernel shares: argument checks, the mean/sum
// convention and the blocked, deterministic executor (over elements, or over
// queries of kQueryBlock for a grouped program). A backend supplies one
// function, the fused program over a range of elements.
#pragma once

#include <cstdint>

#include "runtime/kernel.h"

namespace losscc::rt::cpu {

// Queries per block of a grouped program, and the documents below which it
// runs on the calling thread.
inline constexpr int64_t kQueryBlock = 64;
inline constexpr int64_t kMinParallelDocuments = 8192;

class HostKernel : public Kernel {
 public:
  HostKernel(Program program, double compile_seconds)
      : program_(std::move(program)), compile_seconds_(compile_seconds) {}

  const Program& program() const final { return program_; }
  double compile_seconds() const final { return compile_seconds_; }
  // Throws std::invalid_argument when args do not match the program.
  double run(const HostArgs& args) const final;

 protected:
  // Evaluates elements [begin, end): stores grad_scale · ∂ℓ/∂x into the
  // gradient arrays and returns Σ ℓ over the range. Called concurrently on
  // disjoint ranges.
  virtual double run_range(const HostArgs& args, int64_t begin, int64_t end,
                           double grad_scale) const = 0;
  // Grouped programs: evaluates queries [q_begin, q_end) (offsets already
  // checked), stores the scaled gradients and returns Σ L_q over the range.
  virtual double run_queries(const HostArgs& args, int64_t q_begin, int64_t q_end,
                             double grad_scale) const = 0;

 private:
  Program program_;
  double compile_seconds_;
};

}  // namespace losscc::rt::cpu
