#include "compiler/language/lower.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "compiler/language/builtins.h"

namespace losscc {

namespace {

double fold(Op op, double a, double b) {
  switch (op) {
    case Op::Add: return a + b;
    case Op::Sub: return a - b;
    case Op::Mul: return a * b;
    case Op::Div: return a / b;
    default: throw std::logic_error(fmt::format("cannot fold '{}'", op_info(op).name));
  }
}

// Levels of `n` above the nodes in `known` (whose depths are given). Used for
// the few new nodes a built-in adds on top of its arguments.
int depth_above(const Node* n, const std::vector<std::pair<const Node*, int>>& known) {
  for (const auto& [node, depth] : known)
    if (node == n) return depth;
  int deepest = 0;
  for (const Expr& a : n->args()) deepest = std::max(deepest, depth_above(a.get(), known));
  return deepest + 1;
}

}  // namespace

std::string_view LossBuilder::describe(NameKind kind) {
  switch (kind) {
    case NameKind::Input:
    case NameKind::DefaultInput: return "an input";
    case NameKind::Param: return "a param";
    case NameKind::Let: return "a let binding";
  }
  return "a name";
}

LossBuilder::LossBuilder(const SourceFile& source, const ParamOverrides& overrides)
    : source_(source), overrides_(overrides) {
  // pred and label exist until the file declares its own inputs.
  for (const InputDecl& in : LossFunction::default_inputs()) {
    Value v;
    v.expr = input(in.name);
    names_.emplace(in.name, Binding{NameKind::DefaultInput, std::move(v), 0});
  }
}

void LossBuilder::check_new_name(const Token& name) const {
  if (find_builtin(name.text))
    throw source_.error(name.offset, fmt::format("'{}' is a built-in function and cannot be redefined", name.text));
  auto it = names_.find(name.text);
  if (it == names_.end()) return;
  const Binding& earlier = it->second;
  switch (earlier.kind) {
    case NameKind::DefaultInput:
      throw source_.error(name.offset, fmt::format("'{}' is already defined as an implicit input "
                                                   "(a file that declares no inputs has pred and label)",
                                                   name.text));
    default:
      throw source_.error(name.offset, fmt::format("'{}' is already defined at {} (as {})", name.text,
                                                   source_.position(earlier.declared_at), describe(earlier.kind)));
  }
}

void LossBuilder::bind(const Token& name, NameKind kind, Value value) {
  check_new_name(name);
  names_.emplace(std::string(name.text), Binding{kind, std::move(value), name.offset});
}

void LossBuilder::declare_input(const Token& name, Domain domain, Role role) {
  if (inputs_.empty()) {
    // The first declaration retires the implicit pred and label, which is
    // only sound if nothing has used them yet.
    if (default_input_used_at_)
      throw source_.error(name.offset,
                          fmt::format("input declarations must come before the inputs are used "
                                      "(an implicit input is used at {})",
                                      source_.position(*default_input_used_at_)));
    for (auto it = names_.begin(); it != names_.end();)
      it = it->second.kind == NameKind::DefaultInput ? names_.erase(it) : std::next(it);
  }
  Value v;
  v.expr = input(name.text);
  bind(name, NameKind::Input, std::move(v));
  inputs_.push_back({std::string(name.text), domain, role});
}

void LossBuilder::declare_param(const Token& name, double default_value) {
  double value = default_value;
  auto it = overrides_.find(std::string(name.text));
  if (it != overrides_.end()) {
    if (!std::isfinite(it->second))
      throw source_.error(name.offset, fmt::format("-D {}={}: a param must be a finite number", name.text,
                                                   it->second));
    value = it->second;
  }
  bind(name, NameKind::Param, number(value, name.offset));
}

void LossBuilder::define_let(const Token& name, Value value) {
  // A let is a name for a node, not a constant: `x^k` needs k to be a param.
  value.constant.reset();
  value.variable_at = name.offset;
  bind(name, NameKind::Let, std::move(value));
}

void LossBuilder::set_reduction(Reduction reduction, size_t offset) {
  if (reduction_at_)
    throw source_.error(offset, fmt::format("the reduction is already set at {}", source_.position(*reduction_at_)));
  reduction_at_ = offset;
  reduction_ = reduction;
}

Value LossBuilder::with_depth(Expr expr, int depth, size_t offset) const {
  if (depth > kMaxDepth)
    throw source_.error(offset, fmt::format("expression is too deep: more than {} levels of operations", kMaxDepth));
  Value v;
  v.expr = std::move(expr);
  v.depth = depth;
  return v;
}

double LossBuilder::require_constant(const Value& value, std::string_view what) const {
  if (value.constant) return *value.constant;
  throw source_.error(value.variable_at, fmt::format("{} must be a constant, but {}", what, value.variable_why));
}

std::vector<std::string_view> LossBuilder::visible_names() const {
  std::vector<std::string_view> names;
  for (const auto& [name, binding] : names_) names.push_back(name);
  return names;
}

Value LossBuilder::number(double value, size_t offset) {
  Value v = with_depth(constant(value), 1, offset);
  v.constant = value;
  return v;
}

Value LossBuilder::name(const Token& name) {
  auto it = names_.find(name.text);
  if (it == names_.end()) {
    if (find_builtin(name.text))
      throw source_.error(name.offset, fmt::format("'{}' is a function; call it as {}(...)", name.text, name.text));
    throw source_.error(name.offset,
                        fmt::format("unknown name '{}'{}", name.text, did_you_mean(name.text, visible_names())));
  }
  const Binding& b = it->second;
  Value v = b.value;
  switch (b.kind) {
    case NameKind::DefaultInput:
      if (!default_input_used_at_) default_input_used_at_ = name.offset;
      [[fallthrough]];
    case NameKind::Input:
      v.variable_why = fmt::format("'{}' is an input", name.text);
      break;
    case NameKind::Let:
      v.variable_why = fmt::format("'{}' is a let binding", name.text);
      break;
    case NameKind::Param:
      break;
  }
  v.variable_at = name.offset;
  return v;
}

Value LossBuilder::negate(Value operand, size_t offset) {
  Value v = with_depth(-operand.expr, operand.depth + 1, offset);
  if (operand.constant) v.constant = -*operand.constant;
  v.pair_at = operand.pair_at;
  v.variable_at = operand.variable_at;
  v.variable_why = std::move(operand.variable_why);
  return v;
}

Value LossBuilder::binary(Op op, Value lhs, Value rhs, size_t offset) {
  Value v = with_depth(Expr::make(op, {lhs.expr, rhs.expr}), std::max(lhs.depth, rhs.depth) + 1, offset);
  if (lhs.constant && rhs.constant) v.constant = fold(op, *lhs.constant, *rhs.constant);
  v.pair_at = lhs.expr->level() == Level::Pair ? lhs.pair_at : rhs.pair_at;
  const Value& variable = lhs.constant ? rhs : lhs;
  v.variable_at = variable.variable_at;
  v.variable_why = variable.variable_why;
  return v;
}

Value LossBuilder::power(Value base, Value exponent, size_t offset) {
  double e = require_constant(exponent, "the exponent of '^'");
  Value v = with_depth(pow(base.expr, e), base.depth + 1, offset);
  if (base.constant) v.constant = std::pow(*base.constant, e);
  v.pair_at = base.pair_at;
  v.variable_at = base.variable_at;
  v.variable_why = std::move(base.variable_why);
  return v;
}

Value LossBuilder::call(const Token& function, std::vector<Value> arguments) {
  const Builtin* builtin = find_builtin(function.text);
  if (!builtin) {
    auto it = names_.find(function.text);
    if (it != names_.end())
      throw source_.error(function.offset, fmt::format("'{}' is {}, not a function", function.text,
                                                       describe(it->second.kind)));
    throw source_.error(function.offset, fmt::format("unknown function '{}'{}", function.text,
                                                     did_you_mean(function.text, builtin_names())));
  }
  int given = static_cast<int>(arguments.size());
  int most = builtin->operands + builtin->constants;
  if (given < builtin->operands || given > most) {
    std::string takes = builtin->constants == 0
                            ? fmt::format("{} argument{}", most, most == 1 ? "" : "s")
                            : fmt::format("{} to {} arguments", builtin->operands, most);
    throw source_.error(function.offset, fmt::format("'{}' takes {}, found {} (usage: {})", builtin->name, takes,
                                                     given, builtin->usage));
  }

  std::vector<Expr> operands;
  std::vector<std::pair<const Node*, int>> known_depths;
  for (int i = 0; i < builtin->operands; ++i) {
    operands.push_back(arguments[i].expr);
    known_depths.push_back({arguments[i].expr.get(), arguments[i].depth});
  }
  std::vector<double> constants;
  for (int i = builtin->operands; i < most; ++i) {
    if (i < given) {
      std::string what = fmt::format("argument {} of '{}'", i + 1, builtin->name);
      constants.push_back(require_constant(arguments[i], what));
    } else {
      constants.push_back(builtin->constant_default);
    }
  }
  Expr built;
  try {
    built = builtin->build(operands, constants);
  } catch (const std::invalid_argument& e) {  // a level rule of the segmented ops
    throw source_.error(function.offset, fmt::format("{}(...): {}", builtin->name, e.what()));
  }
  size_t pair_at = function.offset;  // other(...) itself, or the operand that is a pair value
  if (builtin->name != "other")
    for (const Value& a : arguments)
      if (a.expr->level() == Level::Pair) pair_at = a.pair_at;
  Value v = with_depth(built, depth_above(built.get(), known_depths), function.offset);
  v.variable_at = function.offset;
  v.variable_why = fmt::format("{}(...) is a function call", builtin->name);
  v.pair_at = pair_at;
  return v;
}

LossFunction LossBuilder::finish(Value body, size_t body_at) {
  if (body.expr->level() == Level::Pair)
    throw source_.error(body.pair_at,
                        "other(...) is the value at the other document of a pair: use it inside pairsum(...)");
  if (body.expr->segmented() && body.expr->level() != Level::Query)
    throw source_.error(body_at, "a ranking loss is one value per query: reduce the per-document "
                                 "expression with qsum(...), qmean(...) or qmax(...)");
  for (const auto& [name, value] : overrides_) {
    auto it = names_.find(name);
    if (it != names_.end() && it->second.kind == NameKind::Param) continue;
    std::vector<std::string_view> params;
    for (const auto& [n, b] : names_)
      if (b.kind == NameKind::Param) params.push_back(n);
    std::string hint = params.empty() ? " (it declares none)" : did_you_mean(name, params);
    throw source_.error(0, fmt::format("-D {}: the file declares no param '{}'{}", name, name, hint));
  }
  LossFunction fn;
  fn.inputs = inputs_.empty() ? LossFunction::default_inputs() : inputs_;
  fn.body = std::move(body.expr);
  fn.reduction = reduction_;
  return fn;
}

}  // namespace losscc
