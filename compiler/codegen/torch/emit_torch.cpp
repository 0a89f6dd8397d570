#include "compiler/codegen/torch/emit_torch.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "compiler/ir/print.h"
#include "compiler/passes/check.h"

namespace losscc::torch_codegen {
namespace {

// How tightly a fragment binds, for parenthesising Python's infix operators.
enum Precedence : int { kAdditive = 1, kMultiplicative = 2, kUnary = 3, kAtom = 4 };

struct Fragment {
  std::string text;
  int precedence = kAtom;
};

// One line per IR op: its PyTorch spelling. `infix` ops are Python operators
// (the IR's order of operations is kept: the right operand of an operator of
// equal precedence is parenthesised, so a + (b + c) is never regrouped);
// the rest are calls, `{0}`/`{1}` the operands. A helper is emitted once when
// an op needs one (IEEE semantics that torch spells differently).
struct TorchOp {
  std::string_view infix;  // "+", "-", "*", "/" or empty
  std::string_view call;   // e.g. "torch.log({0})"
  std::string_view helper; // the helper's name, defined in kHelpers
};

const std::map<Op, TorchOp>& op_table() {
  static const std::map<Op, TorchOp> table = {
      {Op::Add, {"+", "", ""}},
      {Op::Sub, {"-", "", ""}},
      {Op::Mul, {"*", "", ""}},
      {Op::Div, {"/", "", ""}},
      {Op::Pow, {"", "torch.pow({0}, {1})", ""}},
      {Op::Log, {"", "torch.log({0})", ""}},
      {Op::Exp, {"", "torch.exp({0})", ""}},
      {Op::Sqrt, {"", "torch.sqrt({0})", ""}},
      {Op::Abs, {"", "torch.abs({0})", ""}},
      {Op::Sign, {"", "_sign({0})", "_sign"}},      // sign(NaN) = 0
      {Op::Step, {"", "_step({0})", "_step"}},
      {Op::Sigmoid, {"", "torch.sigmoid({0})", ""}},
      {Op::Tanh, {"", "torch.tanh({0})", ""}},
      {Op::Relu, {"", "_relu({0})", "_relu"}},      // relu(NaN) = 0
      {Op::Softplus, {"", "torch.nn.functional.softplus({0})", ""}},
      {Op::Log1p, {"", "torch.log1p({0})", ""}},
      {Op::Expm1, {"", "torch.expm1({0})", ""}},
      {Op::Detach, {"", "({0}).detach()", ""}},
      {Op::Min, {"", "torch.fmin({0}, {1})", ""}},  // IEEE minNum, as the IR
      {Op::Max, {"", "torch.fmax({0}, {1})", ""}},
  };
  return table;
}

// Min/max with a constant operand: torch.fmin needs two tensors.
constexpr std::string_view kConstMinMax[2] = {"_fmin({0}, {1})", "_fmax({0}, {1})"};

const std::map<std::string_view, std::string_view>& helpers() {
  static const std::map<std::string_view, std::string_view> table = {
      {"_sign", "def _sign(x):\n    return (x > 0).to(x.dtype) - (x < 0).to(x.dtype)\n"},
      {"_step", "def _step(x):\n    return (x > 0).to(x.dtype)\n"},
      {"_relu", "def _relu(x):\n    return torch.where(x > 0, x, torch.zeros_like(x))\n"},
      {"_fmin",
       "def _fmin(a, b):\n"
       "    a = a if torch.is_tensor(a) else torch.full_like(b, a)\n"
       "    b = b if torch.is_tensor(b) else torch.full_like(a, b)\n"
       "    return torch.fmin(a, b)\n"},
      {"_qmax",
       "def _qmax(x):\n"
       "    # IEEE maxNum folded from -inf: NaNs are skipped unless all are.\n"
       "    if bool(torch.isnan(x).all()):\n"
       "        return torch.full((), float(\"nan\"), dtype=x.dtype, device=x.device)\n"
       "    return torch.where(torch.isnan(x), torch.full_like(x, float(\"-inf\")), x).max()\n"},
      {"_rank",
       "def _rank(x, like):\n"
       "    # 1 + the documents above: a higher value, or an equal one earlier in the list.\n"
       "    n = like.shape[0]\n"
       "    x = torch.as_tensor(x, dtype=like.dtype).expand(n)\n"
       "    earlier = torch.ones(n, n, dtype=torch.bool, device=like.device).tril(-1)  # [i, j]: j < i\n"
       "    above = (x[None, :] > x[:, None]) | ((x[None, :] == x[:, None]) & earlier)\n"
       "    return 1 + above.sum(dim=1).to(like.dtype)\n"},
      {"_scan",
       "def _scan(key, x, like, suffix):\n"
       "    # Sums of x in the order of key (highest first, ties to the earlier document,\n"
       "    # a NaN key last): at or above each document, or at or below it (suffix).\n"
       "    n = like.shape[0]\n"
       "    key = torch.as_tensor(key, dtype=like.dtype, device=like.device).expand(n)\n"
       "    x = torch.as_tensor(x, dtype=like.dtype, device=like.device).expand(n)\n"
       "    nan = torch.isnan(key)\n"
       "    order = torch.sort(torch.where(nan, torch.zeros_like(key), key), descending=True, stable=True).indices\n"
       "    order = order[torch.sort(nan[order].to(torch.int8), stable=True).indices]\n"
       "    ordered = x[order].flip(0) if suffix else x[order]\n"
       "    sums = torch.cumsum(ordered, 0).flip(0) if suffix else torch.cumsum(ordered, 0)\n"
       "    return torch.empty_like(sums).scatter(0, order, sums)\n"},
      {"_pairsum",
       "def _pairsum(c, e, like):\n"
       "    # Row i: the sum over the other documents j with c[i, j] > 0 of e[i, j].\n"
       "    n = like.shape[0]\n"
       "    c = torch.as_tensor(c, dtype=like.dtype).expand(n, n)\n"
       "    e = torch.as_tensor(e, dtype=like.dtype).expand(n, n)\n"
       "    keep = (c > 0) & ~torch.eye(n, dtype=torch.bool, device=like.device)\n"
       "    return torch.where(keep, e, torch.zeros_like(e)).sum(dim=1)\n"},
      {"_fmax",
       "def _fmax(a, b):\n"
       "    a = a if torch.is_tensor(a) else torch.full_like(b, a)\n"
       "    b = b if torch.is_tensor(b) else torch.full_like(a, b)\n"
       "    return torch.fmax(a, b)\n"},
  };
  return table;
}

bool is_python_keyword(std::string_view s) {
  static const std::set<std::string_view> keywords = {
      "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
      "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
      "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
      "return", "try", "while", "with", "yield", "match", "case", "type"};
  return keywords.count(s) > 0;
}

// Locals and helpers start with '_', the module is `torch`: an input named
// like one of them, or like a keyword, gets a trailing underscore.
std::string python_name(const std::string& input) {
  if (is_python_keyword(input) || input == "torch" || input.empty() || input[0] == '_')
    return input + "_";
  return input;
}

std::string python_number(double v) {
  if (std::isnan(v)) return "float(\"nan\")";
  if (std::isinf(v)) return v > 0 ? "float(\"inf\")" : "float(\"-inf\")";
  return format_number(v);
}

std::string_view domain_meaning(Domain d) {
  switch (d) {
    case Domain::Probability: return "a predicted probability in (0, 1)";
    case Domain::Binary: return "a label in {0, 1}";
    case Domain::Unit: return "a real number in [0, 1]";
    case Domain::Real: return "any real number";
    case Domain::Grade: return "a graded relevance label 0, 1, 2, ...";
  }
  return "";
}

std::string indent(const std::string& text, std::string_view prefix) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out += fmt::format("{}{}", prefix, std::string_view(text).substr(start, end - start));
    out += '\n';
    start = end + 1;
  }
  return out;
}

