#include "compiler/passes/hessian.h"

#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "compiler/passes/grad.h"

namespace losscc {

namespace {

// Null-aware arithmetic: a null Expr is a symbolic zero (never 0·g).
Expr plus(const Expr& a, const Expr& b) {
  if (!a) return b;
  if (!b) return a;
  return a + b;
}

Expr times(const Expr& a, const Expr& b) {
  if (!a || !b) return {};
  if (a->is_const(1.0)) return b;
  if (b->is_const(1.0)) return a;
  return a * b;
}

// A per-document value read at the other document of a pair (a per-query
// value is the same at both).
Expr at_other(const Expr& e) { return e->level() == Level::Query ? e : other(e); }

// The tangents of every node under one gradient output, children first (see
// hessian.h for T, D, C and P).
class DiagonalTangent {
 public:
  DiagonalTangent(const Expr& root, std::string target) : target_(std::move(target)) {
    const std::vector<const Node*> order = schedule({root});
    handle_.emplace(root.get(), root);
    for (const Node* n : order)
      for (const Expr& a : n->args()) handle_.emplace(a.get(), a);
    // A tangent that cannot be built is recorded, and thrown only if read.
    for (const Node* n : order) {
      try {
        switch (n->level()) {
          case Level::Query: t_[n] = query_tangent(n); break;
          case Level::Document: d_[n] = document_tangent(n); break;
          case Level::Pair: p_[n] = pair_tangent(n); break;
        }
      } catch (const std::invalid_argument& e) {
        unsupported_.emplace(n, e.what());
      }
      if (n->level() != Level::Document) continue;
      try {
        c_[n] = document_cross(n);
      } catch (const std::invalid_argument& e) {
        unsupported_cross_.emplace(n, e.what());
      }
    }
    const Expr& d = root->level() == Level::Document ? tangent(d_, root.get()) : tangent(t_, root.get());
    result_ = d ? d : constant(0.0);
  }

  const Expr& result() const { return result_; }

 private:
  // The tangent of a node as an operand at document i: T for a per-query
  // node, D for a per-document one, P for a pair one.
  const Expr& at_i(const Node* n) const {
    switch (n->level()) {
      case Level::Query: return tangent(t_, n);
      case Level::Document: return tangent(d_, n);
      default: return tangent(p_, n);
    }
  }

  // A tangent that could not be built throws when it is read, not before:
  // a loss that never reads it compiles.
  const Expr& tangent(const std::unordered_map<const Node*, Expr>& map, const Node* n) const {
    if (auto bad = unsupported_.find(n); bad != unsupported_.end()) throw std::invalid_argument(bad->second);
    return map.at(n);
  }
  const Expr& cross(const Node* n) const {
    if (auto bad = unsupported_cross_.find(n); bad != unsupported_cross_.end())
      throw std::invalid_argument(bad->second);
    return c_.at(n);
  }

  Expr query_tangent(const Node* n) {
    switch (n->op()) {
      case Op::Const:
      case Op::QCount: return {};
      case Op::QSum: {
        const Node* x = n->arg(0).get();
        if (x->level() == Level::Query) return times(qcount(), tangent(t_, x));
        return plus(tangent(d_, x), cross(x) ? pairsum(constant(1.0), cross(x)) : Expr());
      }
      case Op::QMax: {
        const Expr& x = n->arg(0);
        if (x->level() == Level::Query) return tangent(t_, x.get());
        // The gradient's rule: the maximum's documents share the change evenly.
        Expr at_max = 1.0 - step(handle_.at(n) - x);
        Expr share = at_max / qsum(at_max);
        Expr spread = cross(x.get()) ? pairsum(constant(1.0), times(other(share), cross(x.get()))) : Expr();
        return plus(times(share, tangent(d_, x.get())), spread);
      }
      default: return elementwise(n, [&](const Node* a) { return tangent(t_, a); }, false);
    }
  }

  Expr document_tangent(const Node* n) {
    switch (n->op()) {
      case Op::Input: return n->name() == target_ ? constant(1.0) : Expr();
      case Op::Rank: return {};  // piecewise constant
      case Op::PairSum: {
        const Expr& term = at_i(n->arg(1).get());
        return term ? pairsum(n->arg(0), term) : Expr();
      }
      case Op::PrefixSum:
      case Op::SuffixSum: return scan_tangent(n);
      default: return elementwise(n, [&](const Node* a) { return at_i(a); }, false);
    }
  }

  // ---- the scans: y = scan(key, x) over the documents on one side -------------

  static bool suffix(const Node* scan) { return scan->op() == Op::SuffixSum; }
  // At the pair (i, j): > 0 where j is strictly on the scan's side of i
  // (below i for a suffix sum, above it for a prefix sum).
  static Expr beyond(const Node* scan) {
    const Expr position = rank(scan->arg(0));
    return suffix(scan) ? other(position) - position : position - other(position);
  }
  // The number of documents each sum at i adds: its own and those beyond it.
  static Expr count(const Node* scan) {
    return Expr::make(scan->op(), {scan->arg(0), constant(1.0)});
  }

