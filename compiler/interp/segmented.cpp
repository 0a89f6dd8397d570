#include "compiler/interp/segmented.h"

#include "compiler/ir/scan.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace losscc {

GroupEvaluator::GroupEvaluator(std::vector<Expr> outputs, const std::vector<std::string>& inputs)
    : outputs_(std::move(outputs)) {
  const std::vector<const Node*> order = schedule(outputs_);
  std::unordered_map<const Node*, int> reg;  // per-query / per-document nodes
  auto query_ref = [&](const Node* n) { return Ref{reg.at(n), n->level(), false}; };

  for (const Node* n : order) {
    if (n->level() == Level::Pair) continue;  // inside the PairSums' programs
    Instr in{n->op()};
    if (n->is_const()) {
      in.value = n->value();
    } else if (n->is_input()) {
      for (size_t j = 0; j < inputs.size() && in.input < 0; ++j)
        if (inputs[j] == n->name()) in.input = static_cast<int>(j);
      if (in.input < 0) throw std::invalid_argument("no value for input '" + n->name() + "'");
    } else if (n->op() == Op::PairSum) {
      // The pair nodes reachable from the condition and the term, without
      // descending below a per-document node, in schedule order.
      std::unordered_set<const Node*> inside;
      std::vector<const Node*> stack;
      for (const Expr& a : n->args())
        if (a->level() == Level::Pair) stack.push_back(a.get());
      while (!stack.empty()) {
        const Node* p = stack.back();
        stack.pop_back();
        if (!inside.insert(p).second || p->op() == Op::Other) continue;
        for (const Expr& a : p->args())
          if (a->level() == Level::Pair) stack.push_back(a.get());
      }
      PairProgram prog;
      std::unordered_map<const Node*, int> pair_reg;
      auto ref = [&](const Node* a) {
        return a->level() == Level::Pair ? Ref{pair_reg.at(a), Level::Pair, true} : query_ref(a);
      };
      for (const Node* p : order) {
        if (!inside.count(p)) continue;
        Instr pi{p->op()};
        pi.a = ref(p->arg(0).get());  // Other reads a per-document node at j
        if (p->args().size() > 1) pi.b = ref(p->arg(1).get());
        pair_reg.emplace(p, static_cast<int>(prog.code.size()));
        prog.code.push_back(pi);
      }
      prog.condition = ref(n->arg(0).get());
      prog.term = ref(n->arg(1).get());
      in.pair_program = static_cast<int>(pair_programs_.size());
      pair_programs_.push_back(std::move(prog));
    } else {
      if (!n->args().empty()) in.a = query_ref(n->arg(0).get());
      if (n->args().size() > 1) in.b = query_ref(n->arg(1).get());
    }
    reg.emplace(n, static_cast<int>(code_.size()));
    code_.push_back(in);
    levels_.push_back(n->level());
  }
  for (const Expr& e : outputs_) {
    if (e->level() == Level::Pair)
      throw std::invalid_argument("GroupEvaluator: an output is a pair value (other(...) outside pairsum)");
    output_regs_.push_back(reg.at(e.get()));
  }
  regs_.resize(code_.size());
}

double GroupEvaluator::read(const Ref& r, int64_t i, const std::vector<double>& pair_regs) const {
  if (r.pair) return pair_regs[r.reg];
  return r.level == Level::Query ? regs_[r.reg][0] : regs_[r.reg][i];
}

