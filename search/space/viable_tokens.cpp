#include "search/space/viable_tokens.h"

#include <algorithm>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "compiler/ir/stable_hash.h"
#include "compiler/passes/probe_signature.h"
#include "search/space/list_signature.h"
#include "search/space/task_signature.h"

namespace losscc::search {

// The nodes of the partial program as signatures, and two scratch slots: the
// candidate next node and, reading it, a lookahead node after it.
class ViableTokens::Signatures {
 public:
  enum Slot { kCandidate = 0, kLookahead = 1 };
  virtual ~Signatures() = default;
  virtual void reset() = 0;           // the leaves only
  virtual void push_candidate() = 0;  // the candidate becomes the next node
  virtual size_t size() const = 0;
  // op(node l, node r) into `out`; index size() reads the candidate.
  virtual void compose(size_t op, size_t l, size_t r, Slot out) = 0;
  virtual bool finite(Slot s) const = 0;
  virtual bool repeats(Slot s) const = 0;  // the same as a node already there
  virtual bool passes_check(Slot s) const = 0;
  virtual bool last_passes() const = 0;
};

namespace {

// A signature's content as 64 bits: the key of the composition cache.
std::string_view bytes(const std::vector<double>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double)};
}
uint64_t fingerprint(const ListSignature& s) {
  StableHasher h(s.reads);
  for (const std::vector<double>& v : s.value) h.add(bytes(v));
  return h.digest();
}
uint64_t fingerprint(const ProbeSignature& s) {
  StableHasher h(0);
  for (const std::vector<double>* v : {&s.value, &s.d_pred, &s.d_label}) h.add(bytes(*v));
  return h.digest();
}
uint64_t fingerprint(const TaskSignature& s) {
  StableHasher h(static_cast<uint64_t>(s.tasks) | uint64_t{s.batch_means} << 32);
  h.add(bytes(s.value));
  for (const std::vector<double>& g : s.grad) h.add(bytes(g));
  return h.digest();
}

// Every sample composes every operator over the nodes it has, and the first
// positions' nodes (the leaves, then what one operator makes of them) recur
// from sample to sample: compositions are kept by (operator, operand
// fingerprints), up to kCached of them. A template is a pure function of its
// operands' signatures, so a kept one is what composing again would give.
// (The ranking space's pair operators evaluate O(n²) pair terms over every
// probe query; without the cache a masked sample cost about 0.1-0.3 s.)
constexpr size_t kCached = 1 << 14;

template <typename Signature, typename Template>
class SignaturesOf final : public ViableTokens::Signatures {
 public:
  SignaturesOf(const SearchSpace& space, std::vector<Signature> leaves) : leaves_(std::move(leaves)) {
    const Expr a = input("a"), b = input("b");
    for (const OpChoice& op : space.ops()) templates_.emplace_back(op.build(a, b));
    for (const Signature& leaf : leaves_) leaf_prints_.push_back(fingerprint(leaf));
    reset();
  }
  void reset() override {
    nodes_ = leaves_;
    prints_ = leaf_prints_;
  }
  void push_candidate() override {
    nodes_.push_back(slot_[kCandidate]);
    prints_.push_back(slot_print_[kCandidate]);
  }
  size_t size() const override { return nodes_.size(); }
  void compose(size_t op, size_t l, size_t r, Slot out) override {
    const Key key{op, print(l), print(r)};
    if (auto hit = cache_.find(key); hit != cache_.end()) {
      slot_[out] = hit->second.first;
      slot_print_[out] = hit->second.second;
      return;
    }
    templates_[op].compose(node(l), node(r), slot_[out]);
    slot_print_[out] = fingerprint(slot_[out]);
    if (cache_.size() >= kCached) cache_.clear();
    cache_.emplace(key, std::make_pair(slot_[out], slot_print_[out]));
  }
  bool finite(Slot s) const override { return slot_[s].finite(); }
  bool repeats(Slot s) const override {
    return std::any_of(nodes_.begin(), nodes_.end(), [&](const Signature& n) { return n.same_as(slot_[s]); });
  }
  bool passes_check(Slot s) const override { return slot_[s].passes_check(); }
  bool last_passes() const override { return nodes_.size() > leaves_.size() && nodes_.back().passes_check(); }

 private:
  const Signature& node(size_t k) const { return k < nodes_.size() ? nodes_[k] : slot_[kCandidate]; }
  uint64_t print(size_t k) const { return k < prints_.size() ? prints_[k] : slot_print_[kCandidate]; }

  struct Key {
    size_t op;
    uint64_t l, r;
    bool operator==(const Key& o) const { return op == o.op && l == o.l && r == o.r; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return k.l * 0x9e3779b97f4a7c15ULL ^ (k.r + k.op * 0xff51afd7ed558ccdULL); }
  };

