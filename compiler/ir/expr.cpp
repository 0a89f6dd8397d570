#include "compiler/ir/expr.h"

#include "compiler/ir/stable_hash.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace losscc {

namespace {

// One line per op: the table the printer, parser and passes read.
constexpr std::array<OpInfo, kNumOps> kOps = {{
    {Op::Const, "const", 0, false},
    {Op::Input, "input", 0, false},
    {Op::Neg, "neg", 1, false},
    {Op::Add, "add", 2, true},
    {Op::Sub, "sub", 2, false},
    {Op::Mul, "mul", 2, true},
    {Op::Div, "div", 2, false},
    {Op::Pow, "pow", 2, false},
    {Op::Log, "log", 1, false},
    {Op::Exp, "exp", 1, false},
    {Op::Sqrt, "sqrt", 1, false},
    {Op::Abs, "abs", 1, false},
    {Op::Sign, "sign", 1, false},
    {Op::Step, "step", 1, false},
    {Op::Sigmoid, "sigmoid", 1, false},
    {Op::Tanh, "tanh", 1, false},
    {Op::Relu, "relu", 1, false},
    {Op::Softplus, "softplus", 1, false},
    {Op::Log1p, "log1p", 1, false},
    {Op::Expm1, "expm1", 1, false},
    {Op::Min, "min", 2, true},
    {Op::Max, "max", 2, true},
    {Op::QSum, "qsum", 1, false, true},
    {Op::QMax, "qmax", 1, false, true},
    {Op::QCount, "qcount", 0, false, true},
    {Op::Rank, "rank", 1, false, true},
    {Op::Other, "other", 1, false, true},
    {Op::PairSum, "pairsum", 2, false, true},
    {Op::Detach, "detach", 1, false},
    {Op::PrefixSum, "prefix_sum", 2, false, true},
    {Op::SuffixSum, "suffix_sum", 2, false, true},
}};

// The level of an op's result from its operands' levels (expr.h).
Level result_level(Op op, const std::vector<Expr>& args) {
  switch (op) {
    case Op::Const:
    case Op::QSum:
    case Op::QMax:
    case Op::QCount: return Level::Query;
    case Op::Input:
    case Op::Rank:
    case Op::PairSum:
    case Op::PrefixSum:
    case Op::SuffixSum: return Level::Document;
    case Op::Other: return Level::Pair;
    default: break;
  }
  Level l = Level::Query;
  for (const Expr& a : args) l = std::max(l, a->level());
  return l;
}

uint64_t bits_of(double v) {
  if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

}  // namespace

const OpInfo& op_info(Op op) {
  const OpInfo& info = kOps[static_cast<size_t>(op)];
  assert(info.op == op);
  return info;
}

const OpInfo* op_by_name(std::string_view name) {
  for (const OpInfo& info : kOps)
    if (info.op != Op::Const && info.op != Op::Input && info.name == name) return &info;
  return nullptr;
}

// Owns the weak table of every live node. A node dies with its last Expr; its
// table entry is swept lazily, so a long search keeps memory flat.
class Interner {
 public:
  static Interner& instance() {
    static Interner* interner = new Interner();  // never destroyed: nodes may outlive statics
    return *interner;
  }

  Expr intern(Op op, double value, std::string_view name, std::vector<Expr> args) {
    // Stable structural hash: op, constant bits, name, children's hashes.
    StableHasher hasher(0x6c6f7373636331ULL);  // "losscc1"
    hasher.add(static_cast<uint64_t>(op));
    uint64_t vb = bits_of(value);
    if (op == Op::Const) hasher.add(vb);
    if (op == Op::Input) hasher.add(name);
    for (const Expr& a : args) hasher.add(a->hash());
    uint64_t hash = hasher.digest();

    std::lock_guard<std::mutex> lock(mu_);
    auto range = table_.equal_range(hash);
    for (auto it = range.first; it != range.second; ++it) {
      std::shared_ptr<const Node> live = it->second.lock();
      if (live && live->op_ == op && bits_of(live->value_) == vb && live->name_ == name &&
          live->args_ == args)
        return Expr(std::move(live));
    }
    auto node = std::make_shared<Node>();
    node->op_ = op;
    node->value_ = op == Op::Const ? value : 0.0;
    if (op == Op::Const && std::isnan(value)) node->value_ = std::numeric_limits<double>::quiet_NaN();
    node->name_ = std::string(name);
    node->level_ = result_level(op, args);
    node->segmented_ = op_info(op).segmented;
    for (const Expr& a : args) node->segmented_ = node->segmented_ || a->segmented();
    node->args_ = std::move(args);
    node->hash_ = hash;
    table_.emplace(hash, node);
    if (table_.size() > 2 * live_after_sweep_ + 1024) sweep();
    return Expr(std::move(node));
  }

