#include "search/space/viable_tokens.h"

#include <algorithm>
#include <stdexcept>

namespace losscc::search {

namespace {

// Index of the k-th set entry of `mask` (k < count of set entries).
int nth_allowed(const std::vector<uint8_t>& mask, int k) {
  for (int i = 0; i < static_cast<int>(mask.size()); ++i)
    if (mask[i] && k-- == 0) return i;
  return -1;
}

int pick(const std::vector<uint8_t>& mask, std::mt19937_64& rng) {
  const int allowed = static_cast<int>(std::count(mask.begin(), mask.end(), 1));
  return nth_allowed(mask, std::uniform_int_distribution<int>(0, allowed - 1)(rng));
}

}  // namespace

ViableTokens::ViableTokens(const SearchSpace& space) : space_(space) {
  if (space.ranking())
    throw std::invalid_argument("the token masks are for the pointwise space; search a ranking space without them");
  const Expr a = input("a"), b = input("b");
  for (const OpChoice& op : space_.ops()) templates_.emplace_back(op.build(a, b));
  reset();
}

void ViableTokens::reset() {
  nodes_ = {ProbeSignature::pred(), ProbeSignature::label(), ProbeSignature::constant(1.0)};
  compute_masks();
}

void ViableTokens::push(const Token& t) {
  ProbeSignature next;
  const ProbeSignature& a = nodes_.at(t.lhs);
  templates_.at(t.op).compose(a, t.rhs >= 0 ? nodes_.at(t.rhs) : a, next);
  nodes_.push_back(std::move(next));
  if (position() < space_.layers()) compute_masks();
}

bool ViableTokens::completes(const ProbeSignature* extra) {
  const size_t m = nodes_.size();
  auto node = [&](size_t k) -> const ProbeSignature& { return k < m ? nodes_[k] : *extra; };
  const size_t count = m + (extra ? 1 : 0);
  for (size_t op = 0; op < templates_.size(); ++op) {
    const bool binary = space_.ops()[op].arity == 2;
    for (size_t l = 0; l < count; ++l)
      for (size_t r = 0; r < (binary ? count : 1); ++r) {
        // With `extra`, only the pairs that read it are new.
        if (extra && l != m && (!binary || r != m)) continue;
        templates_[op].compose(node(l), node(binary ? r : l), lookahead_);
        if (lookahead_.passes_check()) return true;
      }
  }
  return false;
}

void ViableTokens::compute_masks() {
  width_ = nodes_.size();
  const int layers = space_.layers();
  const bool last = position() == layers - 1;
  // One step before the loss, a node that leaves no passing loss to pick
  // next is a dead end: look one step ahead, unless the nodes already there
  // complete to a passing loss by themselves.
  const bool look_ahead = position() == layers - 2 && !completes(nullptr);
  allowed_.assign(templates_.size() * width_ * width_, 0);
  op_mask_.assign(templates_.size(), 0);
  auto viable = [&](const ProbeSignature& s) {
    if (last) return s.passes_check();
    if (!s.finite()) return false;
    if (std::any_of(nodes_.begin(), nodes_.end(), [&](const ProbeSignature& n) { return n.same_as(s); }))
      return false;
    return !look_ahead || completes(&s);
  };
  bool any = false;
  for (size_t op = 0; op < templates_.size(); ++op) {
    const bool binary = space_.ops()[op].arity == 2;
    for (size_t l = 0; l < width_; ++l)
      for (size_t r = 0; r < (binary ? width_ : 1); ++r) {
        templates_[op].compose(nodes_[l], nodes_[binary ? r : l], scratch_);
        if (!viable(scratch_)) continue;
        allowed_[index(op, l, r)] = 1;
        op_mask_[op] = 1;
        any = true;
      }
  }
  if (!any) {
    ++dead_ends_;
    std::fill(allowed_.begin(), allowed_.end(), 1);
    std::fill(op_mask_.begin(), op_mask_.end(), 1);
  }
}

std::vector<uint8_t> ViableTokens::lhs(int op) const {
  std::vector<uint8_t> mask(width_, 0);
  const size_t rhs_count = space_.ops()[op].arity == 2 ? width_ : 1;
  for (size_t l = 0; l < width_; ++l)
    for (size_t r = 0; r < rhs_count && !mask[l]; ++r) mask[l] = allowed_[index(op, l, r)];
  return mask;
}

std::vector<uint8_t> ViableTokens::rhs(int op, int lhs) const {
  const auto begin = allowed_.begin() + static_cast<std::ptrdiff_t>(index(op, lhs, 0));
  return std::vector<uint8_t>(begin, begin + static_cast<std::ptrdiff_t>(width_));
}

bool ViableTokens::allows(const Token& t) const {
  if (t.op < 0 || t.op >= static_cast<int>(templates_.size()) || t.lhs < 0 || t.lhs >= static_cast<int>(width_))
    return false;
  const bool binary = space_.ops()[t.op].arity == 2;
  if (binary && (t.rhs < 0 || t.rhs >= static_cast<int>(width_))) return false;
  return allowed_[index(t.op, t.lhs, binary ? t.rhs : 0)] != 0;
}

std::vector<Token> sample_viable(ViableTokens& viable, const SearchSpace& space, std::mt19937_64& rng) {
  std::vector<Token> tokens;
  viable.reset();
  for (int pos = 0; pos < space.layers(); ++pos) {
    Token t;
    t.op = pick(viable.ops(), rng);
    t.lhs = pick(viable.lhs(t.op), rng);
    t.rhs = space.ops()[t.op].arity == 2 ? pick(viable.rhs(t.op, t.lhs), rng) : -1;
    tokens.push_back(t);
    viable.push(t);
  }
  return tokens;
}

}  // namespace losscc::search
