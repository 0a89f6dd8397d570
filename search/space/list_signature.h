// List signatures: the ranking space's probe signatures (the pointwise
// space's are compiler/passes/probe_signature.h), which its token masks
// compose one operator at a time.
//
// A node's signature is its value at every document of a fixed set of probe
// queries, under three assignments of the same scores: at random, in label
// order (the highest score to the highest label) and reversed — what check()'s
// ideal-order test compares — and which leaves it reads. An operator is a
// template over inputs `a`, `b` (and `label`, for the pair operators),
// evaluated query by query by the interpreter, so a signature follows the
// compiler's semantics of every operator. A template with no per-query op
// runs once over all documents.
//
// passes_check() judges the loss qsum(node) as check() does where values
// suffice: finite, reads score and label, its per-query sum moves with the
// scores, and it prefers the ideal order on every probe query whose labels
// are not all equal. It does not see gradients, so it cannot apply check()'s
// direction test (check.h): check() stays the authority, and the search
// measures how often the two agree.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "compiler/ir/expr.h"

namespace losscc::search {

struct ListSignature {
  enum Variant { kRandom = 0, kIdeal = 1, kReversed = 2, kVariants = 3 };
  enum Reads : uint8_t { kScore = 1, kLabel = 2 };
  // value[v][d]: document d of the probe set under variant v.
  std::array<std::vector<double>, kVariants> value;
  uint8_t reads = 0;

  static ListSignature score();
  static ListSignature label();
  static ListSignature constant(double c);

  bool finite() const;
  // Equal values under every variant, within rel_tol of the larger magnitude.
  bool same_as(const ListSignature& other, double rel_tol = 1e-9) const;
  bool passes_check() const;
};

class ListTemplate {
 public:
  // `body` reads input("a"), for a binary operator input("b"), and may read
  // input("label").
  explicit ListTemplate(const Expr& body);
  ~ListTemplate();
  ListTemplate(ListTemplate&&) noexcept;
  ListTemplate& operator=(ListTemplate&&) noexcept;
  // The signature of body(a, b). Not thread-safe (interpreter scratch).
  void compose(const ListSignature& a, const ListSignature& b, ListSignature& out);

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace losscc::search
