// The losscc IR: an immutable, hash-consed expression DAG over float inputs.
//
// Every node is created through the interner, so two structurally equal
// expressions are the same object: equality is a pointer compare and a node's
// `hash()` is a *stable* structural hash (xxHash64 over the op, the constant's
// bits, the input's name and the children's hashes), equal across runs and
// machines. That hash keys the kernel caches and the search's duplicate test.
//
// Semantics are IEEE-754 and identical in the interpreter (double), the LLVM
// backend and the CUDA backend (float). The edges are stated per op below;
// passes must preserve them (see simplify.h for which rewrites are allowed).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace losscc {

enum class Op : uint8_t {
  // Leaves.
  Const,  // a double constant; NaN is stored canonically.
  Input,  // a named per-element input (`pred`, `label`, `pos`, ...).

  // Arithmetic.
  Neg,    // -a
  Add,    // a + b
  Sub,    // a - b
  Mul,    // a * b       (0 * inf = NaN)
  Div,    // a / b       (x/0 = ±inf, 0/0 = NaN)
  Pow,    // a ^ b, b is always a Const. a<0 with a non-integer b is NaN;
          // 0^negative is +inf. Integer b may be lowered to multiplies.

  // Elementary functions.
  Log,       // log(a): a<0 → NaN, a=0 → -inf
  Exp,       // exp(a): overflows to +inf
  Sqrt,      // sqrt(a): a<0 → NaN
  Abs,       // |a|
  Sign,      // a>0 → 1, a<0 → -1, otherwise 0 (so sign(0)=0 and sign(NaN)=0)
  Step,      // a>0 → 1, otherwise 0 (NaN → 0); the derivative of relu
  Sigmoid,   // 1/(1+exp(-a)), evaluated without overflow for large |a|
  Tanh,      // tanh(a)
  Relu,      // a>0 → a, otherwise 0 (NaN → 0)
  Softplus,  // log(1+exp(a)) evaluated as max(a,0)+log1p(exp(-|a|))
  Log1p,     // log(1+a): a<-1 → NaN, a=-1 → -inf
  Expm1,     // exp(a)-1

  // Comparisons. IEEE minNum/maxNum: when exactly one operand is NaN the
  // other one is returned (C fmin/fmax, llvm.minnum/maxnum, CUDA fminf/fmaxf).
  Min,
  Max,

  // Segmented (per-query) ops, for ranking losses. The elements are the
  // documents of a list of queries; the documents of one query are
  // contiguous and the caller passes the segment offsets. A value lives at
  // one Level (below): per query, per document, or per pair (i, j) of
  // documents of one query. Elementwise ops work at the highest level of
  // their operands (a per-query value is the same for every document, a
  // per-document value x in a pair term is x_i). Multi-task losses are
  // weighted sums of several LossFunctions, not new ops.
  QSum,     // Σ_{j in the query} a_j: a per-query value. Never empty (see below).
  QMax,     // max_j a_j (IEEE maxNum fold from -inf: NaNs are skipped; all NaN gives -inf).
  QCount,   // no operands: the number of documents of the query.
  Rank,     // the 1-based position of document i when the query is sorted by a
            // descending; ties go to the earlier document: 1 + #{j : a_j > a_i
            // or (a_j == a_i and j < i)}. A NaN is never above anything. Its
            // derivative is 0 (it is piecewise constant).
  Other,    // a pair value: the per-document value a at the *other* document j
            // of the pair (i, j). Only meaningful inside PairSum.
  PairSum,  // pairsum(c, e) at document i: Σ over the other documents j ≠ i of
            // the query with c(i,j) > 0 of e(i,j). A pair whose condition is not
            // > 0 (NaN included) adds nothing, not even a NaN in e; an empty sum
            // is 0 (a query of one document). The condition is never
            // differentiated. O(n²) per query.

  // Elementwise, appended last so that the ops above keep their ordinals (and
  // with them every canonical operand order, hence printed losses and goldens).
  Detach,   // a, held constant in the gradient (its derivative is 0): a weight
            // computed from the loss itself, as RMTL's per-sample weights are,
            // scales the gradient without being trained.

  // Scans in the order of a key, segmented, appended after Detach for the
  // same reason. The order is rank(key)'s (highest key first, ties to the
  // earlier document), with a NaN key after every other one (ties again by
  // document): sorting once makes a scan O(n log n) per query, where the
  // same sum as a pairsum over rank(key) is O(n²). The key is never
  // differentiated; each scan's gradient is the other scan.
  PrefixSum,  // prefix_sum(key, x) at i: Σ x_j over the documents j at or above i
  SuffixSum,  // suffix_sum(key, x) at i: Σ x_j over the documents j at or below i
              // (ListMLE's Plackett-Luce denominators)
};

inline constexpr int kNumOps = static_cast<int>(Op::SuffixSum) + 1;
// The elementwise ops from Const to Max; Detach, the one after the segmented
// ops, is elementwise too.
inline constexpr int kNumElementwiseOps = static_cast<int>(Op::Max) + 1;

// Where a value lives (see the segmented ops above). Constants and the
// per-query reductions are per query; inputs are per document; Other(x) and
// anything computed from it is per pair until a PairSum sums it away.
enum class Level : uint8_t { Query = 0, Document = 1, Pair = 2 };

struct OpInfo {
  Op op;
  std::string_view name;  // the .loss spelling of a function, or the op's name
  int arity;
  bool commutative;
  bool segmented;  // one of the per-query ops: not evaluable element by element
};
const OpInfo& op_info(Op op);
// Looks up a unary/binary *function* by its .loss name ("log", "max", ...).
// Returns nullptr for names that are not IR ops (e.g. "square", "clamp").
const OpInfo* op_by_name(std::string_view name);

