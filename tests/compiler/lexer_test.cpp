// The .loss lexer: token kinds, number forms, implicit line joining inside
// parentheses, and the bytes it refuses.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "compiler/language/lexer.h"

namespace losscc {
namespace {

std::vector<Token> lex(const SourceFile& file) {
  Lexer lexer(file);
  std::vector<Token> tokens;
  do tokens.push_back(lexer.next());
  while (tokens.back().kind != TokenKind::End);
  return tokens;
}

std::vector<TokenKind> kinds(std::string_view text) {
  SourceFile file(text, "t.loss");
  std::vector<TokenKind> out;
  for (const Token& t : lex(file)) out.push_back(t.kind);
  return out;
}

double number(std::string_view text) {
  SourceFile file(text, "t.loss");
  std::vector<Token> tokens = lex(file);
  REQUIRE(tokens.size() == 2);
  REQUIRE(tokens[0].kind == TokenKind::Number);
  return tokens[0].number;
}

// The error the lexer reports on `text`, as "line:col: message".
std::string lex_error(std::string_view text) {
  SourceFile file(text, "t.loss");
  try {
    lex(file);
  } catch (const CompileError& e) {
    return std::to_string(e.location().line) + ":" + std::to_string(e.location().column) + ": " + e.message();
  }
  return "no error";
}

using K = TokenKind;

TEST_CASE("lexer: keywords, names and punctuation") {
  CHECK(kinds("input x: real as other") ==
        std::vector<K>{K::Input, K::Identifier, K::Colon, K::Identifier, K::As, K::Identifier, K::End});
  CHECK(kinds("param let reduce inputs _a1") ==
        std::vector<K>{K::Param, K::Let, K::Reduce, K::Identifier, K::Identifier, K::End});
  CHECK(kinds("+-*/^(),:=;") == std::vector<K>{K::Plus, K::Minus, K::Star, K::Slash, K::Caret, K::LeftParen,
                                               K::RightParen, K::Comma, K::Colon, K::Equals, K::Semicolon, K::End});
}

TEST_CASE("lexer: number forms") {
  CHECK(number("12") == 12);
  CHECK(number(".5") == 0.5);
  CHECK(number("2.") == 2);
  CHECK(number("1e-6") == 1e-6);
  CHECK(number("3.5E+2") == 350);
  CHECK(number("0.1") == 0.1);                     // correctly rounded
  CHECK(number("5e-324") == 4.9406564584124654e-324);  // the smallest denormal reads back
  CHECK(number("1.7976931348623157e308") == 1.7976931348623157e308);
}

TEST_CASE("lexer: newlines end statements only outside parentheses") {
  CHECK(kinds("a\nb") == std::vector<K>{K::Identifier, K::Newline, K::Identifier, K::End});
  CHECK(kinds("(a\n+ b)\nc") == std::vector<K>{K::LeftParen, K::Identifier, K::Plus, K::Identifier, K::RightParen,
                                               K::Newline, K::Identifier, K::End});
  CHECK(kinds("f(a,\n b)") ==
        std::vector<K>{K::Identifier, K::LeftParen, K::Identifier, K::Comma, K::Identifier, K::RightParen, K::End});
  // A stray ')' does not make the depth negative and swallow later newlines.
  CHECK(kinds(")\na") == std::vector<K>{K::RightParen, K::Newline, K::Identifier, K::End});
}

TEST_CASE("lexer: comments, blanks and CRLF") {
  CHECK(kinds("a # comment with UTF-8: γ → ∞\r\nb\t\f") ==
        std::vector<K>{K::Identifier, K::Newline, K::Identifier, K::End});
  CHECK(kinds("# only a comment") == std::vector<K>{K::End});
}

TEST_CASE("lexer: token text and offsets") {
  SourceFile file("let  x1 = 2.5", "t.loss");
  std::vector<Token> t = lex(file);
  REQUIRE(t.size() == 5);
  CHECK(t[1].text == "x1");
  CHECK(t[1].offset == 5);
  CHECK(t[3].text == "2.5");
  CHECK(t[4].offset == 13);
  CHECK(describe(t[0]) == "'let'");
  CHECK(describe(t[4]) == "end of file");
}

TEST_CASE("lexer: errors") {
  CHECK(lex_error("1e") == "1:1: malformed number '1e'");
  CHECK(lex_error("a + 2x") == "1:5: malformed number '2x'");
  CHECK(lex_error("1.2.3") == "1:1: malformed number '1.2.3'");
  CHECK(lex_error("\n 1e400") == "2:2: number '1e400' is out of the range of a double");
  CHECK(lex_error("1e-400") == "1:1: number '1e-400' is out of the range of a double");
  CHECK(lex_error("a $ b") == "1:3: unexpected character '$'");
  CHECK(lex_error(".") == "1:1: unexpected character '.'");
  CHECK(lex_error(std::string("a\0b", 3)) == "1:2: unexpected NUL byte");
  CHECK(lex_error(std::string("# a\0b", 5)) == "1:4: unexpected NUL byte");
  CHECK(lex_error("a\x07") == "1:2: unexpected control character 0x07");
  CHECK(lex_error("\xff") == "1:1: invalid UTF-8 byte 0xff");
  CHECK(lex_error("# \xc3") == "1:3: invalid UTF-8 byte 0xc3");          // truncated sequence
  CHECK(lex_error("# \xc0\xaf") == "1:3: invalid UTF-8 byte 0xc0");      // overlong '/'
  CHECK(lex_error("# \xed\xa0\x80") == "1:3: invalid UTF-8 byte 0xed");  // a surrogate
  CHECK(lex_error("γ") == "1:1: unexpected character 'γ' (only comments may hold non-ASCII text)");
}

}  // namespace
}  // namespace losscc
