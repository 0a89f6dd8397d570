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

}  // namespace

std::vector<Expr> gradient(const Expr& body, const std::vector<std::string>& wrt) {
  std::vector<const Node*> order = schedule({body});

  // Only nodes on a path to a wrt input carry adjoints to their children.
  std::unordered_set<std::string> targets(wrt.begin(), wrt.end());
  std::unordered_set<const Node*> active;
  for (const Node* n : order) {
    bool on_path = n->is_input() && targets.count(n->name());
    for (const Expr& a : n->args()) on_path = on_path || active.count(a.get());
    if (on_path) active.insert(n);
  }

  // Rebuild handles for raw schedule pointers (children are held by `body`).
  std::unordered_map<const Node*, Expr> handle{{body.get(), body}};
  for (const Node* n : order)
    for (const Expr& a : n->args()) handle.emplace(a.get(), a);

  std::unordered_map<const Node*, Expr> adjoint;
  if (active.count(body.get())) adjoint[body.get()] = constant(1.0);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node* n = *it;
    if (n->args().empty() || !active.count(n)) continue;
    auto adj = adjoint.find(n);
    if (adj == adjoint.end()) continue;  // symbolically zero
    Expr g = adj->second;
    Local local{handle.at(n), n->arg(0), n->args().size() > 1 ? n->arg(1) : Expr()};
    Partials p = derivative_rule(n->op()).partials(local);
    for (size_t i = 0; i < n->args().size(); ++i) {
      const Node* child = n->arg(i).get();
      if (!p[i] || !active.count(child)) continue;
      Expr term = chain(g, p[i]);
      auto [slot, fresh] = adjoint.emplace(child, term);
      if (!fresh) slot->second = slot->second + term;
    }
  }

  std::vector<Expr> out;
  for (const std::string& name : wrt) {
    auto it = adjoint.find(input(name).get());
    out.push_back(it == adjoint.end() ? constant(0.0) : it->second);
  }
  return out;
}

}  // namespace losscc
