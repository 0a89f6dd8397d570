// The .loss parser: recursive descent over the token stream, calling one
// LossBuilder action per construct (see docs/LANGUAGE.md for the grammar).
//
// Recursion happens only where the text nests — parentheses and call
// arguments — and is capped at kMaxNesting; chains of unary minus and of `^`
// are parsed with loops, so no input can exhaust the stack.
#pragma once

#include <deque>
#include <string_view>

#include "compiler/language/lexer.h"
#include "compiler/language/lower.h"

namespace losscc {

class Parser {
 public:
  Parser(const SourceFile& source, LossBuilder& builder) : source_(source), lexer_(source), builder_(builder) {}

  // file := { statement terminator } expression { terminator } End
  LossFunction parse_file();

 private:
  // Statements.
  bool at_statement();
  void parse_statement();
  void parse_input();
  void parse_param();
  void parse_let();
  void parse_reduce();

  // Expressions, loosest first.
  Value parse_expression();  // term { ('+' | '-') term }
  Value parse_term();        // unary { ('*' | '/') unary }
  Value parse_unary();       // { '-' } power, where '-' NUMBER is a negative literal
  Value parse_power();       // primary [ '^' unary ], right-associative
  Value parse_primary();     // NUMBER | NAME | NAME '(' arguments ')' | '(' expression ')'
  Value parse_call(const Token& function);

  // Token stream.
  const Token& peek(size_t ahead = 0);
  bool at(TokenKind kind) { return peek().kind == kind; }
  bool accept(TokenKind kind);
  Token take();
  Token expect(TokenKind kind, std::string_view what);
  void skip_terminators();
  [[noreturn]] void fail_expected(std::string_view what);

  // Counts one level of nesting for as long as it lives.
  class NestingGuard {
   public:
    NestingGuard(Parser& parser, size_t offset);
    ~NestingGuard() { --parser_.nesting_; }
    NestingGuard(const NestingGuard&) = delete;
    NestingGuard& operator=(const NestingGuard&) = delete;

   private:
    Parser& parser_;
  };

  const SourceFile& source_;
  Lexer lexer_;
  LossBuilder& builder_;
  std::deque<Token> lookahead_;
  int nesting_ = 0;
};

}  // namespace losscc
