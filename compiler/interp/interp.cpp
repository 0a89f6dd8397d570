#include "compiler/interp/interp.h"

#include <cmath>
#include <stdexcept>
#include <unordered_map>

namespace losscc {

namespace {

// exp never overflows here: for a ≥ 0 it sees -a, otherwise a.
double stable_sigmoid(double a) {
  if (a >= 0) return 1.0 / (1.0 + std::exp(-a));
  double e = std::exp(a);  // also the NaN path: NaN ≥ 0 is false, e = NaN
  return e / (1.0 + e);
}

// max(a,0) + log1p(exp(-|a|)); NaN stays NaN through the log1p term.
double stable_softplus(double a) { return (a > 0 ? a : 0.0) + std::log1p(std::exp(-std::fabs(a))); }

}  // namespace

double apply(Op op, double a, double b) {
  switch (op) {
    case Op::Neg: return -a;
    case Op::Add: return a + b;
    case Op::Sub: return a - b;
    case Op::Mul: return a * b;
    case Op::Div: return a / b;
    case Op::Pow: return std::pow(a, b);
    case Op::Log: return std::log(a);
    case Op::Exp: return std::exp(a);
    case Op::Sqrt: return std::sqrt(a);
    case Op::Abs: return std::fabs(a);
    case Op::Sign: return a > 0 ? 1.0 : a < 0 ? -1.0 : 0.0;
    case Op::Step: return a > 0 ? 1.0 : 0.0;
    case Op::Sigmoid: return stable_sigmoid(a);
    case Op::Tanh: return std::tanh(a);
    case Op::Relu: return a > 0 ? a : 0.0;
    case Op::Softplus: return stable_softplus(a);
    case Op::Log1p: return std::log1p(a);
    case Op::Expm1: return std::expm1(a);
    case Op::Detach: return a;
    case Op::Min: return std::fmin(a, b);  // IEEE minNum: one NaN → the other operand
    case Op::Max: return std::fmax(a, b);
    case Op::Const:
    case Op::Input:
    case Op::QSum:
    case Op::QMax:
    case Op::QCount:
    case Op::Rank:
    case Op::Other:
    case Op::PairSum:
    case Op::PrefixSum:
    case Op::SuffixSum: break;
  }
  throw std::invalid_argument("apply: not an elementwise operation: " + std::string(op_info(op).name));
}

Evaluator::Evaluator(std::vector<Expr> outputs, const std::vector<std::string>& inputs)
    : outputs_(std::move(outputs)) {
  std::unordered_map<const Node*, int> reg;
  for (const Node* n : schedule(outputs_)) {
    if (op_info(n->op()).segmented)
      throw std::invalid_argument(std::string("Evaluator: '") + std::string(op_info(n->op()).name) +
                                  "' is a per-query op; a ranking loss runs with GroupEvaluator");
    Instr in{n->op()};
    if (n->is_const()) {
      in.value = n->value();
    } else if (n->is_input()) {
      for (size_t j = 0; j < inputs.size() && in.a < 0; ++j)
        if (inputs[j] == n->name()) in.a = static_cast<int>(j);
      if (in.a < 0) throw std::invalid_argument("no value for input '" + n->name() + "'");
    } else {
      in.a = reg.at(n->arg(0).get());
      if (n->args().size() > 1) in.b = reg.at(n->arg(1).get());
    }
    reg.emplace(n, static_cast<int>(code_.size()));
    code_.push_back(in);
  }
  for (const Expr& e : outputs_) output_regs_.push_back(reg.at(e.get()));
  regs_.resize(code_.size());
}

void Evaluator::run(const double* in, double* out) {
  double* r = regs_.data();
  for (size_t i = 0; i < code_.size(); ++i) {
    const Instr& c = code_[i];
    switch (c.op) {
      case Op::Const: r[i] = c.value; break;
      case Op::Input: r[i] = in[c.a]; break;
      default: r[i] = apply(c.op, r[c.a], c.b >= 0 ? r[c.b] : 0.0);
    }
  }
  for (size_t k = 0; k < output_regs_.size(); ++k) out[k] = r[output_regs_[k]];
}

double eval(const Expr& e, const std::map<std::string, double>& env) {
  std::vector<std::string> names = free_inputs(e);
  std::vector<double> values;
  for (const std::string& name : names) {
    auto it = env.find(name);
    if (it == env.end()) throw std::invalid_argument("no value for input '" + name + "'");
    values.push_back(it->second);
  }
  Evaluator ev({e}, names);
  double out;
  ev.run(values.data(), &out);
  return out;
}

namespace {

template <class T>
ProgramResult run_program_impl(const Program& p, const std::vector<const T*>& inputs, int64_t n) {
  if (inputs.size() != p.fn.inputs.size())
    throw std::invalid_argument("run_program: expected one array per declared input");
  if (p.outputs.size() != p.stored_outputs() + 1)
    throw std::invalid_argument("run_program: outputs must be the loss plus one per stored output");
  std::vector<std::string> names;
  for (const InputDecl& d : p.fn.inputs) names.push_back(d.name);
  Evaluator ev(p.outputs, names);

  const bool mean = p.fn.reduction == Reduction::Mean;
  const double scale = mean ? 1.0 / static_cast<double>(n) : 1.0;
  ProgramResult result;
  result.grads.assign(p.stored_outputs(), std::vector<double>(static_cast<size_t>(n)));
  std::vector<double> in(names.size()), out(p.outputs.size());
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < in.size(); ++j) in[j] = static_cast<double>(inputs[j][i]);
    ev.run(in.data(), out.data());
    total += out[0];
    for (size_t k = 0; k < result.grads.size(); ++k) result.grads[k][i] = scale * out[k + 1];
  }
  result.loss = mean ? total / static_cast<double>(n) : total;
  return result;
}

}  // namespace

ProgramResult run_program(const Program& p, const std::vector<const float*>& inputs, int64_t n) {
  return run_program_impl(p, inputs, n);
}
ProgramResult run_program(const Program& p, const std::vector<const double*>& inputs, int64_t n) {
  return run_program_impl(p, inputs, n);
}

}  // namespace losscc
