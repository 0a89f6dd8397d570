#include "compiler/language/parser.h"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace losscc {

namespace {

struct BinaryOperator {
  TokenKind token;
  Op op;
};
constexpr std::array<BinaryOperator, 2> kSumOperators = {{{TokenKind::Plus, Op::Add}, {TokenKind::Minus, Op::Sub}}};
constexpr std::array<BinaryOperator, 2> kProductOperators = {
    {{TokenKind::Star, Op::Mul}, {TokenKind::Slash, Op::Div}}};

template <size_t N>
const BinaryOperator* find_operator(const std::array<BinaryOperator, N>& table, TokenKind kind) {
  for (const BinaryOperator& b : table)
    if (b.token == kind) return &b;
  return nullptr;
}

constexpr std::array<Reduction, 2> kReductions = {Reduction::Mean, Reduction::Sum};

}  // namespace

// ---- token stream ----------------------------------------------------------

const Token& Parser::peek(size_t ahead) {
  // std::deque keeps references valid across push_back.
  while (lookahead_.size() <= ahead) lookahead_.push_back(lexer_.next());
  return lookahead_[ahead];
}

Token Parser::take() {
  Token t = peek();
  lookahead_.pop_front();
  return t;
}

bool Parser::accept(TokenKind kind) {
  if (!at(kind)) return false;
  take();
  return true;
}

Token Parser::expect(TokenKind kind, std::string_view what) {
  if (!at(kind)) fail_expected(what);
  return take();
}

void Parser::fail_expected(std::string_view what) {
  Token found = peek();
  throw source_.error(found.offset, fmt::format("expected {}, found {}", what, describe(found)));
}

void Parser::skip_terminators() {
  while (accept(TokenKind::Newline) || accept(TokenKind::Semicolon)) {
  }
}

Parser::NestingGuard::NestingGuard(Parser& parser, size_t offset) : parser_(parser) {
  if (parser_.nesting_ >= kMaxNesting)
    throw parser_.source_.error(
        offset, fmt::format("expression nests too deeply: more than {} levels of parentheses and calls", kMaxNesting));
  ++parser_.nesting_;
}

// ---- file and statements ---------------------------------------------------

LossFunction Parser::parse_file() {
  skip_terminators();
  while (at_statement()) {
    parse_statement();
    if (!at(TokenKind::End) && !accept(TokenKind::Newline) && !accept(TokenKind::Semicolon))
      fail_expected("end of statement (a newline or ';')");
    skip_terminators();
  }
  if (at(TokenKind::End)) fail_expected("the loss expression");
  const size_t body_at = peek().offset;
  Value body = parse_expression();
  if (!at(TokenKind::End) && !at(TokenKind::Newline) && !at(TokenKind::Semicolon)) {
    if (at(TokenKind::RightParen)) throw source_.error(peek().offset, "unmatched ')'");
    fail_expected("an operator or end of line");
  }
  skip_terminators();
  if (!at(TokenKind::End)) {
    if (at_statement()) fail_expected("end of file after the loss expression (statements come before it)");
    fail_expected("end of file after the loss expression");
  }
  return builder_.finish(std::move(body), body_at);
}

bool Parser::at_statement() {
  switch (peek().kind) {
    case TokenKind::Input:
    case TokenKind::Param:
    case TokenKind::Let:
    case TokenKind::Reduce:
      return true;
    default:
      return false;
  }
}

void Parser::parse_statement() {
  switch (peek().kind) {
    case TokenKind::Input: return parse_input();
    case TokenKind::Param: return parse_param();
    case TokenKind::Let: return parse_let();
    case TokenKind::Reduce: return parse_reduce();
    default: fail_expected("a statement");
  }
}

// input NAME ':' DOMAIN [ 'as' ROLE ]
void Parser::parse_input() {
  take();
  Token name = expect(TokenKind::Identifier, "a name after 'input'");
  expect(TokenKind::Colon, "':' after the input name");
  Token domain_token = expect(TokenKind::Identifier, "a domain (prob, binary, unit, real or grade)");
  std::optional<Domain> domain = domain_by_name(domain_token.text);
  if (!domain)
    throw source_.error(domain_token.offset,
                        fmt::format("unknown domain {}: expected prob, binary, unit, real or grade", describe(domain_token)));
  Role role = default_role(name.text);
  if (accept(TokenKind::As)) {
    Token role_token = expect(TokenKind::Identifier, "a role (pred, label, pos, neg or other)");
    std::optional<Role> named = role_by_name(role_token.text);
    if (!named)
      throw source_.error(role_token.offset, fmt::format("unknown role {}: expected pred, label, pos, neg or other",
                                                         describe(role_token)));
    role = *named;
  }
  builder_.declare_input(name, *domain, role);
}

