#include "compiler/passes/grad.h"

#include <array>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace losscc {

namespace {

// The local partial derivatives of one node: partial[i] = ∂self/∂arg(i), or a
// null Expr where the derivative is identically zero.
struct Local {
  Expr self, a, b;  // b is null for unary ops
};
using Partials = std::array<Expr, 2>;
using Rule = Partials (*)(const Local&);

struct DerivativeRule {
  Op op;
  Rule partials;
};

// One line per op. Partials reuse the node itself where they can (exp, sqrt,
// sigmoid, tanh), so the backward pass shares the forward pass's work.
const DerivativeRule kDerivatives[] = {
    {Op::Neg,      [](const Local&) -> Partials { return {constant(-1.0), {}}; }},
    {Op::Add,      [](const Local&) -> Partials { return {constant(1.0), constant(1.0)}; }},
    {Op::Sub,      [](const Local&) -> Partials { return {constant(1.0), constant(-1.0)}; }},
    {Op::Mul,      [](const Local& l) -> Partials { return {l.b, l.a}; }},
    {Op::Div,      [](const Local& l) -> Partials { return {1.0 / l.b, -(l.self / l.b)}; }},
    {Op::Pow,      [](const Local& l) -> Partials {
                     double c = l.b->value();
                     return {c * pow(l.a, c - 1.0), {}}; }},
    {Op::Log,      [](const Local& l) -> Partials { return {1.0 / l.a, {}}; }},
    {Op::Exp,      [](const Local& l) -> Partials { return {l.self, {}}; }},
    {Op::Sqrt,     [](const Local& l) -> Partials { return {0.5 / l.self, {}}; }},
    {Op::Abs,      [](const Local& l) -> Partials { return {sign(l.a), {}}; }},
    {Op::Sign,     [](const Local&) -> Partials { return {}; }},
    {Op::Step,     [](const Local&) -> Partials { return {}; }},
    {Op::Sigmoid,  [](const Local& l) -> Partials { return {l.self * (1.0 - l.self), {}}; }},
    {Op::Tanh,     [](const Local& l) -> Partials { return {1.0 - pow(l.self, 2.0), {}}; }},
    {Op::Relu,     [](const Local& l) -> Partials { return {step(l.a), {}}; }},
    {Op::Softplus, [](const Local& l) -> Partials { return {sigmoid(l.a), {}}; }},
    {Op::Log1p,    [](const Local& l) -> Partials { return {1.0 / (1.0 + l.a), {}}; }},
    {Op::Expm1,    [](const Local& l) -> Partials { return {exp(l.a), {}}; }},
    {Op::Max,      [](const Local& l) -> Partials {
                     Expr s = step(l.a - l.b); return {s, 1.0 - s}; }},
    {Op::Min,      [](const Local& l) -> Partials {
                     Expr s = step(l.b - l.a); return {s, 1.0 - s}; }},
};

const DerivativeRule& derivative_rule(Op op) {
  for (const DerivativeRule& r : kDerivatives)
    if (r.op == op) return r;
  throw std::logic_error("grad: no derivative rule for " + std::string(op_info(op).name));
}

// g · p without the trivial factors (exact in IEEE: x·1 = x, x·-1 = -x).
Expr chain(const Expr& g, const Expr& p) {
  if (p->is_const(1.0)) return g;
  if (g->is_const(1.0)) return p;
  if (p->is_const(-1.0)) return -g;
  return g * p;
}

// ---- the segmented ops ------------------------------------------------------
//
// Adjoints live at the level of their node: a per-query node's adjoint is a
// per-query expression, a per-document node's a per-document one. A term
// flowing from a per-document parent to a per-query child is summed over the
// query (qsum). Pair nodes are not in the global pass: each PairSum runs its
// own small reverse pass over its pair term, and the pair adjoints leave it
// summed over the pairs — at document i for a value read at i, and with the
// roles of i and j swapped for a value read through other(...).

// The pair expression e with the roles of i and j exchanged: a per-document
// value x (read at i) becomes other(x), other(x) becomes x.
class Swapper {
 public:
  Expr run(const Expr& e) {
    auto it = memo_.find(e.get());
    if (it != memo_.end()) return it->second;
    Expr out;
    if (e->level() == Level::Query) out = e;
    else if (e->level() == Level::Document) out = other(e);
    else if (e->op() == Op::Other) out = e->arg(0);
    else {
      std::vector<Expr> args;
      for (const Expr& a : e->args()) args.push_back(run(a));
      out = Expr::make(e->op(), std::move(args));
    }
    memo_.emplace(e.get(), out);
    keep_.push_back(e);
    return out;
  }

