// Which tokens can still lead to a usable loss: the masks the searchers
// decode under, so that most sampled candidates pass check().
//
// A decoder asks, position by position, for the operators it may pick, then
// for the inputs each operator may read. Every node of the partial program
// carries its probe signature (compiler/passes/probe_signature.h; in a
// ranking space its list signature, list_signature.h), and every possible
// next node's signature is composed from its operands':
//
//   the last position (the loss)   the node must pass the check on its
//                                  signature: finite, a non-zero gradient,
//                                  monotonic in pred the right way per label
//                                  (ranking: reads score and label, moves
//                                  with the scores, prefers the ideal order);
//   every earlier position         the node must be finite at every probe
//                                  point and differ there from every node the
//                                  program already has (a repeat adds nothing
//                                  the loss could not read from the original);
//   the position before the loss   also, unless the nodes before it already
//                                  complete to a passing loss, the node must
//                                  leave one passing loss to pick next (a
//                                  one-step lookahead).
//
// A position where nothing is allowed allows everything (dead_ends() counts
// it): masks steer the search, check() still decides. Masks depend only on
// the tokens before, so replaying a sequence recomputes the same masks (the
// policy gradient needs the masked log-probability of each sample).
//
// Not thread-safe (the operator templates own interpreter scratch).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <memory>

#include "search/space/search_space.h"

namespace losscc::search {

class ViableTokens {
 public:
  explicit ViableTokens(const SearchSpace& space);
  // The nodes' signatures, pointwise or list: defined in viable_tokens.cpp.
  class Signatures;
  ~ViableTokens();
  ViableTokens(ViableTokens&&) noexcept;
  ViableTokens& operator=(ViableTokens&&) noexcept;

  // Starts a new program: only the leaves exist; masks for position 0.
  void reset();
  // Appends the node `t` builds (any token, masked or not) and computes the
  // masks of the next position.
  void push(const Token& t);
  int position() const;

  // Masks at the current position, 1 = allowed: per operator; per input of
  // an operator (inputs_available(position()) entries); per rhs of a binary
  // operator with a given lhs.
  const std::vector<uint8_t>& ops() const { return op_mask_; }
  std::vector<uint8_t> lhs(int op) const;
  std::vector<uint8_t> rhs(int op, int lhs) const;
  // Whether the masks of the current position allow `t`.
  bool allows(const Token& t) const;
  // Positions so far (over every program since construction) where nothing
  // was allowed.
  int64_t dead_ends() const { return dead_ends_; }
  // The current program's last node, as the check would judge it.
  bool last_node_passes() const;

 private:
  void compute_masks();
  // Whether some next node passes the check, reading only the current nodes
  // or also the candidate node, as one more node.
  bool completes(bool with_candidate);
  size_t index(int op, int lhs, int rhs) const { return (static_cast<size_t>(op) * width_ + lhs) * width_ + rhs; }

  SearchSpace space_;
  std::unique_ptr<Signatures> signatures_;
  size_t width_ = 0;                   // nodes available at the current position
  std::vector<uint8_t> allowed_;       // [op][lhs][rhs]; unary ops use rhs 0
  std::vector<uint8_t> op_mask_;
  int64_t dead_ends_ = 0;
};

// As sample_uniform, but each choice is uniform among the allowed ones: the
// random searcher's proposal under the same masks as the policy.
std::vector<Token> sample_viable(ViableTokens& viable, const SearchSpace& space, std::mt19937_64& rng);

}  // namespace losscc::search
