// The interpreter for ranking (grouped) programs: the oracle of the
// segmented ops (expr.h), one query at a time, in double precision.
//
// Every per-query value is one number, every per-document value an array over
// the query's documents, and pair values are never stored: each PairSum runs
// its own small program over the pairs (i, j), reading per-document values at
// i directly and at j through Other. Straightforward O(n²) loops (a scan
// sorts, scan.h): the reference the LLVM and CUDA kernels are tested against.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/interp/interp.h"

namespace losscc {

class GroupEvaluator {
 public:
  // As Evaluator: `inputs` names the slots of run()'s input arrays.
  GroupEvaluator(std::vector<Expr> outputs, const std::vector<std::string>& inputs);
  // One query of n ≥ 1 documents: in[j] points at the n values of input j,
  // out[k] receives n values of output k (a per-query output n times).
  void run(const double* const* in, int64_t n, double* const* out);
  size_t num_outputs() const { return output_regs_.size(); }

 private:
  struct Ref {
    int reg = -1;
    Level level = Level::Query;
    bool pair = false;  // a register of the pair program, not of the query
  };
  struct Instr {
    Op op;
    Ref a, b;
    double value = 0;  // Const
    int input = -1;    // Input: the slot
    int pair_program = -1;  // PairSum: index into pair_programs_
  };
  struct PairProgram {
    std::vector<Instr> code;  // pair registers 0..code.size()-1
    Ref condition, term;
  };

  double read(const Ref& r, int64_t i, const std::vector<double>& pair_regs) const;

  std::vector<Expr> outputs_;
  std::vector<Instr> code_;  // the per-query and per-document nodes
  std::vector<Level> levels_;
  std::vector<PairProgram> pair_programs_;
  std::vector<int> output_regs_;
  std::vector<std::vector<double>> regs_;
  std::vector<int32_t> order_;  // a scan's order (scan.h)
};

// Runs a grouped Program (program.h) over `queries` queries whose documents
// are [offsets[q], offsets[q+1]) of the input arrays: loss = Σ_q L_q (÷ queries
// for a mean), grads[k][i] = s · ∂L_q/∂x_{k,i} with s = 1/queries for a mean,
// 1 for a sum. Checks the offsets with check_offsets (program.h).
ProgramResult run_grouped_program(const Program& p, const std::vector<const double*>& inputs,
                                  const int64_t* offsets, int64_t queries);
ProgramResult run_grouped_program(const Program& p, const std::vector<const float*>& inputs,
                                  const int64_t* offsets, int64_t queries);

}  // namespace losscc