std::string docstring(const LossFunction& fn, const TorchEmitOptions& options,
                      const std::map<std::string, std::string>& renamed) {
  std::string out = fmt::format("{}: a loss written by `losscc --emit-torch`{}.\n\n",
                                options.function_name,
                                options.source_name.empty() ? "" : " from " + options.source_name);
  if (fn.grouped()) {
    out += fmt::format(
        "A ranking loss. Returns the {} over queries of the per-query loss below\n"
        "as a 0-dim tensor, in the inputs' dtype. The inputs are 1-D tensors of the\n"
        "documents of all queries; query q owns documents offsets[q] to\n"
        "offsets[q+1] - 1. The queries are looped over in Python and the pairs of\n"
        "one query are an [n, n] matrix: fine for checking and small lists, slow\n"
        "for many queries. Autograd gives the gradients.\n\n",
        fn.reduction == Reduction::Mean ? "mean" : "sum");
    if (fn.tasks() > 0)
      out += "A multi-task loss over a batch (it reads batch statistics): pass\n"
             "offsets [0, n], the batch as its one query.\n\n";
  } else {
    out += fmt::format(
        "Returns the {} over elements of the loss term below as a 0-dim tensor, in\n"
        "the inputs' dtype. The inputs are tensors of one shape (or shapes that\n"
        "broadcast); autograd gives the gradients.\n\n",
        fn.reduction == Reduction::Mean ? "mean" : "sum");
  }
  out += "Inputs, with the domains the loss is meant for and checked on:\n";
  for (const InputDecl& in : fn.inputs) {
    auto it = renamed.find(in.name);
    out += fmt::format("    {}: {}, role {}: {}{}\n", in.name, domain_name(in.domain), role_name(in.role),
                       domain_meaning(in.domain),
                       it == renamed.end() ? "" : fmt::format(" (argument `{}`)", it->second));
  }
  CheckReport report = check(fn);
  out += "\nDomain notes (losscc --check): ";
  if (report.valid) {
    out += fmt::format(
        "valid.\n"
        "The loss and its gradients are finite on {} points over these domains;\n"
        "the gradient has the expected sign on {:.0f}% of the direction checks.\n"
        "Outside the domains nothing is promised (log, division and sqrt may give\n"
        "inf or NaN).\n",
        report.grid_points, 100 * report.monotonic_fraction);
  } else {
    out += "invalid:\n";
    for (const std::string& reason : report.reasons) out += fmt::format("    - {}\n", reason);
  }
  out += "\nThe loss in .loss syntax, simplified:\n\n";
  out += indent(to_loss_source(fn), "    ");
  // Nothing in a .loss source can end the docstring, but keep it safe.
  size_t at;
  while ((at = out.find("\"\"\"")) != std::string::npos) out.replace(at, 3, "\"\" \"");
  while ((at = out.find('\\')) != std::string::npos) out.replace(at, 1, "/");
  return out;
}

