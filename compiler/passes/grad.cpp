#include "compiler/passes/grad.h"

#include <array>
#include <cstdio>
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
    {Op::Detach,   [](const Local&) -> Partials { return {}; }},
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

// ---- shifts that cancel ------------------------------------------------------
//
// Stable log-sum-exps and softmaxes shift by m = qmax(x): log Σ exp(y − m) + m,
// exp(y − m) / Σ exp(y − m), ListMLE's suffix sums. Their value does not
// change with m, so the derivative through m is zero in exact arithmetic;
// written out it is a step per document, a reduction and a pass per query
// (for ListMLE, one more scan). Such a node is differentiated with m held
// constant.
//
// That the value does not change with m is shown by degrees: E has degree 1
// in m when it is built from exp(y − m) (y free of m) by +, −, qsum, pairsum,
// the scans, other and products with factors free of m, so that
// E(m + c) = e^−c·E(m).
// Then log(E) + m, and E1 / E2 with both of degree 1, do not depend on m.

class ShiftDegree {
 public:
  static constexpr int kNone = 1 << 20;  // not homogeneous in exp(−m)

  explicit ShiftDegree(const Node* m) : m_(m) {}

  int of(const Node* e) {
    auto it = memo_.find(e);
    if (it != memo_.end()) return it->second;
    const int d = compute(e);
    memo_.emplace(e, d);
    return d;
  }

 private:
  bool reaches_m(const Node* e) {
    if (e == m_) return true;
    auto it = reaches_.find(e);
    if (it != reaches_.end()) return it->second;
    bool r = false;
    for (const Expr& a : e->args()) r = r || reaches_m(a.get());
    reaches_.emplace(e, r);
    return r;
  }

  int compute(const Node* e) {
    if (e == m_) return kNone;
    if (!reaches_m(e)) return 0;
    if (e->op() == Op::Exp) {  // exp(y − m), y of degree 0
      const Node* shifted = e->arg(0).get();
      return shifted->op() == Op::Sub && shifted->arg(1).get() == m_ && of(shifted->arg(0).get()) == 0 ? 1 : kNone;
    }
    const int a = of(e->arg(0).get());
    const int b = e->args().size() > 1 ? of(e->arg(1).get()) : 0;
    if (a == kNone || b == kNone) return kNone;
    switch (e->op()) {
      case Op::Add:
      case Op::Sub: return a == b ? a : kNone;
      case Op::Mul: return a + b;
      case Op::Div: return a - b;
      case Op::Neg:
      case Op::QSum:
      case Op::Other: return a;
      case Op::PairSum:  // a: the condition
      case Op::PrefixSum:
      case Op::SuffixSum: return a == 0 ? b : kNone;  // a: the key
      default: return kNone;
    }
  }

  const Node* m_;
  std::unordered_map<const Node*, int> memo_;
  std::unordered_map<const Node*, bool> reaches_;
};

// The maximum m whose shift cancels in n (log(E) + m, or E1 / E2, with E, E1
// and E2 of degree 1 in m), or null.
const Node* cancelled_shift(const Node* n) {
  if (n->op() == Op::Add) {
    for (int side = 0; side < 2; ++side) {
      const Node* log = n->arg(side).get();
      const Node* m = n->arg(1 - side).get();
      if (log->op() == Op::Log && m->op() == Op::QMax && ShiftDegree(m).of(log->arg(0).get()) == 1) return m;
    }
    return nullptr;
  }
  if (n->op() != Op::Div) return nullptr;
  // The m of the numerator's first shifted exp, if any.
  const Node* m = nullptr;
  for (const Node* e : schedule({n->arg(0)}))
    if (e->op() == Op::Exp && e->arg(0)->op() == Op::Sub && e->arg(0)->arg(1)->op() == Op::QMax) {
      m = e->arg(0)->arg(1).get();
      break;
    }
  if (!m) return nullptr;
  ShiftDegree degree(m);
  return degree.of(n->arg(0).get()) == 1 && degree.of(n->arg(1).get()) == 1 ? m : nullptr;
}

