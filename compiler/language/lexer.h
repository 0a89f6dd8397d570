// The .loss lexer: bytes → tokens, one token at a time.
//
// Two rules beyond the obvious ones:
//  - A newline ends a statement, except inside parentheses, where it is
//    whitespace (so a long expression can wrap). The lexer tracks the
//    parenthesis depth and simply does not emit those newlines.
//  - Only ASCII is code. A comment may hold any valid UTF-8; anything else
//    (NUL, control bytes, malformed UTF-8, a non-ASCII character outside a
//    comment) is an error at its byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "compiler/language/source.h"

namespace losscc {

enum class TokenKind : uint8_t {
  End,         // end of file
  Newline,     // a newline outside parentheses
  Semicolon,   // ';'
  Identifier,  // [A-Za-z_][A-Za-z0-9_]*, not a keyword
  Number,      // 12  .5  2.  1e-6  3.5E+2
  // Keywords.
  Input,
  Param,
  Let,
  Reduce,
  As,
  // Punctuation.
  Plus,
  Minus,
  Star,
  Slash,
  Caret,
  LeftParen,
  RightParen,
  Comma,
  Colon,
  Equals,
};

struct Token {
  TokenKind kind = TokenKind::End;
  size_t offset = 0;      // of the first byte (End: just past the last token)
  std::string_view text;  // the bytes of the token, a view into the source
  double number = 0;      // Number only: the value, rounded to nearest
};

// How an error message names a token: "'let'", "'1e-6'", "end of line".
std::string describe(const Token& token);
// How an error message names a kind of token it wanted: "')'", "a name".
std::string_view describe(TokenKind kind);

class Lexer {
 public:
  explicit Lexer(const SourceFile& source) : source_(source), text_(source.text()) {}

  // The next token; End forever once the input is used up. Throws
  // CompileError on bytes that start no token.
  Token next();

 private:
  void skip_comment();
  Token lex_number();
  Token lex_word();
  Token make(TokenKind kind, size_t begin);
  [[noreturn]] void fail_at_byte(size_t offset) const;

  const SourceFile& source_;
  std::string_view text_;
  size_t pos_ = 0;
  int paren_depth_ = 0;
  // End of the last token, where End is placed: "expected ')', found end of
  // file" then points just past the text, not at trailing blank lines.
  size_t last_token_end_ = 0;
};

}  // namespace losscc