  std::vector<Template> templates_;  // one per operator of the space
  std::vector<Signature> leaves_, nodes_;
  std::vector<uint64_t> leaf_prints_, prints_;  // fingerprint() of each node
  Signature slot_[2];
  uint64_t slot_print_[2] = {0, 0};
  std::unordered_map<Key, std::pair<Signature, uint64_t>, KeyHash> cache_;
};

std::unique_ptr<ViableTokens::Signatures> signatures_for(const SearchSpace& space) {
  if (const int tasks = space.tasks()) {
    std::vector<TaskSignature> leaves;
    for (int k = 0; k < tasks; ++k)
      leaves.insert(leaves.end(), {TaskSignature::prediction(tasks, k), TaskSignature::label(tasks, k),
                                   TaskSignature::bce(tasks, k, false), TaskSignature::bce(tasks, k, true)});
    leaves.push_back(TaskSignature::constant(tasks, 1.0));
    if (space.batch_statistics())
      for (int k = 0; k < tasks; ++k) leaves.push_back(TaskSignature::batch_mean_bce(tasks, k));
    return std::make_unique<SignaturesOf<TaskSignature, TaskTemplate>>(space, std::move(leaves));
  }
  if (space.ranking())
    return std::make_unique<SignaturesOf<ListSignature, ListTemplate>>(
        space, std::vector<ListSignature>{ListSignature::score(), ListSignature::label(), ListSignature::constant(1.0)});
  return std::make_unique<SignaturesOf<ProbeSignature, OpTemplate>>(
      space, std::vector<ProbeSignature>{ProbeSignature::pred(), ProbeSignature::label(), ProbeSignature::constant(1.0)});
}

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

ViableTokens::ViableTokens(const SearchSpace& space) : space_(space), signatures_(signatures_for(space)) {
  compute_masks();
}
ViableTokens::~ViableTokens() = default;
ViableTokens::ViableTokens(ViableTokens&&) noexcept = default;
ViableTokens& ViableTokens::operator=(ViableTokens&&) noexcept = default;

int ViableTokens::position() const { return static_cast<int>(signatures_->size()) - space_.num_leaves(); }

bool ViableTokens::last_node_passes() const { return signatures_->last_passes(); }

void ViableTokens::reset() {
  signatures_->reset();
  compute_masks();
}

void ViableTokens::push(const Token& t) {
  const int width = static_cast<int>(signatures_->size());
  if (t.op < 0 || t.op >= space_.num_ops() || t.lhs < 0 || t.lhs >= width || t.rhs >= width)
    throw std::out_of_range("ViableTokens::push: a token outside the space");
  signatures_->compose(t.op, t.lhs, t.rhs >= 0 ? t.rhs : t.lhs, Signatures::kCandidate);
  signatures_->push_candidate();
  if (position() < space_.layers()) compute_masks();
}

// With `with_candidate`, the candidate is one more node and only the next
// nodes that read it are tried.
bool ViableTokens::completes(bool with_candidate) {
  const size_t m = signatures_->size();
  const size_t count = m + (with_candidate ? 1 : 0);
  for (size_t op = 0; op < static_cast<size_t>(space_.num_ops()); ++op) {
    const bool binary = space_.ops()[op].arity == 2;
    for (size_t l = 0; l < count; ++l)
      for (size_t r = 0; r < (binary ? count : 1); ++r) {
        if (with_candidate && l != m && (!binary || r != m)) continue;
        signatures_->compose(op, l, binary ? r : l, Signatures::kLookahead);
        if (signatures_->passes_check(Signatures::kLookahead)) return true;
      }
  }
  return false;
}

void ViableTokens::compute_masks() {
  width_ = signatures_->size();
  const size_t num_ops = static_cast<size_t>(space_.num_ops());
  const int layers = space_.layers();
  const bool last = position() == layers - 1;
  // One step before the loss, a node that leaves no passing loss to pick
  // next is a dead end: look one step ahead, unless the nodes already there
  // complete to a passing loss by themselves.
  const bool look_ahead = position() == layers - 2 && !completes(false);
  allowed_.assign(num_ops * width_ * width_, 0);
  op_mask_.assign(num_ops, 0);
  auto viable = [&] {
    const Signatures::Slot c = Signatures::kCandidate;
    if (last) return signatures_->passes_check(c);
    if (!signatures_->finite(c) || signatures_->repeats(c)) return false;
    return !look_ahead || completes(true);
  };
  bool any = false;
  for (size_t op = 0; op < num_ops; ++op) {
    const bool binary = space_.ops()[op].arity == 2;
    for (size_t l = 0; l < width_; ++l)
      for (size_t r = 0; r < (binary ? width_ : 1); ++r) {
        signatures_->compose(op, l, binary ? r : l, Signatures::kCandidate);
        if (!viable()) continue;
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
  if (t.op < 0 || t.op >= space_.num_ops() || t.lhs < 0 || t.lhs >= static_cast<int>(width_))
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
