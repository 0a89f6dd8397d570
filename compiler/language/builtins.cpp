#include "compiler/language/builtins.h"

#include <array>

namespace losscc {

namespace {

// The epsilon of the AutoLossGen search space's guarded operators.
constexpr double kGuardEpsilon = 1e-6;

template <Op op>
Expr build_op(const std::vector<Expr>& operands, const std::vector<double>&) {
  return Expr::make(op, operands);
}

Expr build_square(const std::vector<Expr>& x, const std::vector<double>&) { return square(x[0]); }
Expr build_reciprocal(const std::vector<Expr>& x, const std::vector<double>&) { return reciprocal(x[0]); }
Expr build_clamp(const std::vector<Expr>& x, const std::vector<double>&) { return clamp(x[0], x[1], x[2]); }
Expr build_guarded_log(const std::vector<Expr>& x, const std::vector<double>& eps) {
  return guarded_log(x[0], eps[0]);
}
Expr build_guarded_reciprocal(const std::vector<Expr>& x, const std::vector<double>& eps) {
  return guarded_reciprocal(x[0], eps[0]);
}

Expr build_qmean(const std::vector<Expr>& x, const std::vector<double>&) { return qmean(x[0]); }
Expr build_qlse(const std::vector<Expr>& x, const std::vector<double>&) { return qlse(x[0]); }
Expr build_softmax(const std::vector<Expr>& x, const std::vector<double>&) { return softmax(x[0]); }
Expr build_smooth_rank(const std::vector<Expr>& x, const std::vector<double>& tau) {
  return smooth_rank(x[0], tau[0]);
}
Expr build_gain(const std::vector<Expr>& x, const std::vector<double>&) { return gain(x[0]); }
Expr build_discount(const std::vector<Expr>& x, const std::vector<double>&) { return discount(x[0]); }
Expr build_idcg(const std::vector<Expr>& x, const std::vector<double>&) { return ideal_dcg(x[0]); }

constexpr std::array<Builtin, 35> kBuiltins = {{
    {"log", 1, 0, 0, build_op<Op::Log>, "log(x)"},
    {"exp", 1, 0, 0, build_op<Op::Exp>, "exp(x)"},
    {"sqrt", 1, 0, 0, build_op<Op::Sqrt>, "sqrt(x)"},
    {"abs", 1, 0, 0, build_op<Op::Abs>, "abs(x)"},
    {"sign", 1, 0, 0, build_op<Op::Sign>, "sign(x)"},
    {"step", 1, 0, 0, build_op<Op::Step>, "step(x)"},
    {"sigmoid", 1, 0, 0, build_op<Op::Sigmoid>, "sigmoid(x)"},
    {"tanh", 1, 0, 0, build_op<Op::Tanh>, "tanh(x)"},
    {"relu", 1, 0, 0, build_op<Op::Relu>, "relu(x)"},
    {"softplus", 1, 0, 0, build_op<Op::Softplus>, "softplus(x)"},
    {"log1p", 1, 0, 0, build_op<Op::Log1p>, "log1p(x)"},
    {"expm1", 1, 0, 0, build_op<Op::Expm1>, "expm1(x)"},
    {"detach", 1, 0, 0, build_op<Op::Detach>, "detach(x)"},
    {"min", 2, 0, 0, build_op<Op::Min>, "min(x, y)"},
    {"max", 2, 0, 0, build_op<Op::Max>, "max(x, y)"},
    {"square", 1, 0, 0, build_square, "square(x)"},
    {"reciprocal", 1, 0, 0, build_reciprocal, "reciprocal(x)"},
    {"clamp", 3, 0, 0, build_clamp, "clamp(x, lo, hi)"},
    {"guarded_log", 1, 1, kGuardEpsilon, build_guarded_log, "guarded_log(x, eps = 1e-6)"},
    {"guarded_reciprocal", 1, 1, kGuardEpsilon, build_guarded_reciprocal,
     "guarded_reciprocal(x, eps = 1e-6)"},
    // Per-query (ranking) functions; see docs/LANGUAGE.md.
    {"qsum", 1, 0, 0, build_op<Op::QSum>, "qsum(x)"},
    {"qmax", 1, 0, 0, build_op<Op::QMax>, "qmax(x)"},
    {"qcount", 0, 0, 0, build_op<Op::QCount>, "qcount()"},
    {"rank", 1, 0, 0, build_op<Op::Rank>, "rank(x)"},
    {"other", 1, 0, 0, build_op<Op::Other>, "other(x)"},
    {"pairsum", 2, 0, 0, build_op<Op::PairSum>, "pairsum(condition, term)"},
    {"prefix_sum", 2, 0, 0, build_op<Op::PrefixSum>, "prefix_sum(key, x)"},
    {"suffix_sum", 2, 0, 0, build_op<Op::SuffixSum>, "suffix_sum(key, x)"},
    {"qmean", 1, 0, 0, build_qmean, "qmean(x)"},
    {"qlse", 1, 0, 0, build_qlse, "qlse(x)"},
    {"softmax", 1, 0, 0, build_softmax, "softmax(x)"},
    {"smooth_rank", 1, 1, 1.0, build_smooth_rank, "smooth_rank(x, tau = 1)"},
    {"gain", 1, 0, 0, build_gain, "gain(label)"},
    {"discount", 1, 0, 0, build_discount, "discount(rank)"},
    {"idcg", 1, 0, 0, build_idcg, "idcg(label)"},
}};

}  // namespace

const Builtin* find_builtin(std::string_view name) {
  for (const Builtin& b : kBuiltins)
    if (b.name == name) return &b;
  return nullptr;
}

std::vector<std::string_view> builtin_names() {
  std::vector<std::string_view> names;
  for (const Builtin& b : kBuiltins) names.push_back(b.name);
  return names;
}

}  // namespace losscc