 private:
  std::unordered_map<const Node*, Expr> memo_;
  std::vector<Expr> keep_;  // keeps memo_'s keys alive
};

// Log-sum-exp and softmax are differentiated as units: their shift by
// m = qmax(x) cancels exactly, so no term reaches the maximum (a term that is
// zero in exact arithmetic but costs a reduction and a pass per query).

// exp(x - m) with m = qmax(x), x per document: x, else null.
const Expr* shifted_exp_operand(const Node* e) {
  if (e->op() != Op::Exp || e->arg(0)->op() != Op::Sub) return nullptr;
  const Node* shifted = e->arg(0).get();
  const Expr& m = shifted->arg(1);
  if (m->op() != Op::QMax || m->arg(0) != shifted->arg(0) || m->arg(0)->level() != Level::Document) return nullptr;
  return &m->arg(0);
}

// x when n is qlse(x) = log(qsum(exp(x - m))) + m (the form expr.cpp builds,
// in either operand order), else null.
const Expr* lse_operand(const Node* n) {
  if (n->op() != Op::Add) return nullptr;
  for (int side = 0; side < 2; ++side) {
    const Node* log_sum = n->arg(side).get();
    if (log_sum->op() != Op::Log || log_sum->arg(0)->op() != Op::QSum) continue;
    const Expr* x = shifted_exp_operand(log_sum->arg(0)->arg(0).get());
    if (x && n->arg(1 - side)->op() == Op::QMax && n->arg(1 - side)->arg(0) == *x) return x;
  }
  return nullptr;
}

// x when n is softmax(x) written exp(x - m) / qsum(exp(x - m)) (as simplify's
// softmax-shared rule leaves it), else null.
const Expr* softmax_operand(const Node* n) {
  if (n->op() != Op::Div || n->arg(1)->op() != Op::QSum || n->arg(1)->arg(0) != n->arg(0)) return nullptr;
  return shifted_exp_operand(n->arg(0).get());
}

class Reverse {
 public:
  Reverse(const Expr& body, const std::vector<std::string>& wrt) : body_(body) {
    order_ = schedule({body});
    std::unordered_set<std::string> targets(wrt.begin(), wrt.end());
    for (const Node* n : order_) {
      bool on_path = n->is_input() && targets.count(n->name());
      // The condition of a pairsum and the operand of rank are never differentiated.
      if (n->op() == Op::PairSum) on_path = active_.count(n->arg(1).get());
      else if (n->op() != Op::Rank)
        for (const Expr& a : n->args()) on_path = on_path || active_.count(a.get());
      if (on_path) active_.insert(n);
    }
    handle_.emplace(body.get(), body);
    for (const Node* n : order_)
      for (const Expr& a : n->args()) handle_.emplace(a.get(), a);
  }