  // D(y)_i = D(x)_i + Σ_{j beyond i} C(x)(i, j); for a per-query x, y is the
  // count times x.
  Expr scan_tangent(const Node* n) {
    const Node* x = n->arg(1).get();
    if (x->level() == Level::Query) return times(count(n), tangent(t_, x));
    return plus(tangent(d_, x), cross(x) ? pairsum(beyond(n), cross(x)) : Expr());
  }

  // C(y)(i, k) = [i beyond k]·D(x)_i + Σ_{j beyond or at k, j ≠ i} C(x)(i, j).
  // The sum is over pairs for each pair, a sum over triples, unless x moves
  // with other documents only through per-query values Q (ListMLE's
  // exp(score − qmax(score))): C(x)(i, j) = Σ_Q a_Q,j·T(Q)_i with
  // a_Q = ∂x/∂Q, and the sum is Σ_Q T(Q)_i·(scan(a_Q)_k − [i beyond k]·a_Q,i).
  Expr scan_cross(const Node* n) {
    const Node* x = n->arg(1).get();
    if (x->level() == Level::Query) return times(other(count(n)), tangent(t_, x));
    // [i beyond k] at the pair (i, k): beyond() is antisymmetric in i and k.
    const Expr i_beyond_k = step(-beyond(n));
    Expr direct = tangent(d_, x), sum;
    if (cross(x))
      for (const auto& [q, a] : through_queries(x, "a scan sums")) {
        direct = plus(direct, -times(a, tangent(t_, q)));
        sum = plus(sum, times(other(Expr::make(n->op(), {n->arg(0), a})), tangent(t_, q)));
      }
    return plus(times(i_beyond_k, direct), sum);
  }

  // The per-query values Q through which the per-document value y moves with
  // other documents' x, each with ∂y/∂Q (y's elementwise term differentiated
  // to Q). A per-document value y reads that moves with them itself, through a
  // pairsum or a scan, would need a sum over triples: an error naming what
  // reads y (`whose`).
  std::vector<std::pair<const Node*, Expr>> through_queries(const Node* y, const char* whose) {
    const Expr& handle = handle_.at(y);
    const Term term = document_term(handle);
    std::vector<std::pair<const Node*, Expr>> out;
    for (const Node* q : term.reads) {
      if (q->level() != Level::Query) {
        if (cross(q))
          throw std::invalid_argument(std::string("hessian: ") + whose +
                                      " a value that depends on other documents' scores through a pairsum or a "
                                      "scan; its second derivative needs a sum over triples, which losscc does "
                                      "not compile");
        continue;
      }
      if (const Expr a = tangent(t_, q) ? partial_of(handle, term, q) : Expr()) out.emplace_back(q, a);
    }
    return out;
  }

  Expr document_cross(const Node* n) {
    switch (n->op()) {
      case Op::Input:
      case Op::Rank: return {};
      case Op::PairSum: return cross_pairsum(n);
      case Op::PrefixSum:
      case Op::SuffixSum: return scan_cross(n);
      default:
        return elementwise(n, [&](const Node* a) { return a->level() == Level::Query ? tangent(t_, a) : cross(a); },
                           true);
    }
  }

  Expr pair_tangent(const Node* n) {
    if (n->op() == Op::Other) {
      const Node* y = n->arg(0).get();
      return y->level() == Level::Query ? tangent(t_, y) : cross(y);
    }
    return elementwise(n, [&](const Node* a) { return at_i(a); }, false);
  }

  // Σ_k ∂n/∂arg(k) · tangent(arg(k)); with `at_k` the partials are read at the
  // other document of the pair (C's rule: ∂y_k/∂x_i = y's partials at k).
  template <typename Of>
  Expr elementwise(const Node* n, Of of, bool at_k) {
    Expr sum;
    bool any = false;
    for (const Expr& a : n->args()) any = any || of(a.get());
    if (!any) return {};
    const std::array<Expr, 2> partial = local_partials(handle_.at(n));
    for (size_t k = 0; k < n->args().size(); ++k) {
      if (!partial[k]) continue;
      const Expr& t = of(n->arg(k).get());
      if (t) sum = plus(sum, times(at_k ? at_other(partial[k]) : partial[k], t));
    }
    return sum;
  }

  // ---- C of a pairsum: ∂x_k/∂x_i for x = pairsum(c, e), k ≠ i --------------

  // A node's own term, which partial_of() differentiates through: `nodes`,
  // children first, and the values it reads, which it treats as leaves.
  struct Term {
    std::vector<const Node*> nodes;
    std::vector<const Node*> reads;
  };

