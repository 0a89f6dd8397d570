// Lowering: the meaning of what the parser recognises. The parser calls one
// action per construct; the LossBuilder resolves names, applies params and
// their overrides, checks what must be constant, and builds the IR through the
// builders of compiler/ir/expr.h, unsimplified.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/loss_function.h"
#include "compiler/language/lexer.h"
#include "compiler/language/parse.h"
#include "compiler/language/source.h"

namespace losscc {

// An expression as the parser holds it: its IR, plus what the language needs
// to know about it that the IR does not record.
struct Value {
  Expr expr;
  // Set when the expression is built only from numbers, params and
  // + - * / ^ (the constant expressions an exponent may be).
  std::optional<double> constant;
  // When not constant: the first name or call that makes it so, for errors.
  size_t variable_at = 0;
  std::string variable_why;  // "'pred' is an input"
  int depth = 1;             // levels of IR operations; a leaf is 1
  size_t pair_at = 0;        // a pair value: the other(...) call that made it one
};

class LossBuilder {
 public:
  LossBuilder(const SourceFile& source, const ParamOverrides& overrides);

  // Statements.
  void declare_input(const Token& name, Domain domain, Role role);
  void declare_param(const Token& name, double default_value);
  void define_let(const Token& name, Value value);
  void set_reduction(Reduction reduction, size_t offset);

  // Expressions. Offsets point at the operator, for errors.
  Value number(double value, size_t offset);
  Value name(const Token& name);
  Value negate(Value operand, size_t offset);
  Value binary(Op op, Value lhs, Value rhs, size_t offset);
  Value power(Value base, Value exponent, size_t offset);
  Value call(const Token& function, std::vector<Value> arguments);

  // `body_at`: where the loss expression starts, for errors about it as a whole.
  LossFunction finish(Value body, size_t body_at);

 private:
  enum class NameKind { Input, DefaultInput, Param, Let };
  struct Binding {
    NameKind kind;
    Value value;
    size_t declared_at;
  };

  static std::string_view describe(NameKind kind);
  void check_new_name(const Token& name) const;
  void bind(const Token& name, NameKind kind, Value value);
  Value with_depth(Expr expr, int depth, size_t offset) const;
  double require_constant(const Value& value, std::string_view what) const;
  std::vector<std::string_view> visible_names() const;

  const SourceFile& source_;
  const ParamOverrides& overrides_;
  std::map<std::string, Binding, std::less<>> names_;
  std::vector<InputDecl> inputs_;
  std::optional<size_t> default_input_used_at_;  // first use of an implicit pred/label
  std::optional<size_t> reduction_at_;
  Reduction reduction_ = Reduction::Mean;
};

}  // namespace losscc
