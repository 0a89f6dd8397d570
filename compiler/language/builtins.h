// The functions a .loss file can call: one table line per function, giving
// its name, how many arguments it takes and how it lowers to IR.
#pragma once

#include <string_view>
#include <vector>

#include "compiler/ir/expr.h"

namespace losscc {

struct Builtin {
  using Build = Expr (*)(const std::vector<Expr>& operands, const std::vector<double>& constants);

  std::string_view name;
  int operands;            // leading arguments: any expression
  int constants;           // trailing arguments that must be constant and may be left out
  double constant_default; // the value of a left-out constant argument
  Build build;
  std::string_view usage;  // the signature as documented, for arity errors
};

// nullptr when `name` is no built-in function.
const Builtin* find_builtin(std::string_view name);
// Every built-in's name, for "did you mean" suggestions.
std::vector<std::string_view> builtin_names();

}  // namespace losscc