  // Walks down from root through the nodes `inside` accepts; the first node
  // off that path on each branch is a read.
  template <typename Inside>
  static Term term_of(const Expr& root, Inside inside) {
    Term term;
    if (!inside(root.get())) {
      term.reads.push_back(root.get());
      return term;
    }
    std::unordered_set<const Node*> in, read;
    std::vector<const Node*> stack{root.get()};
    while (!stack.empty()) {
      const Node* x = stack.back();
      stack.pop_back();
      if (!in.insert(x).second) continue;
      for (const Expr& a : x->args()) (inside(a.get()) ? stack.push_back(a.get()) : (void)read.insert(a.get()));
    }
    for (const Node* x : schedule({root})) {
      if (in.count(x)) term.nodes.push_back(x);
      if (read.count(x)) term.reads.push_back(x);
    }
    return term;
  }

  // A pairsum's term: its pair nodes up to other(...), whose values it reads.
  static Term pair_term(const Expr& e) {
    return term_of(e, [](const Node* x) { return x->level() == Level::Pair && x->op() != Op::Other; });
  }
  // A per-document value's elementwise ops, down to inputs, ranks, pairsums,
  // scans and per-query values.
  static Term document_term(const Expr& y) {
    return term_of(y, [](const Node* x) {
      return x->level() == Level::Document && x->op() != Op::Input && x->op() != Op::Rank &&
             x->op() != Op::PairSum && x->op() != Op::PrefixSum && x->op() != Op::SuffixSum;
    });
  }

  // ∂root/∂r for one value r the term reads, by a forward pass over the term.
  Expr partial_of(const Expr& root, const Term& term, const Node* r) {
    if (root.get() == r) return constant(1.0);
    std::unordered_map<const Node*, Expr> t;
    for (const Node* x : term.nodes)
      t[x] = elementwise(x, [&](const Node* a) {
        auto it = t.find(a);
        return it != t.end() ? it->second : (a == r ? constant(1.0) : Expr());
      }, false);
    return t[root.get()];
  }

  // C of x = pairsum(c, e): Σ_l [c(k, l) > 0] ∂e(k, l)/∂x_i, k ≠ i.
  Expr cross_pairsum(const Node* n) {
    const Expr& c = n->arg(0);
    const Expr& e = n->arg(1);
    const Term term = pair_term(e);
    Expr sum;
    // A value read at k, or per query: the same for every l, so its partial
    // is summed over l (a pairsum at k) and times its C or T.
    auto for_every_l = [&](const Expr& partial, const Expr& tangent) {
      if (partial && tangent) sum = plus(sum, times(other(pairsum(c, partial)), tangent));
    };
    // Built at the pair (k, l = i), read at (i, k).
    auto at_l_is_i = [&](const Expr& partial) { return swap_pair_roles(step(c) * partial); };
    for (const Node* r : term.reads) {
      if (r->op() != Op::Other) {
        for_every_l(partial_of(e, term, r), r->level() == Level::Query ? tangent(t_, r) : cross(r));
        continue;
      }
      const Node* y = r->arg(0).get();
      if (y->level() == Level::Query) {
        for_every_l(partial_of(e, term, r), tangent(t_, y));
        continue;
      }
      const Expr p = partial_of(e, term, r);
      if (!p) continue;
      // l = i: e(k, i) reads y_i, which moves by D(y).
      if (tangent(d_, y)) sum = plus(sum, times(at_l_is_i(p), tangent(d_, y)));
      if (!cross(y)) continue;
      // l ≠ i: y_l moves with x_i only through the per-query values Q it
      // reads (∂y_l/∂Q · T(Q)): the sum over l ≠ k less its term l = i.
      for (const auto& [q, a] : through_queries(y, "a pairsum reads, through other(...),")) {
        const Expr w = p * at_other(a);
        sum = plus(sum, times(other(pairsum(c, w)) - at_l_is_i(w), tangent(t_, q)));
      }
    }
    return sum;
  }

  std::string target_;
  std::unordered_map<const Node*, Expr> handle_;
  std::unordered_map<const Node*, Expr> t_, d_, c_, p_;  // null: identically zero
  // Tangents that cannot be built, and why: T, D or P, and C.
  std::unordered_map<const Node*, std::string> unsupported_, unsupported_cross_;
  Expr result_;
};

}  // namespace

std::vector<Expr> hessian_diagonal(const std::vector<Expr>& grads, const std::vector<std::string>& wrt) {
  if (grads.size() != wrt.size()) throw std::invalid_argument("hessian_diagonal: one gradient per target");
  std::vector<Expr> out;
  for (size_t k = 0; k < grads.size(); ++k) out.push_back(DiagonalTangent(grads[k], wrt[k]).result());
  return out;
}

}  // namespace losscc