class Emitter {
 public:
  explicit Emitter(const LossFunction& fn) : fn_(fn) {
    for (const InputDecl& in : fn.inputs) arg_name_[in.name] = python_name(in.name);
  }

  // Lines of the body (4-space indented) and its return statement: the
  // reduced loss, or for a ranking loss the per-query loss L_q.
  std::string body(std::set<std::string_view>& used_helpers) {
    const std::vector<const Node*> nodes = schedule({fn_.body});
    std::unordered_map<const Node*, int> uses;
    for (const Node* n : nodes)
      for (const Expr& a : n->args()) ++uses[a.get()];
    std::string lines;
    int temps = 0;
    for (const Node* n : nodes) {
      Fragment f = emit(n, used_helpers);
      int depth = 1;
      for (const Expr& a : n->args()) depth = std::max(depth, 1 + depth_[a.get()]);
      // A local for every shared node, and before the inline text nests too
      // deep for Python's parser.
      if (!n->is_const() && !n->is_input() && (uses[n] > 1 || depth >= kMaxInlineDepth)) {
        std::string name = fmt::format("_t{}", temps++);
        lines += fmt::format("    {} = {}\n", name, f.text);
        f = {name, kAtom};
        depth = 0;
      }
      depth_[n] = depth;
      frag_[n] = f;
    }
    const Fragment& result = frag_.at(fn_.body.get());
    std::string value = result.text;
    if (fn_.body->is_const())  // a loss that ignores its inputs
      value = fmt::format("torch.full_like({}, {})", first(), result.text);
    if (uses_count_)
      lines = fmt::format("    _count = torch.full((), {0}.shape[0], dtype={0}.dtype, device={0}.device)\n", first()) +
              lines;
    if (fn_.grouped())
      lines += fmt::format("    return {}\n", value);
    else
      lines += fmt::format("    return torch.{}({})\n", fn_.reduction == Reduction::Mean ? "mean" : "sum", value);
    return lines;
  }

