// The double-precision interpreter: the oracle every backend is tested against.
//
// `apply` is the one statement of each op's scalar semantics (see expr.h for the
// edges it implements); the LLVM and CUDA backends' tests compare against it.
// Evaluation walks `schedule()` order, never recursion, so expressions from the
// search may be arbitrarily deep.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "compiler/ir/expr.h"
#include "compiler/ir/program.h"

namespace losscc {

// The value of a non-leaf op at its operands. Unary ops ignore `b`; for Pow, `b`
// is the exponent. Throws std::invalid_argument for Const and Input.
double apply(Op op, double a, double b = 0.0);

// One element: the value of `e` with each input bound by `env`. An input that
// `env` lacks throws std::invalid_argument.
double eval(const Expr& e, const std::map<std::string, double>& env);

// Several outputs of one DAG compiled once to a flat register program, then run
// element by element. Shared nodes are computed once per element. Not
// thread-safe (it owns its scratch registers); copy it per thread.
class Evaluator {
 public:
  // `inputs` names the slots of run()'s input vector. Every input the outputs
  // use must be named (else std::invalid_argument); extra names are fine.
  Evaluator(std::vector<Expr> outputs, const std::vector<std::string>& inputs);
  // in[j] = value of inputs[j]; out[k] receives outputs[k].
  void run(const double* in, double* out);
  size_t num_outputs() const { return output_regs_.size(); }

 private:
  struct Instr {
    Op op;
    int a = -1, b = -1;  // operand registers, or the input slot for Op::Input
    double value = 0;     // Op::Const
  };
  std::vector<Expr> outputs_;  // keeps the nodes alive
  std::vector<Instr> code_;    // one per node, children first; register i = code_[i]
  std::vector<int> output_regs_;
  std::vector<double> regs_;
};

// The result of running a Program over n elements (program.h's contract):
// loss = Σ ℓ_i (divided by n for a mean) and grads[k][i] = s · outputs[k+1](i),
// with s = 1/n for a mean and 1 for a sum. A mean over n = 0 elements is NaN.
struct ProgramResult {
  double loss = 0;
  std::vector<std::vector<double>> grads;  // one per p.grad_inputs entry
};

// `inputs[j]` points at n values of p.fn.inputs[j] (the kernel argument order).
// Inputs are widened to double; all arithmetic is in double.
ProgramResult run_program(const Program& p, const std::vector<const float*>& inputs, int64_t n);
ProgramResult run_program(const Program& p, const std::vector<const double*>& inputs, int64_t n);

}  // namespace losscc
