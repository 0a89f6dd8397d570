// The .loss parser and lowering: every construct, the precedence table,
// params and overrides, errors (message, line and column), the round trip
// through the printer, and the example files.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "compiler/ir/print.h"
#include "compiler/language/parse.h"

namespace losscc {
namespace {

Expr body_of(std::string_view source, const ParamOverrides& overrides = {}) {
  return parse_loss(source, "t.loss", overrides).body;
}

// What parse_loss reports on `source`, as "line:col: message".
std::string error_of(std::string_view source, const ParamOverrides& overrides = {}) {
  try {
    parse_loss(source, "t.loss", overrides);
  } catch (const CompileError& e) {
    return std::to_string(e.location().line) + ":" + std::to_string(e.location().column) + ": " + e.message();
  }
  return "no error";
}

const Expr pred = input("pred");
const Expr label = input("label");
const Expr x = input("x");
const Expr y = input("y");
const Expr z = input("z");
constexpr const char* kXYZ = "input x: real; input y: real; input z: real\n";

TEST_CASE("parser: a bare expression is a whole file with the default inputs") {
  LossFunction fn = parse_loss("(pred - label)^2");
  CHECK(fn.body == pow(pred - label, 2));
  CHECK(fn.inputs == LossFunction::default_inputs());
  CHECK(fn.reduction == Reduction::Mean);
}

TEST_CASE("parser: precedence and associativity") {
  struct Case {
    const char* source;
    Expr expected;
  };
  const Case cases[] = {
      {"x + y * z", x + y * z},
      {"x * y + z", x * y + z},
      {"x - y - z", (x - y) - z},
      {"x / y / z", (x / y) / z},
      {"x - y + z", (x - y) + z},
      {"x * y / z", (x * y) / z},
      {"x - (y - z)", x - (y - z)},
      {"-x * y", (-x) * y},
      {"-x^2", -pow(x, 2)},
      {"(-x)^2", pow(-x, 2)},
      {"x^2^3", pow(x, 8)},          // right-associative: x^(2^3)
      {"x^-2", pow(x, -2)},
      {"x^(-1)", pow(x, -1)},
      {"x^(1/2)", pow(x, 0.5)},
      {"x^-2^2", pow(x, -4)},        // x^(-(2^2))
      {"x * -2", x * constant(-2)},  // a '-' on a literal is a negative literal
      {"x - -2", x - constant(-2)},
      {"-2", constant(-2)},
      {"--2", -constant(-2)},
      {"-(2)", -constant(2)},
      {"-2^2", -pow(constant(2), 2)},
      {"(-2)^2", pow(constant(-2), 2)},
      {"- 0", constant(-0.0)},
      {"--x", -(-x)},
      {"2 * x^3 + 1", 2.0 * pow(x, 3) + 1.0},
      {"log(x) * exp(-y)", log(x) * exp(-y)},
      {"min(x, y) - max(y, z)", min(x, y) - max(y, z)},
  };
  for (const Case& c : cases) {
    CAPTURE(c.source);
    CHECK(body_of(std::string(kXYZ) + c.source) == c.expected);
  }
}

TEST_CASE("parser: every function of the table") {
  struct Case {
    const char* source;
    Expr expected;
  };
  const Case cases[] = {
      {"log(x)", log(x)},
      {"exp(x)", exp(x)},
      {"sqrt(x)", sqrt(x)},
      {"abs(x)", abs(x)},
      {"sign(x)", sign(x)},
      {"step(x)", step(x)},
      {"sigmoid(x)", sigmoid(x)},
      {"tanh(x)", tanh(x)},
      {"relu(x)", relu(x)},
      {"softplus(x)", softplus(x)},
      {"log1p(x)", log1p(x)},
      {"expm1(x)", expm1(x)},
      {"min(x, y)", min(x, y)},
      {"max(x, y)", max(x, y)},
      {"square(x)", square(x)},
      {"reciprocal(x)", reciprocal(x)},
      {"clamp(x, y, z)", clamp(x, y, z)},
      {"guarded_log(x)", guarded_log(x, 1e-6)},
      {"guarded_log(x, 0.5)", guarded_log(x, 0.5)},
      {"guarded_reciprocal(x)", guarded_reciprocal(x, 1e-6)},
      {"guarded_reciprocal(x, 1/4)", guarded_reciprocal(x, 0.25)},
  };
  for (const Case& c : cases) {
    CAPTURE(c.source);
    CHECK(body_of(std::string(kXYZ) + c.source) == c.expected);
  }
}

TEST_CASE("parser: the result is not simplified") {
  CHECK(body_of("pred * 1 + 0") == (pred * 1.0) + 0.0);
  CHECK(body_of("1 / 2") == constant(1) / constant(2));
  CHECK(body_of("pred - pred") == pred - pred);
}

TEST_CASE("parser: params, their defaults and -D overrides") {
  const char* source = "param gamma = 2\nparam shift = -0.5\nparam w = +3\n(1 - pred)^gamma * pred + shift * w";
  CHECK(body_of(source) == pow(1.0 - pred, 2) * pred + constant(-0.5) * constant(3));
  CHECK(body_of(source, {{"gamma", 3}, {"w", 1e-3}}) == pow(1.0 - pred, 3) * pred + constant(-0.5) * constant(1e-3));
  // A param is a constant: it may be an exponent or the eps of a guarded op,
  // alone or in a constant expression.
  CHECK(body_of("param k = 3\npred^(k - 1) + guarded_log(pred, k / 1000)") ==
        pow(pred, 2) + guarded_log(pred, 0.003));
}

TEST_CASE("parser: a let names one node; every use is that node") {
  LossFunction fn = parse_loss("let d = pred - label\nlet s = d * d\ns + d");
  Expr d = pred - label;
  CHECK(fn.body == (d * d) + d);
  CHECK(fn.body->arg(0)->arg(0).same_as(fn.body->arg(1)));
  CHECK(fn.body->arg(0)->arg(1).same_as(fn.body->arg(1)));
}

TEST_CASE("parser: inputs, domains, roles and defaults") {
  LossFunction fn = parse_loss(
      "input pos: real\ninput neg: real\ninput w: unit as other\ninput t: prob as pred\n"
      "w * softplus(neg - pos) + t");
  REQUIRE(fn.inputs.size() == 4);
  CHECK(fn.inputs[0].name == "pos");
  CHECK(fn.inputs[0].role == Role::Positive);
  CHECK(fn.inputs[1].role == Role::Negative);
  CHECK(fn.inputs[2].domain == Domain::Unit);
  CHECK(fn.inputs[2].role == Role::Other);
  CHECK(fn.inputs[3].domain == Domain::Probability);
  CHECK(fn.inputs[3].role == Role::Prediction);
  CHECK(fn.body == input("w") * softplus(input("neg") - input("pos")) + input("t"));

  // Declaring any input removes the implicit pred and label.
  CHECK(error_of("input score: real\nscore - label") == "2:9: unknown name 'label'");
  // An unused declared input still exists, in declaration order.
  fn = parse_loss("input a: binary\ninput b: real\nb");
  REQUIRE(fn.inputs.size() == 2);
  CHECK(fn.inputs[0].name == "a");
}

TEST_CASE("parser: reductions") {
  CHECK(parse_loss("pred").reduction == Reduction::Mean);
  CHECK(parse_loss("reduce sum\npred").reduction == Reduction::Sum);
  CHECK(parse_loss("reduce mean; pred").reduction == Reduction::Mean);
}

TEST_CASE("parser: comments, separators, blank lines and wrapping in parentheses") {
  const char* source =
      "# a comment line\n"
      "\n"
      "param a = 2 ; let b = pred * a  # trailing comment\n"
      ";;\n"
      "log(b +\n"
      "    # a comment inside parentheses\n"
      "    label,\n"  // wraps inside a call too
      ")\n";
  CHECK(error_of(source) == "8:1: expected an expression, found ')'");  // `label,` then `)`: an empty argument
  CHECK(body_of("param a = 2 ; let b = pred * a\nlog(b +\n  label)\n\n") == log(pred * constant(2) + label));
  CHECK(body_of("max(pred,\n    label)") == max(pred, label));
  CHECK(body_of("\r\n(pred\r\n - label)\r\n") == pred - label);
}

TEST_CASE("parser: errors say where and what was expected") {
  struct Case {
    const char* source;
    const char* error;
  };
  const Case cases[] = {
      // Structure.
      {"", "1:1: expected the loss expression, found end of file"},
      {"# nothing\n\n", "1:1: expected the loss expression, found end of file"},
      {"param a = 1\n\n", "1:12: expected the loss expression, found end of file"},
      {"param a = 1", "1:12: expected the loss expression, found end of file"},
      {"pred label", "1:6: expected an operator or end of line, found 'label'"},
      {"pred\nlabel", "2:1: expected end of file after the loss expression, found 'label'"},
      {"pred\nlet a = 1",
       "2:1: expected end of file after the loss expression (statements come before it), found 'let'"},
      {"pred)", "1:5: unmatched ')'"},
      {"(pred + 1", "1:10: expected ')' to close '(' at 1:1, found end of file"},
      {"let a = (pred\nlet b = 1\na", "2:1: expected ')' to close '(' at 1:9, found 'let'"},
      {"log(pred label)", "1:10: expected ',' or ')' to close '(' at 1:4, found 'label'"},
      {"pred +", "1:7: expected an expression, found end of file"},
      {"pred +\nlabel", "1:7: expected an expression, found end of line"},
      {"pred * let", "1:8: expected an expression, found 'let'"},
      {"let a = 1 let b = 2\na", "1:11: expected end of statement (a newline or ';'), found 'let'"},
      {"+pred", "1:1: expected an expression, found '+'"},
      // Statements.
      {"input : real\n1", "1:7: expected a name after 'input', found ':'"},
      {"input x real\nx", "1:9: expected ':' after the input name, found 'real'"},
      {"input x: float\nx", "1:10: unknown domain 'float': expected prob, binary, unit, real or grade"},
      {"input x: real as boss\nx", "1:18: unknown role 'boss': expected pred, label, pos, neg or other"},
      {"param = 1\n1", "1:7: expected a name after 'param', found '='"},
      {"param a 1\na", "1:9: expected '=' after the param name, found '1'"},
      {"param a = pred\na", "1:11: expected a number (the param's default value), found 'pred'"},
      {"param a = --1\na", "1:12: expected a number (the param's default value), found '-'"},
      {"let = 1\n1", "1:5: expected a name after 'let', found '='"},
      {"reduce max\npred", "1:8: unknown reduction 'max': expected mean or sum"},
      {"reduce sum\nreduce mean\npred", "2:1: the reduction is already set at 1:1"},
      // Names.
      {"lable * pred", "1:1: unknown name 'lable' (did you mean 'label'?)"},
      {"pred * qqqq", "1:8: unknown name 'qqqq'"},
      {"let a = 1\nlet a = 2\na", "2:5: 'a' is already defined at 1:5 (as a let binding)"},
      {"param a = 1\nlet a = 2\na", "2:5: 'a' is already defined at 1:7 (as a param)"},
      {"input x: real\ninput x: prob\nx", "2:7: 'x' is already defined at 1:7 (as an input)"},
      {"let pred = 1\npred",
       "1:5: 'pred' is already defined as an implicit input (a file that declares no inputs has pred and label)"},
      {"let log = pred\nlog", "1:5: 'log' is a built-in function and cannot be redefined"},
      {"let a = pred\ninput x: real\nx",
       "2:7: input declarations must come before the inputs are used (an implicit input is used at 1:9)"},
      {"log + 1", "1:1: 'log' is a function; call it as log(...)"},
      // Calls.
      {"lgo(pred)", "1:1: unknown function 'lgo' (did you mean 'log'?)"},
      {"frobnicate(pred)", "1:1: unknown function 'frobnicate'"},
      {"pred(1)", "1:1: 'pred' is an input, not a function"},
      {"param k = 1\nk(pred)", "2:1: 'k' is a param, not a function"},
      {"log(pred, label)", "1:1: 'log' takes 1 argument, found 2 (usage: log(x))"},
      {"max(pred)", "1:1: 'max' takes 2 arguments, found 1 (usage: max(x, y))"},
      {"clamp(pred, 0)", "1:1: 'clamp' takes 3 arguments, found 2 (usage: clamp(x, lo, hi))"},
      {"guarded_log()", "1:1: 'guarded_log' takes 1 to 2 arguments, found 0 (usage: guarded_log(x, eps = 1e-6))"},
      {"guarded_log(pred, label)",
       "1:19: argument 2 of 'guarded_log' must be a constant, but 'label' is an input"},
      // Exponents.
      {"pred^label", "1:6: the exponent of '^' must be a constant, but 'label' is an input"},
      {"pred^(2 * label + 1)", "1:11: the exponent of '^' must be a constant, but 'label' is an input"},
      {"let k = 2\npred^k", "2:6: the exponent of '^' must be a constant, but 'k' is a let binding"},
      {"pred^log(2)", "1:6: the exponent of '^' must be a constant, but log(...) is a function call"},
      {"pred^2^label", "1:8: the exponent of '^' must be a constant, but 'label' is an input"},
      // Overrides.
      {"param gamma = 2\npred^gamma", "1:1: -D gama: the file declares no param 'gama' (did you mean 'gamma'?)"},
      {"pred", "1:1: -D gama: the file declares no param 'gama' (it declares none)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.source);
    bool wants_override = std::string(c.error).find("-D gama") != std::string::npos;
    ParamOverrides overrides;
    if (wants_override) overrides["gama"] = 1;
    CHECK(error_of(c.source, overrides) == c.error);
  }
  CHECK(error_of("param g = 1\npred^g", {{"g", INFINITY}}) == "1:7: -D g=inf: a param must be a finite number");
}

TEST_CASE("parser: a rendered error shows the line and a caret under the column") {
  try {
    parse_loss("param gamma = 2\n\tlet p = (pred * 2\n", "focal.loss");
    FAIL("no error");
  } catch (const CompileError& e) {
    // End of file is placed just past the last token, not on the blank line after it.
    CHECK(std::string(e.what()) == "focal.loss:2:19: error: expected ')' to close '(' at 2:10, found end of file");
    CHECK(e.location().file == "focal.loss");
    CHECK(e.render() ==
          "focal.loss:2:19: error: expected ')' to close '(' at 2:10, found end of file\n"
          "  \tlet p = (pred * 2\n"
          "  \t                 ^\n");
  }
  try {
    parse_loss("param gamma = 2\n\tlet p = gama * pred\np", "focal.loss");
    FAIL("no error");
  } catch (const CompileError& e) {
    CHECK(e.render() ==
          "focal.loss:2:10: error: unknown name 'gama' (did you mean 'gamma'?)\n"
          "  \tlet p = gama * pred\n"
          "  \t        ^\n");
  }
}

TEST_CASE("parser: a rendered error clips a very long line around the column") {
  std::string line = std::string(500000, ' ') + "pred + $" + std::string(500000, ' ');
  try {
    parse_loss(line);
    FAIL("no error");
  } catch (const CompileError& e) {
    CHECK(e.location().column == 500008);
    std::string rendered = e.render();
    CHECK(rendered.size() < 400);
    CHECK(rendered.find("...") != std::string::npos);
    // The caret still sits under the '$'.
    size_t source_line = rendered.find('\n') + 1;
    size_t caret_line = rendered.find('\n', source_line) + 1;
    CHECK(rendered[source_line + (rendered.find('^', caret_line) - caret_line)] == '$');
  }
}

TEST_CASE("parser: parse_loss_file names a file it cannot read") {
  try {
    parse_loss_file("/nonexistent/x.loss");
    FAIL("no error");
  } catch (const CompileError& e) {
    CHECK(e.location().file == "/nonexistent/x.loss");
    CHECK(e.location().line == 0);
    CHECK(e.render() == "/nonexistent/x.loss: error: cannot read file: No such file or directory\n");
  }
  CHECK_THROWS_AS(parse_loss_file(LOSSCC_SOURCE_DIR "/examples"), CompileError);  // a folder
}

TEST_CASE("parser: depth limits turn stack-deep inputs into errors") {
  std::string parens = std::string(kMaxNesting, '(') + "pred" + std::string(kMaxNesting, ')');
  CHECK(body_of(parens) == pred);
  CHECK(error_of("(" + parens + ")") == "1:257: expression nests too deeply: more than 256 levels of parentheses and calls");
  std::string calls;
  for (int i = 0; i < 1000; ++i) calls += "log(";
  CHECK(error_of(calls).find("nests too deeply") != std::string::npos);

  // Chains that need no parentheses still build deep IR; it is capped too.
  std::string sum = "pred";
  for (int i = 1; i < kMaxDepth; ++i) sum += " + pred";
  CHECK(error_of(sum) == "no error");
  CHECK(error_of(sum + " + pred").find("expression is too deep: more than 256 levels") != std::string::npos);
  CHECK(error_of(std::string(100000, '-') + "pred").find("too deep") != std::string::npos);
  std::string tower = "pred";
  for (int i = 0; i < 100000; ++i) tower += "^2";
  CHECK(body_of(tower) == pow(pred, INFINITY));  // the exponent folds: 2^2^...^2 overflows
  std::string lets = "let a0 = pred\n";
  for (int i = 1; i < 1000; ++i) lets += "let a" + std::to_string(i) + " = -a" + std::to_string(i - 1) + "\n";
  CHECK(error_of(lets + "a999").find("too deep") != std::string::npos);
}

// ---- round trip ----------------------------------------------------------

// Random LossFunctions with finite constants: every op, negative and
// fractional exponents, negated constants, shared subexpressions (so the
// printer emits lets), and inputs with non-default domains and roles.
class RandomLoss {
 public:
  explicit RandomLoss(uint32_t seed) : rng_(seed) {}

  LossFunction make() {
    LossFunction fn;
    if (pick(3) == 0) {
      fn.inputs = LossFunction::default_inputs();
    } else {
      int n = 1 + pick(4);
      const char* names[] = {"pred", "label", "pos", "neg", "w", "score"};
      for (int i = 0; i < n; ++i) {
        InputDecl in{names[(i + pick(2)) % 6], static_cast<Domain>(pick(4)), Role::Other};
        if (fn.find_input(in.name)) continue;
        in.role = pick(2) ? default_role(in.name) : static_cast<Role>(pick(5));
        fn.inputs.push_back(in);
      }
    }
    fn.reduction = pick(2) ? Reduction::Mean : Reduction::Sum;
    leaves_.clear();
    shared_.clear();
    for (const InputDecl& in : fn.inputs) leaves_.push_back(input(in.name));
    fn.body = expr(1 + pick(6));
    return fn;
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  double number() {
    constexpr double kValues[] = {0, 1, 2, 0.5, -1, -2.5, 1e-6, 3e20, -0.0, 0.1, 1.0 / 3, 4.9e-324, 1.7976931348623157e308};
    return kValues[pick(13)];
  }

  Expr expr(int depth) {
    if (depth == 0 || pick(5) == 0) {
      if (!shared_.empty() && pick(3) == 0) return shared_[pick(static_cast<int>(shared_.size()))];
      return pick(3) ? leaves_[pick(static_cast<int>(leaves_.size()))] : constant(number());
    }
    Expr e;
    Op op = static_cast<Op>(2 + pick(kNumElementwiseOps - 2));  // ranking ops: ranking_test.cpp
    if (op == Op::Pow) {
      e = pow(expr(depth - 1), number());
    } else {
      std::vector<Expr> args;
      for (int i = 0; i < op_info(op).arity; ++i) args.push_back(expr(depth - 1));
      e = Expr::make(op, std::move(args));
    }
    if (pick(4) == 0) shared_.push_back(e);
    return e;
  }

  std::mt19937 rng_;
  std::vector<Expr> leaves_;
  std::vector<Expr> shared_;
};

void check_round_trip(const LossFunction& fn) {
  std::string text = to_loss_source(fn);
  CAPTURE(text);
  LossFunction back = parse_loss(text);
  CHECK(back.body.same_as(fn.body));
  CHECK(back.reduction == fn.reduction);
  REQUIRE(back.inputs.size() == fn.inputs.size());
  for (size_t i = 0; i < fn.inputs.size(); ++i) {
    CHECK(back.inputs[i].name == fn.inputs[i].name);
    CHECK(back.inputs[i].domain == fn.inputs[i].domain);
    CHECK(back.inputs[i].role == fn.inputs[i].role);
  }
}

TEST_CASE("parser: printing and parsing again gives the same nodes") {
  RandomLoss random(20240611);
  for (int i = 0; i < 2000; ++i) check_round_trip(random.make());

  // Shapes the printer treats specially.
  LossFunction fn;
  fn.inputs = LossFunction::default_inputs();
  const Expr special[] = {
      -constant(2),         -constant(-2),          -(-constant(0.5)),     pow(constant(-2), 2),
      pow(-pred, -0.5),     pow(pow(pred, 2), 3),   pred * constant(-2),   pred - constant(-1e-6),
      constant(-0.0) - pred, -pow(pred, 2),          pow(pred, INFINITY),   pow(pred, -INFINITY),
      pow(pred, NAN),       guarded_log(pred, 1e-6), clamp(pred, constant(1e-6), constant(1 - 1e-6)),
  };
  for (const Expr& e : special) {
    fn.body = e;
    check_round_trip(fn);
  }
}

TEST_CASE("parser: a loss at the depth limit prints and reads back") {
  LossFunction fn;
  fn.inputs = LossFunction::default_inputs();
  // Each of these nests one level of parentheses per level of IR.
  Expr right_nested = pred, negations = constant(2), towers = pred;
  for (int i = 1; i < kMaxDepth; ++i) {
    right_nested = label - right_nested;
    negations = -negations;
    towers = pow(towers, INFINITY);
  }
  for (const Expr& e : {right_nested, negations, towers}) {
    fn.body = e;
    check_round_trip(fn);
  }
}

TEST_CASE("parser: every example parses") {
  namespace fs = std::filesystem;
  int count = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(LOSSCC_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() != ".loss") continue;
    CAPTURE(entry.path().string());
    LossFunction fn = parse_loss_file(entry.path().string());
    CHECK(fn.body);
    check_round_trip(fn);
    ++count;
  }
  CHECK(count >= 8);

  std::string dir = LOSSCC_SOURCE_DIR "/examples/";
  CHECK(parse_loss_file(dir + "mse.loss").body == pow(pred - label, 2));
  CHECK(parse_loss_file(dir + "focal.loss", {{"gamma", 0}}).body ==
        -(label * pow(1.0 - pred, 0) * log(pred) + (1.0 - label) * pow(pred, 0) * log(1.0 - pred)));
  LossFunction bpr = parse_loss_file(dir + "bpr.loss");
  REQUIRE(bpr.inputs.size() == 2);
  CHECK(bpr.inputs[0].role == Role::Positive);
  CHECK(bpr.inputs[1].role == Role::Negative);
  CHECK(bpr.body == softplus(input("neg") - input("pos")));
}

}  // namespace
}  // namespace losscc