class Node;

// A handle to an interned node. Cheap to copy; compares by identity, which is
// structural equality because of hash-consing.
class Expr {
 public:
  Expr() = default;
  const Node* get() const { return node_.get(); }
  const Node* operator->() const { return node_.get(); }
  const Node& operator*() const { return *node_; }
  explicit operator bool() const { return node_ != nullptr; }
  bool same_as(const Expr& o) const { return node_ == o.node_; }
  friend bool operator==(const Expr& a, const Expr& b) { return a.node_ == b.node_; }
  friend bool operator!=(const Expr& a, const Expr& b) { return a.node_ != b.node_; }

  // The only way to build nodes. Children must be non-null and match the
  // op's arity; Pow's exponent must be a Const.
  static Expr constant(double v);
  static Expr input(std::string_view name);
  static Expr make(Op op, std::vector<Expr> args);

 private:
  explicit Expr(std::shared_ptr<const Node> n) : node_(std::move(n)) {}
  std::shared_ptr<const Node> node_;
  friend class Interner;
};

class Node {
 public:
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();
  Op op() const { return op_; }
  uint64_t hash() const { return hash_; }
  double value() const { return value_; }          // Const only
  const std::string& name() const { return name_; }  // Input only
  const std::vector<Expr>& args() const { return args_; }
  const Expr& arg(size_t i) const { return args_[i]; }
  bool is_const() const { return op_ == Op::Const; }
  bool is_const(double v) const { return op_ == Op::Const && value_ == v; }
  bool is_input() const { return op_ == Op::Input; }
  Level level() const { return level_; }
  // Whether a segmented op is anywhere in this expression: the loss is then
  // a ranking loss over queries, not a sum over independent elements.
  bool segmented() const { return segmented_; }

 private:
  friend class Interner;
  Op op_ = Op::Const;
  double value_ = 0;
  std::string name_;
  std::vector<Expr> args_;
  uint64_t hash_ = 0;
  Level level_ = Level::Query;
  bool segmented_ = false;
};

// Builders. Each is a plain Expr::make with no rewriting: folding and
// canonicalisation belong to simplify().
Expr constant(double v);
Expr input(std::string_view name);
Expr operator+(const Expr& a, const Expr& b);
Expr operator-(const Expr& a, const Expr& b);
Expr operator*(const Expr& a, const Expr& b);
Expr operator/(const Expr& a, const Expr& b);
Expr operator-(const Expr& a);
Expr operator+(const Expr& a, double b);
Expr operator+(double a, const Expr& b);
Expr operator-(const Expr& a, double b);
Expr operator-(double a, const Expr& b);
Expr operator*(const Expr& a, double b);
Expr operator*(double a, const Expr& b);
Expr operator/(const Expr& a, double b);
Expr operator/(double a, const Expr& b);
Expr pow(const Expr& a, double exponent);
Expr log(const Expr& a);
Expr exp(const Expr& a);
Expr sqrt(const Expr& a);
Expr abs(const Expr& a);
Expr sign(const Expr& a);
Expr step(const Expr& a);
Expr sigmoid(const Expr& a);
Expr tanh(const Expr& a);
Expr relu(const Expr& a);
Expr softplus(const Expr& a);
Expr log1p(const Expr& a);
Expr expm1(const Expr& a);
Expr detach(const Expr& a);
Expr min(const Expr& a, const Expr& b);
Expr max(const Expr& a, const Expr& b);
// Segmented ops. Level rules are checked (std::invalid_argument): qsum, qmax,
// rank, other and the scans take per-query or per-document operands, not
// pair values.
Expr qsum(const Expr& a);
Expr qmax(const Expr& a);
Expr qcount();
Expr rank(const Expr& a);
Expr other(const Expr& a);
Expr pairsum(const Expr& condition, const Expr& term);
Expr prefix_sum(const Expr& key, const Expr& x);
Expr suffix_sum(const Expr& key, const Expr& x);
// Sugar that lowers to the ops above.
Expr square(const Expr& a);                  // a ^ 2
Expr reciprocal(const Expr& a);              // 1 / a
Expr clamp(const Expr& a, const Expr& lo, const Expr& hi);  // min(max(a, lo), hi)
Expr guarded_log(const Expr& a, double eps);  // sign(a) * log(|a| + eps)
Expr guarded_reciprocal(const Expr& a, double eps);  // sign(a) / (|a| + eps)
Expr qmean(const Expr& a);                   // qsum(a) / qcount()
Expr qlse(const Expr& a);                    // m + log(qsum(exp(a - m))), m = qmax(a)
Expr softmax(const Expr& a);                 // exp(a - qlse(a))
Expr smooth_rank(const Expr& a, double tau); // 1 + pairsum(1, sigmoid((other(a) - a) / tau))
Expr gain(const Expr& label);                // 2^label - 1, as expm1(label · ln 2)
Expr discount(const Expr& rank);             // 1 / log2(1 + rank), as ln 2 / log1p(rank)
Expr ideal_dcg(const Expr& label);           // qsum(gain(label) · discount(rank(label)))

// Every distinct node reachable from `roots`, children before parents, each
// once: the evaluation order shared by the interpreter and both backends.
std::vector<const Node*> schedule(const std::vector<Expr>& roots);
// Distinct input names used by `e`, in first-use order.
std::vector<std::string> free_inputs(const Expr& e);
bool depends_on(const Expr& e, std::string_view input_name);
// Rebuilds `e` with each Input named in `bindings` replaced by its Expr.
Expr substitute(const Expr& e, const std::vector<std::pair<std::string, Expr>>& bindings);

// Number of live interned nodes (for tests and the memory benchmark).
size_t interned_node_count();

}  // namespace losscc