// param NAME '=' [ '+' | '-' ] NUMBER
void Parser::parse_param() {
  take();
  Token name = expect(TokenKind::Identifier, "a name after 'param'");
  expect(TokenKind::Equals, "'=' after the param name");
  double sign = 1;
  if (accept(TokenKind::Minus))
    sign = -1;
  else
    accept(TokenKind::Plus);
  Token value = expect(TokenKind::Number, "a number (the param's default value)");
  builder_.declare_param(name, sign * value.number);
}

// let NAME '=' expression
void Parser::parse_let() {
  take();
  Token name = expect(TokenKind::Identifier, "a name after 'let'");
  expect(TokenKind::Equals, "'=' after the let name");
  builder_.define_let(name, parse_expression());
}

// reduce ( mean | sum )
void Parser::parse_reduce() {
  Token keyword = take();
  Token which = expect(TokenKind::Identifier, "mean or sum after 'reduce'");
  for (Reduction r : kReductions) {
    if (reduction_name(r) != which.text) continue;
    builder_.set_reduction(r, keyword.offset);
    return;
  }
  throw source_.error(which.offset, fmt::format("unknown reduction {}: expected mean or sum", describe(which)));
}

// ---- expressions -----------------------------------------------------------

Value Parser::parse_expression() {
  Value lhs = parse_term();
  while (const BinaryOperator* b = find_operator(kSumOperators, peek().kind)) {
    size_t offset = take().offset;
    lhs = builder_.binary(b->op, std::move(lhs), parse_term(), offset);
  }
  return lhs;
}

Value Parser::parse_term() {
  Value lhs = parse_unary();
  while (const BinaryOperator* b = find_operator(kProductOperators, peek().kind)) {
    size_t offset = take().offset;
    lhs = builder_.binary(b->op, std::move(lhs), parse_unary(), offset);
  }
  return lhs;
}

// unary := { '-' } primary [ '^' unary ]
//
// Unary minus binds looser than '^' (-x^2 is -(x^2)), and '^' is
// right-associative with a unary exponent (x^-2, 2^3^2 = 2^9). Written as a
// loop over the chain `-a ^ -b ^ c` and folded from the right, so a long
// chain costs no stack. A '-' directly before a number that is not itself a
// base of '^' makes a negative literal: `x * -2` is x * Const(-2).
Value Parser::parse_unary() {
  struct Link {
    std::vector<size_t> minuses;
    Value operand;
    size_t caret = 0;  // the '^' after the operand, when there is one
  };
  std::vector<Link> chain;
  for (;;) {
    Link link;
    while (at(TokenKind::Minus)) link.minuses.push_back(take().offset);
    if (!link.minuses.empty() && at(TokenKind::Number) && peek(1).kind != TokenKind::Caret) {
      Token literal = take();
      link.operand = builder_.number(-literal.number, link.minuses.back());
      link.minuses.pop_back();
    } else {
      link.operand = parse_primary();
    }
    bool more = at(TokenKind::Caret);
    if (more) link.caret = take().offset;
    chain.push_back(std::move(link));
    if (!more) break;
  }
  Value result;
  for (auto link = chain.rbegin(); link != chain.rend(); ++link) {
    Value v = std::move(link->operand);
    if (link != chain.rbegin()) v = builder_.power(std::move(v), std::move(result), link->caret);
    for (auto minus = link->minuses.rbegin(); minus != link->minuses.rend(); ++minus)
      v = builder_.negate(std::move(v), *minus);
    result = std::move(v);
  }
  return result;
}

Value Parser::parse_primary() {
  Token t = peek();
  switch (t.kind) {
    case TokenKind::Number:
      take();
      return builder_.number(t.number, t.offset);
    case TokenKind::Identifier:
      take();
      if (at(TokenKind::LeftParen)) return parse_call(t);
      return builder_.name(t);
    case TokenKind::LeftParen: {
      take();
      NestingGuard guard(*this, t.offset);
      Value inner = parse_expression();
      if (!accept(TokenKind::RightParen))
        fail_expected(fmt::format("')' to close '(' at {}", source_.position(t.offset)));
      return inner;
    }
    default:
      fail_expected("an expression");
  }
}

// NAME '(' [ expression { ',' expression } ] ')'
Value Parser::parse_call(const Token& function) {
  Token open = take();
  NestingGuard guard(*this, open.offset);
  std::vector<Value> arguments;
  if (!at(TokenKind::RightParen)) {
    do arguments.push_back(parse_expression());
    while (accept(TokenKind::Comma));
  }
  if (!accept(TokenKind::RightParen))
    fail_expected(fmt::format("',' or ')' to close '(' at {}", source_.position(open.offset)));
  return builder_.call(function, std::move(arguments));
}

}  // namespace losscc