// e with the node `from` replaced by `to`.
Expr replace_node(const Expr& e, const Node* from, const Expr& to, std::unordered_map<const Node*, Expr>& memo) {
  if (e.get() == from) return to;
  auto it = memo.find(e.get());
  if (it != memo.end()) return it->second;
  Expr out = e;
  if (!e->args().empty()) {
    std::vector<Expr> args;
    bool changed = false;
    for (const Expr& a : e->args()) {
      args.push_back(replace_node(a, from, to, memo));
      changed = changed || args.back() != a;
    }
    if (changed) out = Expr::make(e->op(), std::move(args));
  }
  memo.emplace(e.get(), out);
  return out;
}

class Reverse {
 public:
  Reverse(const Expr& body, const std::vector<std::string>& wrt) : body_(body), wrt_(wrt) {
    order_ = schedule({body});
    std::unordered_set<std::string> targets(wrt.begin(), wrt.end());
    for (const Node* n : order_) {
      bool on_path = n->is_input() && targets.count(n->name());
      // The condition of a pairsum, the key of a scan and the operand of rank
      // are never differentiated.
      if (n->op() == Op::PairSum || n->op() == Op::PrefixSum || n->op() == Op::SuffixSum)
        on_path = active_.count(n->arg(1).get());
      else if (n->op() != Op::Rank)
        for (const Expr& a : n->args()) on_path = on_path || active_.count(a.get());
      if (on_path) active_.insert(n);
      active_max_ = active_max_ || (on_path && n->op() == Op::QMax);
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
      if (const Node* m = active_max_ ? cancelled_shift(n) : nullptr; m && active_.count(m)) {
        held_shift(n, m, g);
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
        case Op::PrefixSum:
        case Op::SuffixSum: {
          // x_j is in the sums at every document on one side of j (j
          // included): its adjoint is the other scan of g.
          const Expr& key = n->arg(0);
          add(adjoint_, n->arg(1), n->op() == Op::SuffixSum ? prefix_sum(key, g) : suffix_sum(key, g),
              Level::Document);
          break;
        }
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

  // n (with adjoint g) differentiated with its shift m held constant: m
  // becomes the maximum of a fresh input, which no target reaches, in a
  // reverse pass of its own over g·n; its targets' adjoints are then put back
  // in terms of m and g. What n's subtree shares with the rest of the body
  // gets its other adjoints from the main pass as usual.
  void held_shift(const Node* n, const Node* m, const Expr& g) {
    char name[32];
    std::snprintf(name, sizeof name, "$held:%016llx", static_cast<unsigned long long>(m->hash()));
    std::unordered_map<const Node*, Expr> memo;
    const Expr held = replace_node(handle_.at(n), m, qmax(input(name)), memo);
    // A per-query n is seeded with 1 (its gradient is then scaled by g); a
    // per-document one is weighted by g as a fresh input, the body being Σ_i g_i·n_i.
    const bool per_query = n->level() == Level::Query;
    const std::string weight = std::string(name) + ":g";
    const std::vector<Expr> grads = gradient(per_query ? held : input(weight) * held, wrt_);
    for (size_t k = 0; k < wrt_.size(); ++k) {
      if (grads[k]->is_const(0.0)) continue;
      Expr term = substitute(grads[k], {{name, handle_.at(m)->arg(0)}});
      term = per_query ? chain(g, term) : substitute(term, {{weight, g}});
      add(adjoint_, input(wrt_[k]), term, Level::Document);
    }
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
  std::vector<std::string> wrt_;
  std::vector<const Node*> order_;
  std::unordered_set<const Node*> active_;
  bool active_max_ = false;  // a qmax on a path to a target: a shift may cancel
  std::unordered_map<const Node*, Expr> handle_;
  Adjoints adjoint_;
};

}  // namespace

std::vector<Expr> gradient(const Expr& body, const std::vector<std::string>& wrt) {
  return Reverse(body, wrt).run(wrt);
}

std::array<Expr, 2> local_partials(const Expr& n) {
  Local local{n, n->arg(0), n->args().size() > 1 ? n->arg(1) : Expr()};
  return derivative_rule(n->op()).partials(local);
}

Expr swap_pair_roles(const Expr& e) { return Swapper().run(e); }

}  // namespace losscc