void GroupEvaluator::run(const double* const* in, int64_t n, double* const* out) {
  if (n < 1) throw std::invalid_argument("GroupEvaluator: a query needs at least one document");
  const std::vector<double> no_pairs;
  std::vector<double> pair_regs;
  for (size_t r = 0; r < code_.size(); ++r) {
    const Instr& c = code_[r];
    std::vector<double>& v = regs_[r];
    v.assign(levels_[r] == Level::Query ? 1 : static_cast<size_t>(n), 0.0);
    switch (c.op) {
      case Op::Const: v[0] = c.value; break;
      case Op::QCount: v[0] = static_cast<double>(n); break;
      case Op::Input:
        for (int64_t i = 0; i < n; ++i) v[i] = in[c.input][i];
        break;
      case Op::QSum: {
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += read(c.a, i, no_pairs);
        v[0] = s;
        break;
      }
      case Op::QMax: {
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t i = 0; i < n; ++i) m = std::fmax(m, read(c.a, i, no_pairs));
        v[0] = m;
        break;
      }
      case Op::Rank:
        for (int64_t i = 0; i < n; ++i) {
          const double x = read(c.a, i, no_pairs);
          int64_t above = 0;
          for (int64_t j = 0; j < n; ++j) {
            const double y = read(c.a, j, no_pairs);
            above += y > x || (y == x && j < i);
          }
          v[i] = static_cast<double>(1 + above);
        }
        break;
      case Op::PrefixSum:
      case Op::SuffixSum: {
        std::vector<double> key(n), x(n);
        for (int64_t i = 0; i < n; ++i) {
          key[i] = read(c.a, i, no_pairs);
          x[i] = read(c.b, i, no_pairs);
        }
        order_.resize(n);
        scan_order(key.data(), 1, n, order_.data());
        scan_sums(x.data(), 1, n, order_.data(), c.op == Op::SuffixSum, v.data());
        break;
      }
      case Op::PairSum: {
        const PairProgram& prog = pair_programs_[c.pair_program];
        pair_regs.resize(prog.code.size());
        for (int64_t i = 0; i < n; ++i) {
          double s = 0;
          for (int64_t j = 0; j < n; ++j) {
            if (j == i) continue;
            for (size_t k = 0; k < prog.code.size(); ++k) {
              const Instr& p = prog.code[k];
              if (p.op == Op::Other)
                pair_regs[k] = p.a.level == Level::Query ? regs_[p.a.reg][0] : regs_[p.a.reg][j];
              else if (p.op == Op::Const)
                pair_regs[k] = p.value;
              else
                pair_regs[k] = apply(p.op, read(p.a, i, pair_regs), p.b.reg >= 0 ? read(p.b, i, pair_regs) : 0.0);
            }
            if (read(prog.condition, i, pair_regs) > 0) s += read(prog.term, i, pair_regs);
          }
          v[i] = s;
        }
        break;
      }
      default:
        for (size_t i = 0; i < v.size(); ++i)
          v[i] = apply(c.op, read(c.a, static_cast<int64_t>(i), no_pairs),
                       c.b.reg >= 0 ? read(c.b, static_cast<int64_t>(i), no_pairs) : 0.0);
    }
  }
  for (size_t k = 0; k < output_regs_.size(); ++k) {
    const std::vector<double>& v = regs_[output_regs_[k]];
    for (int64_t i = 0; i < n; ++i) out[k][i] = v.size() == 1 ? v[0] : v[i];
  }
}

namespace {

template <class T>
ProgramResult run_grouped_impl(const Program& p, const std::vector<const T*>& inputs, const int64_t* offsets,
                               int64_t queries) {
  if (inputs.size() != p.fn.inputs.size())
    throw std::invalid_argument("run_grouped_program: expected one array per declared input");
  const int64_t n = queries > 0 && offsets ? offsets[queries] : 0;
  check_offsets(offsets, queries, n, kMaxListSize);
  std::vector<std::string> names;
  for (const InputDecl& d : p.fn.inputs) names.push_back(d.name);
  GroupEvaluator ev(p.outputs, names);

  const bool mean = p.fn.reduction == Reduction::Mean;
  const double scale = mean ? 1.0 / static_cast<double>(queries) : 1.0;
  ProgramResult result;
  result.grads.assign(p.stored_outputs(), std::vector<double>(static_cast<size_t>(n)));
  std::vector<std::vector<double>> in(names.size()), out(p.outputs.size());
  std::vector<const double*> in_ptr(names.size());
  std::vector<double*> out_ptr(p.outputs.size());
  double total = 0;
  for (int64_t q = 0; q < queries; ++q) {
    const int64_t b = offsets[q], len = offsets[q + 1] - offsets[q];
    for (size_t j = 0; j < in.size(); ++j) {
      in[j].assign(len, 0.0);
      for (int64_t i = 0; i < len; ++i) in[j][i] = static_cast<double>(inputs[j][b + i]);
      in_ptr[j] = in[j].data();
    }
    for (size_t k = 0; k < out.size(); ++k) {
      out[k].assign(len, 0.0);
      out_ptr[k] = out[k].data();
    }
    ev.run(in_ptr.data(), len, out_ptr.data());
    total += out[0][0];
    for (size_t k = 0; k < result.grads.size(); ++k)
      for (int64_t i = 0; i < len; ++i) result.grads[k][b + i] = scale * out[k + 1][i];
  }
  result.loss = mean ? total / static_cast<double>(queries) : total;
  return result;
}

}  // namespace

ProgramResult run_grouped_program(const Program& p, const std::vector<const double*>& inputs,
                                  const int64_t* offsets, int64_t queries) {
  return run_grouped_impl(p, inputs, offsets, queries);
}
ProgramResult run_grouped_program(const Program& p, const std::vector<const float*>& inputs,
                                  const int64_t* offsets, int64_t queries) {
  return run_grouped_impl(p, inputs, offsets, queries);
}

}  // namespace losscc
