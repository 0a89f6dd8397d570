#include "compiler/passes/simplify.h"

#include <array>
#include <unordered_map>
#include <utility>

#include "compiler/interp/interp.h"

namespace losscc {

namespace {

// Bindings of the wildcards ?a … ?z of one match attempt.
using Bindings = std::array<Expr, 26>;

bool is_wildcard(const Node* p) { return p->is_input() && p->name().size() == 2 && p->name()[0] == '?'; }

// Structural match of pattern `p` against `e`, extending `b`.
bool match(const Expr& p, const Expr& e, Bindings& b) {
  if (is_wildcard(p.get())) {
    char w = p->name()[1];
    if ((w == 'c' || w == 'd') && !e->is_const()) return false;
    if ((w == 'q' || w == 'r') && e->level() != Level::Query) return false;
    Expr& slot = b[w - 'a'];
    if (slot) return slot == e;
    slot = e;
    return true;
  }
  if (p->op() != e->op()) return false;
  if (p->is_const()) return p == e;  // hash-consed: same value, same node
  if (p->is_input()) return p == e;
  if (p->args().size() == 2 && op_info(p->op()).commutative) {
    Bindings saved = b;
    if (match(p->arg(0), e->arg(0), b) && match(p->arg(1), e->arg(1), b)) return true;
    b = saved;
    return match(p->arg(0), e->arg(1), b) && match(p->arg(1), e->arg(0), b);
  }
  for (size_t i = 0; i < p->args().size(); ++i)
    if (!match(p->arg(i), e->arg(i), b)) return false;
  return true;
}

// The canonical order of a commutative op's operands: non-constants first,
// ordered by their stable hash (never by address, so the order — and so every
// hash computed from it — is the same in every run), constants last.
bool goes_before(const Expr& a, const Expr& b) {
  if (a->is_const() != b->is_const()) return !a->is_const();
  return a->hash() < b->hash();
}

class Simplifier {
 public:
  Expr run(const Expr& root) {
    for (const Node* n : schedule({root})) {
      if (memo_.count(n)) continue;
      Expr original = rebuild_handle(n);
      std::vector<Expr> args;
      for (const Expr& a : n->args()) args.push_back(memo_.at(a.get()).second);
      Expr rebuilt = args.empty() ? original : Expr::make(n->op(), std::move(args));
      remember(original, normalize(rebuilt));
    }
    return memo_.at(root.get()).second;
  }

 private:
  // A node whose children are in normal form → its normal form.
  Expr normalize(Expr e) {
    auto hit = memo_.find(e.get());
    if (hit != memo_.end()) return hit->second.second;
    Expr start = e;
    for (int steps = 0; steps < kMaxStepsPerNode && fuel_ > 0; ++steps) {
      if (e->args().empty()) break;
      if (Expr folded = fold(e)) {
        e = folded;
        break;
      }
      e = canonical_order(e);
      const RewriteRule* rule = nullptr;
      Bindings b;
      for (const RewriteRule& r : rewrite_rules()) {
        b = Bindings{};
        if (match(r.lhs, e, b)) {
          rule = &r;
          break;
        }
      }
      if (!rule) break;
      --fuel_;
      e = instantiate_root(rule->rhs, b);
    }
    remember(start, e);
    remember(e, e);
    return e;
  }

  // All-constant operands: evaluate with the interpreter's scalar semantics.
  static Expr fold(const Expr& e) {
    if (op_info(e->op()).segmented) return Expr();  // qsum(1) is the query's size
    for (const Expr& a : e->args())
      if (!a->is_const()) return Expr();
    double b = e->args().size() > 1 ? e->arg(1)->value() : 0.0;
    return constant(apply(e->op(), e->arg(0)->value(), b));
  }

  static Expr canonical_order(const Expr& e) {
    if (e->args().size() != 2 || !op_info(e->op()).commutative) return e;
    if (!goes_before(e->arg(1), e->arg(0))) return e;
    return Expr::make(e->op(), {e->arg(1), e->arg(0)});
  }

  // The rhs's interior nodes are normalised as they are built; the root is
  // left to normalize()'s loop.
  Expr instantiate_root(const Expr& rhs, const Bindings& b) {
    if (is_wildcard(rhs.get())) return b[rhs->name()[1] - 'a'];
    if (rhs->args().empty()) return rhs;
    std::vector<Expr> args;
    for (const Expr& a : rhs->args()) args.push_back(instantiate(a, b));
    return Expr::make(rhs->op(), std::move(args));
  }
  Expr instantiate(const Expr& rhs, const Bindings& b) {
    Expr e = instantiate_root(rhs, b);
    return is_wildcard(rhs.get()) ? e : normalize(e);
  }

  Expr rebuild_handle(const Node* n) {
    // Schedule pointers are kept alive by the root; leaves are re-interned,
    // operators are rebuilt from their (already memoised) original children.
    if (n->is_const()) return constant(n->value());
    if (n->is_input()) return input(n->name());
    std::vector<Expr> args;
    for (const Expr& a : n->args()) args.push_back(memo_.at(a.get()).first);
    return Expr::make(n->op(), std::move(args));
  }

  void remember(const Expr& from, const Expr& to) { memo_.emplace(from.get(), std::make_pair(from, to)); }

  static constexpr int kMaxStepsPerNode = 64;
  // Total rewrites allowed per call: a safety net should the table ever cycle.
  int fuel_ = 1 << 20;
  // node → (a handle keeping it alive, its normal form)
  std::unordered_map<const Node*, std::pair<Expr, Expr>> memo_;
};

std::vector<Expr> simplify_once(const std::vector<Expr>& roots) {
  Simplifier s;
  std::vector<Expr> out;
  for (const Expr& r : roots) out.push_back(s.run(r));
  return out;
}

}  // namespace

std::vector<Expr> simplify(const std::vector<Expr>& roots) {
  // One bottom-up pass reaches the normal form; the loop only guards against
  // a rule whose result enables another above an already-visited node.
  std::vector<Expr> cur = roots;
  for (int iter = 0; iter < 4; ++iter) {
    std::vector<Expr> next = simplify_once(cur);
    if (next == cur) break;
    cur = std::move(next);
  }
  return cur;
}

Expr simplify(const Expr& e) { return simplify(std::vector<Expr>{e})[0]; }

LossFunction simplify(const LossFunction& fn) {
  LossFunction out = fn;
  out.body = simplify(fn.body);
  return out;
}

}  // namespace losscc
