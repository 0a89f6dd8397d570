// How a kernel evaluates a grouped (ranking) Program over one query: the plan
// the LLVM and CUDA generators share, so they agree on what is computed
// where.
//
// A query is evaluated in stages. Each stage first computes its per-query
// values (scalars) and then runs one loop over the query's documents, which
// computes the per-document nodes of the stage (a rank or a pairsum runs an
// inner loop over the documents j), stores the ones read later into scratch
// arrays, stores gradients, and adds into the reductions (qsum, qmax) whose
// operand belongs to the stage. A reduction's result is available from the
// next stage on. A node's stage is the earliest at which everything it reads
// is available: inputs are available everywhere; a per-document node read at
// another document (through other or rank) or in a later stage comes from
// scratch, so it must have been completed in an earlier stage.
//
// A scan (prefix_sum, suffix_sum) runs before its stage's loop, once both its
// key and its operand are complete: it sorts the query's documents by the key
// into an order slot (shared by every scan of that key; the first to run
// fills it) and then sums in that order into its own slot.
//
// Example: ListNet needs three stages: (0) load scores, qmax of scores and of
// labels; (1) exp(x - max), their qsums; (2) the loss and the gradients.
#pragma once

#include <unordered_map>
#include <vector>

#include "compiler/ir/program.h"

namespace losscc {

struct QueryPlan {
  // The nodes of the program in schedule order, pair nodes included.
  std::vector<const Node*> nodes;
  // Stage of every per-query and per-document node (pair nodes: their
  // PairSum's stage).
  std::unordered_map<const Node*, int> stage;
  // Per-document nodes that live in scratch: slot index, 0 .. slots-1.
  std::unordered_map<const Node*, int> slot;
  // For each scan's key: the slot holding the documents' order by that key
  // (int32 indices, one per document, in a float-sized slot).
  std::unordered_map<const Node*, int> order_slot;
  int slots = 0;
  int stages = 0;  // 1 + the highest stage
  // For each PairSum: its pair nodes, in schedule order.
  std::unordered_map<const Node*, std::vector<const Node*>> pair_nodes;

  explicit QueryPlan(const Program& p);
  // The nodes a stage computes before its loop (per query) and in its loop
  // (per document, scans excluded), in schedule order; reductions (qsum/qmax)
  // are listed in the stage whose loop accumulates them.
  std::vector<const Node*> scalars(int s) const;
  std::vector<const Node*> loop(int s) const;
  std::vector<const Node*> reductions(int s) const;
  // The scans computed before stage s's loop, in schedule order.
  std::vector<const Node*> scans(int s) const;
};

inline bool is_scan(const Node* n) { return n->op() == Op::PrefixSum || n->op() == Op::SuffixSum; }

}  // namespace losscc