  size_t live_count() {
    std::lock_guard<std::mutex> lock(mu_);
    sweep();
    return table_.size();
  }

 private:
  void sweep() {
    for (auto it = table_.begin(); it != table_.end();)
      it = it->second.expired() ? table_.erase(it) : std::next(it);
    live_after_sweep_ = table_.size();
  }

  std::mutex mu_;
  std::unordered_multimap<uint64_t, std::weak_ptr<const Node>> table_;
  size_t live_after_sweep_ = 0;
};

Node::~Node() {
  // Children are released iteratively: the default recursive chain of
  // shared_ptr destructors overflows the stack on expressions ~10^5 deep.
  // The outermost destructor drains a queue; nested ones only feed it.
  thread_local std::vector<Expr>* pending = nullptr;
  if (pending) {
    for (Expr& a : args_) pending->push_back(std::move(a));
    return;
  }
  std::vector<Expr> queue = std::move(args_);
  pending = &queue;
  while (!queue.empty()) {
    Expr last = std::move(queue.back());
    queue.pop_back();
    // `last` dies here; if it held the final reference, its children join the queue.
  }
  pending = nullptr;
}

Expr Expr::constant(double v) { return Interner::instance().intern(Op::Const, v, {}, {}); }

Expr Expr::input(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("input name must not be empty");
  return Interner::instance().intern(Op::Input, 0, name, {});
}

Expr Expr::make(Op op, std::vector<Expr> args) {
  const OpInfo& info = op_info(op);
  if (op == Op::Const || op == Op::Input)
    throw std::invalid_argument("use Expr::constant / Expr::input for leaves");
  if (static_cast<int>(args.size()) != info.arity)
    throw std::invalid_argument("wrong number of operands for " + std::string(info.name));
  for (const Expr& a : args)
    if (!a) throw std::invalid_argument("null operand for " + std::string(info.name));
  if (op == Op::Pow && !args[1]->is_const())
    throw std::invalid_argument("the exponent of ^ must be a constant");
  const bool scan = op == Op::PrefixSum || op == Op::SuffixSum;
  if ((op == Op::QSum || op == Op::QMax || op == Op::Rank || op == Op::Other || scan) &&
      (args[0]->level() == Level::Pair || (scan && args[1]->level() == Level::Pair)))
    throw std::invalid_argument(std::string(info.name) +
                                " of a pair term (one that uses other(...)); sum it over pairs with pairsum first");
  return Interner::instance().intern(op, 0, {}, std::move(args));
}

size_t interned_node_count() { return Interner::instance().live_count(); }

Expr constant(double v) { return Expr::constant(v); }
Expr input(std::string_view name) { return Expr::input(name); }

Expr operator+(const Expr& a, const Expr& b) { return Expr::make(Op::Add, {a, b}); }
Expr operator-(const Expr& a, const Expr& b) { return Expr::make(Op::Sub, {a, b}); }
Expr operator*(const Expr& a, const Expr& b) { return Expr::make(Op::Mul, {a, b}); }
Expr operator/(const Expr& a, const Expr& b) { return Expr::make(Op::Div, {a, b}); }
Expr operator-(const Expr& a) { return Expr::make(Op::Neg, {a}); }
Expr operator+(const Expr& a, double b) { return a + constant(b); }
Expr operator+(double a, const Expr& b) { return constant(a) + b; }
Expr operator-(const Expr& a, double b) { return a - constant(b); }
Expr operator-(double a, const Expr& b) { return constant(a) - b; }
Expr operator*(const Expr& a, double b) { return a * constant(b); }
Expr operator*(double a, const Expr& b) { return constant(a) * b; }
Expr operator/(const Expr& a, double b) { return a / constant(b); }
Expr operator/(double a, const Expr& b) { return constant(a) / b; }
Expr pow(const Expr& a, double exponent) { return Expr::make(Op::Pow, {a, constant(exponent)}); }
Expr log(const Expr& a) { return Expr::make(Op::Log, {a}); }
Expr exp(const Expr& a) { return Expr::make(Op::Exp, {a}); }
Expr sqrt(const Expr& a) { return Expr::make(Op::Sqrt, {a}); }
Expr abs(const Expr& a) { return Expr::make(Op::Abs, {a}); }
Expr sign(const Expr& a) { return Expr::make(Op::Sign, {a}); }
Expr step(const Expr& a) { return Expr::make(Op::Step, {a}); }
Expr sigmoid(const Expr& a) { return Expr::make(Op::Sigmoid, {a}); }
Expr tanh(const Expr& a) { return Expr::make(Op::Tanh, {a}); }
Expr relu(const Expr& a) { return Expr::make(Op::Relu, {a}); }
Expr softplus(const Expr& a) { return Expr::make(Op::Softplus, {a}); }
Expr log1p(const Expr& a) { return Expr::make(Op::Log1p, {a}); }
Expr expm1(const Expr& a) { return Expr::make(Op::Expm1, {a}); }
Expr detach(const Expr& a) { return Expr::make(Op::Detach, {a}); }
Expr min(const Expr& a, const Expr& b) { return Expr::make(Op::Min, {a, b}); }
Expr max(const Expr& a, const Expr& b) { return Expr::make(Op::Max, {a, b}); }
Expr qsum(const Expr& a) { return Expr::make(Op::QSum, {a}); }
Expr qmax(const Expr& a) { return Expr::make(Op::QMax, {a}); }
Expr qcount() { return Expr::make(Op::QCount, {}); }
Expr rank(const Expr& a) { return Expr::make(Op::Rank, {a}); }
Expr other(const Expr& a) { return Expr::make(Op::Other, {a}); }
Expr pairsum(const Expr& condition, const Expr& term) { return Expr::make(Op::PairSum, {condition, term}); }
Expr prefix_sum(const Expr& key, const Expr& x) { return Expr::make(Op::PrefixSum, {key, x}); }
Expr suffix_sum(const Expr& key, const Expr& x) { return Expr::make(Op::SuffixSum, {key, x}); }
Expr square(const Expr& a) { return pow(a, 2.0); }
Expr reciprocal(const Expr& a) { return 1.0 / a; }
Expr clamp(const Expr& a, const Expr& lo, const Expr& hi) { return min(max(a, lo), hi); }
Expr guarded_log(const Expr& a, double eps) { return sign(a) * log(abs(a) + eps); }
Expr guarded_reciprocal(const Expr& a, double eps) { return sign(a) / (abs(a) + eps); }
Expr qmean(const Expr& a) { return qsum(a) / qcount(); }
Expr qlse(const Expr& a) {
  Expr m = qmax(a);
  return m + log(qsum(exp(a - m)));
}
Expr softmax(const Expr& a) { return exp(a - qlse(a)); }
Expr smooth_rank(const Expr& a, double tau) { return 1.0 + pairsum(constant(1.0), sigmoid((other(a) - a) / tau)); }
Expr gain(const Expr& label) { return expm1(label * constant(std::log(2.0))); }
Expr discount(const Expr& r) { return constant(std::log(2.0)) / log1p(r); }
Expr ideal_dcg(const Expr& label) { return qsum(gain(label) * discount(rank(label))); }

std::vector<const Node*> schedule(const std::vector<Expr>& roots) {
  std::vector<const Node*> order;
  std::unordered_set<const Node*> seen;
  // Iterative post-order: expressions from the search can be deep.
  std::vector<std::pair<const Node*, size_t>> stack;
  for (const Expr& root : roots) {
    if (!root || !seen.insert(root.get()).second) continue;
    stack.push_back({root.get(), 0});
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->args().size()) {
        const Node* child = node->arg(next++).get();
        if (seen.insert(child).second) stack.push_back({child, 0});
      } else {
        order.push_back(node);
        stack.pop_back();
      }
    }
  }
  return order;
}

std::vector<std::string> free_inputs(const Expr& e) {
  std::vector<std::string> names;
  for (const Node* n : schedule({e}))
    if (n->is_input()) names.push_back(n->name());
  return names;
}

bool depends_on(const Expr& e, std::string_view input_name) {
  for (const Node* n : schedule({e}))
    if (n->is_input() && n->name() == input_name) return true;
  return false;
}

Expr substitute(const Expr& e, const std::vector<std::pair<std::string, Expr>>& bindings) {
  // Raw pointers are safe here: `e` keeps every node of the schedule alive.
  std::unordered_map<const Node*, Expr> rebuilt;
  for (const Node* n : schedule({e})) {
    Expr out;
    if (n->is_input()) {
      for (const auto& [name, value] : bindings)
        if (name == n->name()) out = value;
      if (!out) out = input(n->name());
    } else if (n->is_const()) {
      out = constant(n->value());
    } else {
      std::vector<Expr> args;
      args.reserve(n->args().size());
      for (const Expr& a : n->args()) args.push_back(rebuilt.at(a.get()));
      out = Expr::make(n->op(), std::move(args));
    }
    rebuilt.emplace(n, out);
  }
  return rebuilt.at(e.get());
}

}  // namespace losscc