  std::vector<Expr> run(const std::vector<std::string>& wrt) {
    if (active_.count(body_.get())) adjoint_[body_.get()] = constant(1.0);
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      const Node* n = *it;
      if (n->args().empty() || !active_.count(n) || n->level() == Level::Pair) continue;
      auto adj = adjoint_.find(n);
      if (adj == adjoint_.end()) continue;  // symbolically zero
      const Expr g = adj->second;
      if (const Expr* x = lse_operand(n)) {  // d qlse(x) = g·softmax(x)
        add(adjoint_, *x, chain(g, exp(*x - handle_.at(n))), Level::Query);
        continue;
      }
      if (const Expr* x = softmax_operand(n)) {  // d softmax(x) = p·(g - Σ g·p)
        const Expr& p = handle_.at(n);
        add(adjoint_, *x, p * (g - qsum(chain(g, p))), Level::Document);
        continue;
      }
      switch (n->op()) {
        case Op::QSum: {
          // qsum of a per-query value q is q·count.
          const Expr& x = n->arg(0);
          add(adjoint_, x, x->level() == Level::Query ? g * qcount() : g, Level::Query);
          break;
        }
        case Op::QMax: {
          // The gradient goes to the maximum, shared evenly between ties.
          const Expr& x = n->arg(0);
          if (x->level() == Level::Query) {
            add(adjoint_, x, g, Level::Query);
            break;
          }
          Expr at_max = 1.0 - step(handle_.at(n) - x);
          add(adjoint_, x, g * at_max / qsum(at_max), Level::Query);
          break;
        }
        case Op::PairSum: pair_reverse(n, g); break;
        default: elementwise(n, g, adjoint_);
      }
    }
    std::vector<Expr> out;
    for (const std::string& name : wrt) {
      auto it = adjoint_.find(input(name).get());
      out.push_back(it == adjoint_.end() ? constant(0.0) : it->second);
    }
    return out;
  }

 private:
  using Adjoints = std::unordered_map<const Node*, Expr>;

  // adjoint[child] += term, where `from` is the level of the parent the term
  // comes from: from a per-document parent to a per-query child the term is
  // summed over the query (even when the term itself is per query: d(q + x)
  // gives q one 1 per document).
  void add(Adjoints& adjoint, const Expr& child, Expr term, Level from) {
    if (!active_.count(child.get())) return;
    if (child->level() == Level::Query && from != Level::Query) term = qsum(term);
    auto [slot, fresh] = adjoint.emplace(child.get(), term);
    if (!fresh) slot->second = slot->second + term;
  }

  void elementwise(const Node* n, const Expr& g, Adjoints& adjoint) {
    Local local{handle_.at(n), n->arg(0), n->args().size() > 1 ? n->arg(1) : Expr()};
    Partials p = derivative_rule(n->op()).partials(local);
    for (size_t i = 0; i < n->args().size(); ++i)
      if (p[i]) add(adjoint, n->arg(i), chain(g, p[i]), n->level());
  }

  // pairsum(c, e) with adjoint g (per document, at i): the reverse pass over
  // the pair nodes of e, then each pair adjoint a leaves summed over pairs.
  void pair_reverse(const Node* n, const Expr& g) {
    const Expr& c = n->arg(0);
    const Expr& e = n->arg(1);
    Swapper swap;
    auto leave = [&](const Expr& child, const Expr& a, bool through_other) {
      if (through_other) add(adjoint_, child, pairsum(swap.run(c), swap.run(a)), Level::Document);
      else add(adjoint_, child, pairsum(c, a), Level::Document);
    };
    if (e->level() != Level::Pair) {
      leave(e, g, false);
      return;
    }
    Adjoints pair_adjoint{{e.get(), g}};
    // The pair nodes under e, parents before children (reverse schedule).
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      const Node* p = *it;
      if (p->level() != Level::Pair) continue;
      auto adj = pair_adjoint.find(p);
      if (adj == pair_adjoint.end()) continue;
      const Expr a = adj->second;
      if (p->op() == Op::Other) {
        leave(p->arg(0), a, true);
        continue;
      }
      Local local{handle_.at(p), p->arg(0), p->args().size() > 1 ? p->arg(1) : Expr()};
      Partials partial = derivative_rule(p->op()).partials(local);
      for (size_t i = 0; i < p->args().size(); ++i) {
        const Expr& child = p->arg(i);
        if (!partial[i] || !active_.count(child.get())) continue;
        Expr term = chain(a, partial[i]);
        if (child->level() == Level::Pair) {
          auto [slot, fresh] = pair_adjoint.emplace(child.get(), term);
          if (!fresh) slot->second = slot->second + term;
        } else {
          leave(child, term, false);
        }
      }
    }
  }

  Expr body_;
  std::vector<const Node*> order_;
  std::unordered_set<const Node*> active_;
  std::unordered_map<const Node*, Expr> handle_;
  Adjoints adjoint_;
};

}  // namespace

std::vector<Expr> gradient(const Expr& body, const std::vector<std::string>& wrt) {
  return Reverse(body, wrt).run(wrt);
}

}  // namespace losscc
