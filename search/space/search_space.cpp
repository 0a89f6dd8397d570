#include "search/space/search_space.h"

#include <fmt/format.h>

#include <ostream>

namespace losscc::search {

namespace {

// The operator table. The first nine are AutoLossGen's; the rest are the
// extended set. Order matters: a token stores an index into this table, so
// append new operators at the end or old checkpoints decode differently.
const std::vector<OpChoice> kAllOps = {
    // Binary.
    {"add", 2, [](const Expr& a, const Expr& b) { return a + b; }},
    {"mul", 2, [](const Expr& a, const Expr& b) { return a * b; }},
    {"max", 2, [](const Expr& a, const Expr& b) { return max(a, b); }},
    {"min", 2, [](const Expr& a, const Expr& b) { return min(a, b); }},
    // Unary.
    {"neg", 1, [](const Expr& a, const Expr&) { return -a; }},
    {"identity", 1, [](const Expr& a, const Expr&) { return a; }},
    {"log", 1, [](const Expr& a, const Expr&) { return protected_log(a); }},
    {"square", 1, [](const Expr& a, const Expr&) { return square(a); }},
    {"reciprocal", 1, [](const Expr& a, const Expr&) { return protected_reciprocal(a); }},
    // Extended.
    {"sigmoid", 1, [](const Expr& a, const Expr&) { return sigmoid(a); }},
    {"tanh", 1, [](const Expr& a, const Expr&) { return tanh(a); }},
    {"relu", 1, [](const Expr& a, const Expr&) { return relu(a); }},
    {"abs", 1, [](const Expr& a, const Expr&) { return abs(a); }},
    // Odd and finite-sloped at 0, like the guarded log: sign(x)·sqrt(|x| + ε).
    {"sqrt", 1,
     [](const Expr& a, const Expr&) { return sign(a) * sqrt(abs(a) + kGuardEpsilon); }},
    {"exp", 1, [](const Expr& a, const Expr&) { return exp(a); }},
};
constexpr size_t kNumBasicOps = 9;

const std::vector<OpChoice> kBasicOps(kAllOps.begin(), kAllOps.begin() + kNumBasicOps);

// A pairwise term over the pairs (i, j) of a query with label_i > label_j,
// summed at document i: f(a_i - a_j) for the node a.
Expr pair_term(const Expr& a, Expr (*f)(const Expr& margin)) {
  const Expr label = input("label");
  return pairsum(label - other(label), f(a - other(a)));
}

// RankNet's term over the pairs with label_i > label_j, times a pair weight.
Expr weighted_logistic(const Expr& a, const Expr& weight) {
  const Expr label = input("label");
  return pairsum(label - other(label), weight * softplus(other(a) - a));
}

// NDCG's weight of the pair (i, j) with b as the position: |ΔNDCG| of
// LambdaRank when b is the discount at the score's rank, |gain_i − gain_j| ·
// |b_i − b_j| / IDCG.
Expr swap_weight(const Expr& b) {
  const Expr g = gain(input("label"));
  return abs((g - other(g)) * (b - other(b))) / ideal_dcg(input("label"));
}

// LambdaLoss's (NDCG-Loss2++) extra weight of the pair (i, j) with b as the
// rank: |D(gap) − D(gap + 1)| · |gain_i − gain_j| / IDCG, gap = max(|b_i − b_j|, 1).
Expr gap_weight(const Expr& b) {
  const Expr g = gain(input("label"));
  const Expr gap = max(abs(b - other(b)), constant(1.0));
  return abs(discount(gap) - discount(gap + 1.0)) * abs(g - other(g)) / ideal_dcg(input("label"));
}

// The ranking space's operators, appended to the pointwise table (append new
// ones at the end, as above).
const std::vector<OpChoice> kRankingOps = {
    {"qmean", 1, [](const Expr& a, const Expr&) { return qmean(a); }},
    {"qmax", 1, [](const Expr& a, const Expr&) { return qmax(a); }},
    {"lse", 1, [](const Expr& a, const Expr&) { return qlse(a); }},
    {"softmax", 1, [](const Expr& a, const Expr&) { return softmax(a); }},
    {"smooth_rank", 1, [](const Expr& a, const Expr&) { return smooth_rank(a, 1.0); }},
    {"gain", 1, [](const Expr& a, const Expr&) { return gain(a); }},
    // RankNet's term: log(1 + exp(-(a_i - a_j))).
    {"pair_logistic", 1,
     [](const Expr& a, const Expr&) { return pair_term(a, [](const Expr& m) { return softplus(-m); }); }},
    // RankSVM's term: max(0, 1 - (a_i - a_j)).
    {"pair_hinge", 1,
     [](const Expr& a, const Expr&) { return pair_term(a, [](const Expr& m) { return relu(1.0 - m); }); }},
    // A smooth count of misordered pairs: sigmoid(a_j - a_i).
    {"pair_sigmoid", 1,
     [](const Expr& a, const Expr&) { return pair_term(a, [](const Expr& m) { return sigmoid(-m); }); }},
    // The pieces of the listwise and NDCG-weighted losses: a hard rank (held
    // constant in the gradient), the position discount 1/log2(1 + r), the
    // query's ideal DCG, and ListMLE's Plackett-Luce suffix log-sum-exp of a
    // in the label order, log Σ_{j at or below i} exp(a_j) (one scan).
    {"rank", 1, [](const Expr& a, const Expr&) { return rank(a); }},
    {"discount", 1, [](const Expr& a, const Expr&) { return discount(a); }},
    {"idcg", 1, [](const Expr& a, const Expr&) { return ideal_dcg(a); }},
    {"suffix_lse", 1,
     [](const Expr& a, const Expr&) {
       const Expr m = qmax(a);
       return m + log(suffix_sum(input("label"), exp(a - m)));
     }},
    // A document's share of NDCG at position a: gain(label) · discount(a) /
    // IDCG (ApproxNDCG's term at a smooth rank; 0 in a query without a
    // relevant document).
    {"ndcg_weight", 1,
     [](const Expr& a, const Expr&) {
       const Expr label = input("label");
       return gain(label) * discount(a) / max(ideal_dcg(label), constant(1e-10));
     }},
    // RankNet's term over the label pairs weighted by the pair's NDCG swap
    // cost with b as the position (swap_weight): LambdaRank for b the discount
    // at the score's rank; and by LambdaLoss's rank-gap weight with b as the
    // rank (gap_weight).
    {"pair_lambda", 2,
     [](const Expr& a, const Expr& b) { return weighted_logistic(a, swap_weight(b)); }},
    {"pair_lambda_gap", 2,
     [](const Expr& a, const Expr& b) { return weighted_logistic(a, gap_weight(b)); }},
};

// The multi-task space's operators, appended to the pointwise table: a
// node held constant in the gradient (a weight the loss does not train).
const std::vector<OpChoice> kMultiTaskOps = {
    {"detach", 1, [](const Expr& a, const Expr&) { return detach(a); }},
};

std::vector<OpChoice> concat(const std::vector<OpChoice>& a, const std::vector<OpChoice>& b) {
  std::vector<OpChoice> out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}
const std::vector<OpChoice> kRankingBasicOps = concat(kBasicOps, kRankingOps);
const std::vector<OpChoice> kRankingAllOps = concat(kAllOps, kRankingOps);
const std::vector<OpChoice> kMultiTaskBasicOps = concat(kBasicOps, kMultiTaskOps);
const std::vector<OpChoice> kMultiTaskAllOps = concat(kAllOps, kMultiTaskOps);

// A task's binary cross-entropy, as examples/mtl_equal.loss writes it.
Expr task_bce(int task) {
  const Expr p = input(fmt::format("p{}", task + 1)), y = input(fmt::format("y{}", task + 1));
  return -(y * log(p) + (1.0 - y) * log(1.0 - p));
}

// 1 for a ≥ 0, -1 below.
Expr sign_from_above(const Expr& a) { return constant(1.0) - constant(2.0) * step(-a); }

}  // namespace

Expr protected_log(const Expr& a) { return sign_from_above(a) * log(abs(a) + kGuardEpsilon); }
Expr protected_reciprocal(const Expr& a) { return sign_from_above(a) / (abs(a) + kGuardEpsilon); }

SearchSpace::SearchSpace(int layers, bool extended, bool ranking)
    : layers_(layers),
      extended_(extended),
      ranking_(ranking),
      ops_(ranking ? (extended ? &kRankingAllOps : &kRankingBasicOps) : (extended ? &kAllOps : &kBasicOps)) {
  if (layers < 1) throw std::invalid_argument(fmt::format("a search space needs at least one layer, got {}", layers));
  for (std::string_view name : ranking ? kRankingLeafNames : kLeafNames) leaf_names_.emplace_back(name);
}

SearchSpace SearchSpace::multi_task(int tasks, int layers, bool extended, bool batch_statistics) {
  if (tasks < 2) throw std::invalid_argument(fmt::format("a multi-task space needs at least 2 tasks, got {}", tasks));
  if (batch_statistics && tasks > 32)
    throw std::invalid_argument(fmt::format("batch statistics take at most 32 tasks, got {}", tasks));
  SearchSpace space(layers, extended);
  space.tasks_ = tasks;
  space.batch_statistics_ = batch_statistics;
  space.ops_ = extended ? &kMultiTaskAllOps : &kMultiTaskBasicOps;
  space.leaf_names_.clear();
  for (int k = 1; k <= tasks; ++k)
    for (const char* pattern : {"p{}", "y{}", "bce{}", "detach(bce{})"})
      space.leaf_names_.push_back(fmt::format(fmt::runtime(pattern), k));
  space.leaf_names_.emplace_back("1");
  if (batch_statistics)
    for (int k = 1; k <= tasks; ++k) space.leaf_names_.push_back(fmt::format("mean(bce{})", k));
  return space;
}

int SearchSpace::op_index(std::string_view name) const {
  for (int i = 0; i < num_ops(); ++i)
    if (ops()[i].name == name) return i;
  return -1;
}

std::ostream& operator<<(std::ostream& os, const Token& t) {
  return os << '{' << t.op << ", " << t.lhs << ", " << t.rhs << '}';
}

std::string validation_error(const SearchSpace& space, const std::vector<Token>& tokens) {
  if (static_cast<int>(tokens.size()) != space.layers())
    return fmt::format("expected {} tokens (one per layer), got {}", space.layers(), tokens.size());
  for (int pos = 0; pos < space.layers(); ++pos) {
    const Token& t = tokens[pos];
    const int node = space.inputs_available(pos);
    if (t.op < 0 || t.op >= space.num_ops())
      return fmt::format("token {} (node {}): operator {} is not in [0, {})", pos, node, t.op,
                         space.num_ops());
    if (t.lhs < 0 || t.lhs >= node)
      return fmt::format("token {} (node {}): lhs {} is not an earlier node [0, {})", pos, node,
                         t.lhs, node);
    const OpChoice& op = space.ops()[t.op];
    if (op.arity == 1 && t.rhs != -1)
      return fmt::format("token {} (node {}): unary '{}' takes no rhs, got {}", pos, node, op.name,
                         t.rhs);
    if (op.arity == 2 && (t.rhs < 0 || t.rhs >= node))
      return fmt::format("token {} (node {}): rhs {} is not an earlier node [0, {})", pos, node,
                         t.rhs, node);
  }
  return {};
}

LossFunction decode(const SearchSpace& space, const std::vector<Token>& tokens) {
  if (std::string error = validation_error(space, tokens); !error.empty())
    throw InvalidTokens(error);
  std::vector<Expr> nodes;
  if (space.tasks()) {
    for (int k = 0; k < space.tasks(); ++k) {
      const Expr bce = task_bce(k);
      nodes.insert(nodes.end(), {input(space.leaf_name(SearchSpace::task_leaf(k, SearchSpace::kPrediction))),
                                 input(space.leaf_name(SearchSpace::task_leaf(k, SearchSpace::kLabel))), bce, detach(bce)});
    }
    nodes.push_back(constant(1.0));
    if (space.batch_statistics())
      for (int k = 0; k < space.tasks(); ++k) nodes.push_back(qmean(detach(task_bce(k))));
  } else {
    nodes = {input(space.leaf_name(0)), input("label"), constant(1.0)};
  }
  nodes.reserve(nodes.size() + tokens.size());
  for (const Token& t : tokens) {
    const OpChoice& op = space.ops()[t.op];
    const Expr& a = nodes[t.lhs];
    nodes.push_back(op.build(a, op.arity == 2 ? nodes[t.rhs] : a));
  }
  LossFunction fn;
  fn.reduction = Reduction::Mean;
  if (space.ranking()) {
    fn.inputs = {{"score", Domain::Real, Role::Prediction}, {"label", Domain::Grade, Role::Label}};
    fn.body = qsum(nodes.back());
    return fn;
  }
  if (space.tasks()) {
    for (int k = 1; k <= space.tasks(); ++k) {
      fn.inputs.push_back({fmt::format("p{}", k), Domain::Probability, Role::Prediction});
      fn.inputs.push_back({fmt::format("y{}", k), Domain::Binary, Role::Label});
    }
    // A program that reads a batch mean is one value per batch: its mean.
    fn.body = nodes.back()->segmented() ? qmean(nodes.back()) : nodes.back();
    return fn;
  }
  fn.inputs = LossFunction::default_inputs();
  fn.body = nodes.back();
  return fn;
}

std::vector<Token> sample_uniform(const SearchSpace& space, std::mt19937_64& rng) {
  std::vector<Token> tokens;
  tokens.reserve(space.layers());
  std::uniform_int_distribution<int> pick_op(0, space.num_ops() - 1);
  for (int pos = 0; pos < space.layers(); ++pos) {
    std::uniform_int_distribution<int> pick_input(0, space.inputs_available(pos) - 1);
    Token t;
    t.op = pick_op(rng);
    t.lhs = pick_input(rng);
    t.rhs = space.ops()[t.op].arity == 2 ? pick_input(rng) : -1;
    tokens.push_back(t);
  }
  return tokens;
}

std::string format_tokens(const SearchSpace& space, const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& t : tokens) {
    if (!out.empty()) out += ' ';
    const bool known = t.op >= 0 && t.op < space.num_ops();
    std::string_view name = known ? space.ops()[t.op].name : "?";
    if (t.rhs >= 0)
      out += fmt::format("{}({},{})", name, t.lhs, t.rhs);
    else
      out += fmt::format("{}({})", name, t.lhs);
  }
  return out;
}

}  // namespace losscc::search