  std::map<std::string, std::string> renamed() const {
    std::map<std::string, std::string> out;
    for (const auto& [name, arg] : arg_name_)
      if (name != arg) out[name] = arg;
    return out;
  }
  const std::string& arg(const std::string& name) const { return arg_name_.at(name); }
  const std::string& first() const {
    if (fn_.inputs.empty()) throw std::invalid_argument("--emit-torch: a loss with no inputs");
    return arg_name_.at(fn_.inputs[0].name);
  }

 private:
  static constexpr int kMaxInlineDepth = 24;

  Fragment emit(const Node* n, std::set<std::string_view>& used_helpers) {
    if (n->is_const()) {
      std::string s = python_number(n->value());
      return {s, s[0] == '-' ? kUnary : kAtom};
    }
    if (n->is_input()) return {arg_name_.at(n->name()), kAtom};
    if (op_info(n->op()).segmented) return emit_segmented(n, used_helpers);
    if (n->op() == Op::Neg) return {"-" + wrap(operand(n, 0), kUnary), kUnary};
    const TorchOp& op = op_table().at(n->op());
    if (!op.infix.empty()) {
      const int p = op.infix == "+" || op.infix == "-" ? kAdditive : kMultiplicative;
      return {fmt::format("{} {} {}", wrap(operand(n, 0), p), op.infix, wrap(operand(n, 1), p + 1)), p};
    }
    std::string_view call = op.call;
    if ((n->op() == Op::Min || n->op() == Op::Max) && (n->arg(0)->is_const() || n->arg(1)->is_const())) {
      call = kConstMinMax[n->op() == Op::Max];
      used_helpers.insert(n->op() == Op::Max ? "_fmax" : "_fmin");
    }
    if (!op.helper.empty()) used_helpers.insert(op.helper);
    const std::string a0 = operand(n, 0).text;
    const std::string a1 = n->args().size() > 1 ? operand(n, 1).text : "";
    return {fmt::format(fmt::runtime(call), a0, a1), kAtom};
  }

  // Ranking losses, one query at a time: a per-query value is a 0-dim
  // tensor (or a float), a per-document value a vector [n], a pair value a
  // matrix [n, n] whose row is document i and column the other document j.
  Fragment emit_segmented(const Node* n, std::set<std::string_view>& used_helpers) {
    const auto arg_level = [&](size_t k) { return n->arg(k)->level(); };
    switch (n->op()) {
      case Op::QCount:
        uses_count_ = true;
        return {"_count", kAtom};
      case Op::QSum:
        if (arg_level(0) == Level::Query) {
          uses_count_ = true;
          return {wrap(operand(n, 0), kMultiplicative) + " * _count", kMultiplicative};
        }
        return {fmt::format("torch.sum({})", operand(n, 0).text), kAtom};
      case Op::QMax:
        if (arg_level(0) == Level::Query) return operand(n, 0);
        used_helpers.insert("_qmax");
        return {fmt::format("_qmax({})", operand(n, 0).text), kAtom};
      case Op::Rank:
        used_helpers.insert("_rank");
        return {fmt::format("_rank({}, {})", operand(n, 0).text, first()), kAtom};
      case Op::Other:  // the value at the other document: a row vector
        if (arg_level(0) == Level::Query) return frag_.at(n->arg(0).get());
        return {wrap(frag_.at(n->arg(0).get()), kAtom) + "[None, :]", kAtom};
      case Op::PrefixSum:
      case Op::SuffixSum:
        used_helpers.insert("_scan");
        return {fmt::format("_scan({}, {}, {}, {})", operand(n, 0).text, operand(n, 1).text, first(),
                            n->op() == Op::SuffixSum ? "True" : "False"),
                kAtom};
      case Op::PairSum:
        used_helpers.insert("_pairsum");
        return {fmt::format("_pairsum({}, {}, {})", lifted(n->arg(0)).text, lifted(n->arg(1)).text, first()), kAtom};
      default: break;
    }
    throw std::logic_error("emit_torch: unknown segmented op");
  }

