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

  // Room to grow: listwise ranking losses will add group reductions
  // (sum / log-sum-exp / softmax over the documents of one query), and
  // multi-task losses are weighted sums of several LossFunctions, not new ops.
};

inline constexpr int kNumOps = static_cast<int>(Op::Max) + 1;

struct OpInfo {
  Op op;
  std::string_view name;  // the .loss spelling of a function, or the op's name
  int arity;
  bool commutative;
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

 private:
  friend class Interner;
  Op op_ = Op::Const;
  double value_ = 0;
  std::string name_;
  std::vector<Expr> args_;
  uint64_t hash_ = 0;
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
Expr min(const Expr& a, const Expr& b);
Expr max(const Expr& a, const Expr& b);
// Sugar that lowers to the ops above.
Expr square(const Expr& a);                  // a ^ 2
Expr reciprocal(const Expr& a);              // 1 / a
Expr clamp(const Expr& a, const Expr& lo, const Expr& hi);  // min(max(a, lo), hi)
Expr guarded_log(const Expr& a, double eps);  // sign(a) * log(|a| + eps)
Expr guarded_reciprocal(const Expr& a, double eps);  // sign(a) / (|a| + eps)

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
