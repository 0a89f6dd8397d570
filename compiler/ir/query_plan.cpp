#include "compiler/ir/query_plan.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

namespace losscc {

namespace {

bool is_reduction(const Node* n) { return n->op() == Op::QSum || n->op() == Op::QMax; }

}  // namespace

QueryPlan::QueryPlan(const Program& p) : nodes(p.nodes()) {
  // The stage from which all of a node's values are available at every document.
  auto complete = [&](const Node* x) {
    if (x->is_input() || x->level() == Level::Query || is_scan(x)) return stage.at(x);
    return stage.at(x) + 1;
  };
  // Pair nodes of each PairSum (without descending below a per-document node).
  for (const Node* n : nodes) {
    if (n->op() != Op::PairSum) continue;
    std::unordered_set<const Node*> inside;
    std::vector<const Node*> todo;
    for (const Expr& a : n->args())
      if (a->level() == Level::Pair) todo.push_back(a.get());
    while (!todo.empty()) {
      const Node* x = todo.back();
      todo.pop_back();
      if (!inside.insert(x).second || x->op() == Op::Other) continue;
      for (const Expr& a : x->args())
        if (a->level() == Level::Pair) todo.push_back(a.get());
    }
    std::vector<const Node*>& list = pair_nodes[n];
    for (const Node* x : nodes)
      if (inside.count(x)) list.push_back(x);
  }

  for (const Node* n : nodes) {
    if (n->level() == Level::Pair) continue;  // staged with their PairSum
    int s = 0;
    if (is_reduction(n)) {
      s = stage.at(n->arg(0).get()) + 1;
    } else if (n->op() == Op::Rank) {
      s = complete(n->arg(0).get());
    } else if (is_scan(n)) {
      s = std::max(complete(n->arg(0).get()), complete(n->arg(1).get()));
    } else if (n->op() == Op::PairSum) {
      for (const Node* x : pair_nodes[n])
        for (const Expr& a : x->args()) {
          if (a->level() == Level::Pair) continue;
          s = std::max(s, x->op() == Op::Other ? complete(a.get()) : stage.at(a.get()));
        }
      for (const Expr& a : n->args())
        if (a->level() != Level::Pair) s = std::max(s, stage.at(a.get()));
      for (const Node* x : pair_nodes[n]) stage[x] = s;
    } else {
      for (const Expr& a : n->args()) s = std::max(s, stage.at(a.get()));
    }
    stage[n] = s;
    stages = std::max(stages, s + 1);
  }

  // Scratch: per-document nodes (not inputs) read at another document or in a
  // later stage.
  auto needs_slot = [&](const Node* x) {
    if (x->is_input() || x->level() != Level::Document || slot.count(x)) return;
    slot.emplace(x, slots++);
  };
  for (const Node* n : nodes) {
    if (is_scan(n)) {
      needs_slot(n);
      if (!order_slot.count(n->arg(0).get())) order_slot.emplace(n->arg(0).get(), slots++);
    }
    for (const Expr& a : n->args()) {
      const Node* x = a.get();
      if (x->level() != Level::Document) continue;
      if (n->op() == Op::Other || n->op() == Op::Rank || is_scan(n)) needs_slot(x);
      else if (!is_reduction(n) && stage.at(n) > stage.at(x)) needs_slot(x);
      else if (is_reduction(n) && stage.at(n) - 1 > stage.at(x)) needs_slot(x);
    }
  }
  for (const Expr& o : p.outputs)
    if (o->level() == Level::Pair) throw std::invalid_argument("QueryPlan: an output is a pair value");
}

std::vector<const Node*> QueryPlan::scalars(int s) const {
  std::vector<const Node*> out;
  for (const Node* n : nodes)
    if (n->level() == Level::Query && !is_reduction(n) && stage.at(n) == s) out.push_back(n);
    else if (is_reduction(n) && stage.at(n) == s) out.push_back(n);  // finalised here
  return out;
}

std::vector<const Node*> QueryPlan::loop(int s) const {
  std::vector<const Node*> out;
  for (const Node* n : nodes)
    if (n->level() == Level::Document && !is_scan(n) && stage.at(n) == s) out.push_back(n);
  return out;
}

std::vector<const Node*> QueryPlan::scans(int s) const {
  std::vector<const Node*> out;
  for (const Node* n : nodes)
    if (is_scan(n) && stage.at(n) == s) out.push_back(n);
  return out;
}

std::vector<const Node*> QueryPlan::reductions(int s) const {
  std::vector<const Node*> out;
  for (const Node* n : nodes)
    if (is_reduction(n) && stage.at(n) == s + 1) out.push_back(n);
  return out;
}

}  // namespace losscc