  // Operand k of n: a per-document value used at the pair level is the value
  // at document i, a column vector.
  Fragment operand(const Node* n, size_t k) {
    return n->level() == Level::Pair ? lifted(n->arg(k)) : frag_.at(n->arg(k).get());
  }
  Fragment lifted(const Expr& e) {
    const Fragment& f = frag_.at(e.get());
    if (e->level() != Level::Document) return f;
    return {wrap(f, kAtom) + "[:, None]", kAtom};
  }

  // Operands of an infix operator binding less tightly than `min` get parentheses.
  static std::string wrap(const Fragment& f, int min) {
    return f.precedence < min ? "(" + f.text + ")" : f.text;
  }

  const LossFunction& fn_;
  std::map<std::string, std::string> arg_name_;
  std::unordered_map<const Node*, Fragment> frag_;
  std::unordered_map<const Node*, int> depth_;
  bool uses_count_ = false;
};

}  // namespace

std::string python_function_name(const std::string& stem) {
  bool ok = !stem.empty() && !std::isdigit(static_cast<unsigned char>(stem[0])) && !is_python_keyword(stem) &&
            stem != "torch" && stem[0] != '_';
  for (char c : stem) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  return ok ? stem : "loss";
}

std::string emit_torch(const LossFunction& fn, const TorchEmitOptions& options) {
  Emitter emitter(fn);
  std::set<std::string_view> used;
  const std::string body = emitter.body(used);

  std::string out = "# Written by `losscc --emit-torch`: needs only PyTorch.\nimport torch\n\n";
  for (std::string_view h : used) out += fmt::format("\n{}\n", helpers().at(h));
  std::string params;
  for (const InputDecl& in : fn.inputs)
    params += fmt::format("{}{}: torch.Tensor", params.empty() ? "" : ", ", emitter.arg(in.name));
  out += fmt::format("\ndef {}({}{}) -> torch.Tensor:\n", options.function_name, params,
                     fn.grouped() ? ", offsets" : "");
  out += "    \"\"\"" + indent(docstring(fn, options, emitter.renamed()), "    ").substr(4);
  out += "    \"\"\"\n";
  if (!fn.grouped()) return out + body;
  // A ranking loss: the per-query loss, summed over the queries in Python.
  std::string slices;
  for (const InputDecl& in : fn.inputs) slices += fmt::format("{}{}[a:b]", slices.empty() ? "" : ", ", emitter.arg(in.name));
  out += "    offsets = [int(o) for o in offsets]\n";
  out += "    total = 0\n";
  out += "    for a, b in zip(offsets[:-1], offsets[1:]):\n";
  out += fmt::format("        total = total + _{}_query({})\n", options.function_name, slices);
  out += fn.reduction == Reduction::Mean ? "    return total / (len(offsets) - 1)\n" : "    return total\n";
  out += fmt::format("\n\ndef _{}_query({}) -> torch.Tensor:\n", options.function_name, params);
  out += "    \"\"\"The loss of one query: 1-D inputs holding its documents.\"\"\"\n";
  return out + body;
}

}  // namespace losscc::torch_codegen
