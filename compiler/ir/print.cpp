#include "compiler/ir/print.h"

#include <fmt/format.h>

#include <cmath>
#include <unordered_map>

namespace losscc {

namespace {

// Binding strength, loosest first. `^` binds tighter than unary minus, so
// -x^2 is -(x^2), as in the parser.
enum Prec { kSum = 1, kProduct = 2, kUnary = 3, kPower = 4, kAtom = 5 };

struct OperatorSpelling {
  Op op;
  const char* symbol;
  Prec prec;
};
constexpr OperatorSpelling kOperators[] = {
    {Op::Add, " + ", kSum}, {Op::Sub, " - ", kSum},     {Op::Mul, " * ", kProduct},
    {Op::Div, " / ", kProduct}, {Op::Pow, "^", kPower},
};

const OperatorSpelling* operator_spelling(Op op) {
  for (const OperatorSpelling& s : kOperators)
    if (s.op == op) return &s;
  return nullptr;
}

class Printer {
 public:
  explicit Printer(const std::unordered_map<const Node*, std::string>* names) : names_(names) {}

  // Prints `n` and reports its binding strength.
  std::string print(const Node* n, Prec* prec) {
    if (names_) {
      auto it = names_->find(n);
      if (it != names_->end()) {
        *prec = kAtom;
        return it->second;
      }
    }
    switch (n->op()) {
      case Op::Const: {
        std::string s = format_number(n->value());
        // Test the text, not the value: -0 is not < 0 but prints with a sign.
        *prec = (s[0] == '-' || s[0] == '(') ? kUnary : kAtom;
        return s;
      }
      case Op::Input:
        *prec = kAtom;
        return n->name();
      case Op::Neg:
        *prec = kUnary;
        // -(2), not -2: the parser reads "-2" as the constant -2, not Neg(2).
        if (n->arg(0)->is_const()) return "-(" + format_number(n->arg(0)->value()) + ")";
        return "-" + operand(n->arg(0).get(), kUnary, false);
      default:
        break;
    }
    if (const OperatorSpelling* s = operator_spelling(n->op())) {
      *prec = s->prec;
      if (n->op() == Op::Pow) {
        // Right-associative: the base needs parentheses at equal strength.
        std::string exponent = format_number(n->arg(1)->value());
        if (exponent[0] == '-' || exponent[0] == '(') exponent = "(" + exponent + ")";
        return operand(n->arg(0).get(), kPower, true) + "^" + exponent;
      }
      // Left-associative: the right operand needs parentheses at equal strength
      // (a - (b - c), a / (b * c)).
      return operand(n->arg(0).get(), s->prec, false) + s->symbol +
             operand(n->arg(1).get(), s->prec, true);
    }
    *prec = kAtom;
    std::string out(op_info(n->op()).name);
    out += '(';
    for (size_t i = 0; i < n->args().size(); ++i) {
      if (i) out += ", ";
      Prec ignored;
      out += print(n->arg(i).get(), &ignored);
    }
    return out + ')';
  }

 private:
  std::string operand(const Node* n, Prec parent, bool strict) {
    Prec p;
    std::string s = print(n, &p);
    bool wrap = strict ? p <= parent : p < parent;
    return wrap ? "(" + s + ")" : s;
  }

  const std::unordered_map<const Node*, std::string>* names_;
};

}  // namespace

std::string format_number(double v) {
  if (std::isnan(v)) return "(0/0)";
  if (std::isinf(v)) return v > 0 ? "(1/0)" : "(-1/0)";
  return fmt::format("{}", v);  // the shortest form that reads back exactly
}

std::string to_string(const Expr& e) {
  Prec p;
  return Printer(nullptr).print(e.get(), &p);
}

std::string to_loss_source(const LossFunction& fn) {
  std::string out;
  if (fn.inputs != LossFunction::default_inputs()) {
    for (const InputDecl& in : fn.inputs) {
      out += fmt::format("input {}: {}", in.name, domain_name(in.domain));
      if (in.role != default_role(in.name)) out += fmt::format(" as {}", role_name(in.role));
      out += '\n';
    }
  }
  if (fn.reduction != Reduction::Mean) out += fmt::format("reduce {}\n", reduction_name(fn.reduction));

  // Name every interior node with more than one parent.
  std::unordered_map<const Node*, int> uses;
  std::vector<const Node*> order = schedule({fn.body});
  for (const Node* n : order)
    for (const Expr& a : n->args()) ++uses[a.get()];
  std::unordered_map<const Node*, std::string> names;
  int counter = 0;
  for (const Node* n : order) {
    if (n->is_const() || n->is_input() || uses[n] < 2) continue;
    std::string name;
    do name = fmt::format("t{}", ++counter);
    while (fn.find_input(name));
    Prec p;
    out += fmt::format("let {} = {}\n", name, Printer(&names).print(n, &p));
    names.emplace(n, name);
  }
  Prec p;
  out += Printer(&names).print(fn.body.get(), &p);
  out += '\n';
  return out;
}

std::string to_ir_listing(const std::vector<Expr>& roots) {
  std::unordered_map<const Node*, size_t> ids;
  std::string out;
  for (const Node* n : schedule(roots)) {
    size_t id = ids.size();
    ids.emplace(n, id);
    std::string line = fmt::format("%{} = {}", id, op_info(n->op()).name);
    if (n->is_const()) line += " " + format_number(n->value());
    if (n->is_input()) line += " " + n->name();
    for (size_t i = 0; i < n->args().size(); ++i)
      line += fmt::format("{}%{}", i ? ", " : " ", ids.at(n->arg(i).get()));
    line = fmt::format("{:<40} ; {:016x}", line, n->hash());
    for (size_t r = 0; r < roots.size(); ++r)
      if (roots[r].get() == n) line += fmt::format(" output {}", r);
    out += line + '\n';
  }
  return out;
}

}  // namespace losscc
