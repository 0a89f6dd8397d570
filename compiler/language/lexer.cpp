#include "compiler/language/lexer.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <system_error>
#include <utility>

namespace losscc {

namespace {

constexpr std::array<std::pair<std::string_view, TokenKind>, 5> kKeywords = {{
    {"input", TokenKind::Input},
    {"param", TokenKind::Param},
    {"let", TokenKind::Let},
    {"reduce", TokenKind::Reduce},
    {"as", TokenKind::As},
}};

struct Punctuation {
  char spelling;
  TokenKind kind;
  std::string_view quoted;  // how messages name it
};
constexpr std::array<Punctuation, 11> kPunctuation = {{
    {'+', TokenKind::Plus, "'+'"},
    {'-', TokenKind::Minus, "'-'"},
    {'*', TokenKind::Star, "'*'"},
    {'/', TokenKind::Slash, "'/'"},
    {'^', TokenKind::Caret, "'^'"},
    {'(', TokenKind::LeftParen, "'('"},
    {')', TokenKind::RightParen, "')'"},
    {',', TokenKind::Comma, "','"},
    {':', TokenKind::Colon, "':'"},
    {'=', TokenKind::Equals, "'='"},
    {';', TokenKind::Semicolon, "';'"},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_word_char(char c) { return is_word_start(c) || is_digit(c); }
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 when it
// is malformed (bad lead byte, truncated, overlong, surrogate, > U+10FFFF).
size_t utf8_sequence_length(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length;
  uint32_t code_point;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, code_point = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3f);
  }
  constexpr uint32_t kSmallestOfLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kSmallestOfLength[length]) return 0;             // overlong
  if (code_point >= 0xd800 && code_point <= 0xdfff) return 0;      // surrogate
  if (code_point > 0x10ffff) return 0;
  return length;
}

}  // namespace

std::string_view describe(TokenKind kind) {
  switch (kind) {
    case TokenKind::End: return "end of file";
    case TokenKind::Newline: return "end of line";
    case TokenKind::Identifier: return "a name";
    case TokenKind::Number: return "a number";
    default: break;
  }
  for (const auto& [word, k] : kKeywords)
    if (k == kind) return word;
  for (const Punctuation& p : kPunctuation)
    if (p.kind == kind) return p.quoted;
  return "a token";
}

std::string describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::End:
    case TokenKind::Newline:
      return std::string(describe(token.kind));
    default:
      break;
  }
  constexpr size_t kLongest = 32;
  if (token.text.size() > kLongest) return fmt::format("'{}...'", token.text.substr(0, kLongest));
  return fmt::format("'{}'", token.text);
}

Token Lexer::make(TokenKind kind, size_t begin) {
  if (kind != TokenKind::Newline) last_token_end_ = pos_;
  Token t;
  t.kind = kind;
  t.offset = begin;
  t.text = text_.substr(begin, pos_ - begin);
  return t;
}

Token Lexer::next() {
  for (;;) {
    while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
    if (pos_ >= text_.size()) {
      Token end;
      end.offset = last_token_end_;
      return end;
    }
    char c = text_[pos_];
    if (c == '#') {
      skip_comment();
      continue;
    }
    if (c == '\n') {
      size_t begin = pos_++;
      if (paren_depth_ > 0) continue;  // implicit line joining
      return make(TokenKind::Newline, begin);
    }
    if (is_digit(c) || (c == '.' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1])))
      return lex_number();
    if (is_word_start(c)) return lex_word();
    for (const Punctuation& p : kPunctuation) {
      if (c != p.spelling) continue;
      size_t begin = pos_++;
      if (p.kind == TokenKind::LeftParen) ++paren_depth_;
      if (p.kind == TokenKind::RightParen && paren_depth_ > 0) --paren_depth_;
      return make(p.kind, begin);
    }
    fail_at_byte(pos_);
  }
}

void Lexer::skip_comment() {
  while (pos_ < text_.size() && text_[pos_] != '\n') {
    unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c == 0) fail_at_byte(pos_);
    size_t length = utf8_sequence_length(text_.substr(pos_));
    if (length == 0) fail_at_byte(pos_);
    pos_ += length;
  }
}

Token Lexer::lex_number() {
  size_t begin = pos_;
  auto digits = [&] {
    size_t start = pos_;
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    return pos_ > start;
  };
  digits();
  if (pos_ < text_.size() && text_[pos_] == '.') {
    ++pos_;
    digits();
  }
  bool well_formed = true;
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    well_formed = digits();
  }
  // A number runs into no letter, digit or '.': "2x", "1.2.3" and "1e" are
  // typos, not two tokens.
  while (pos_ < text_.size() && (is_word_char(text_[pos_]) || text_[pos_] == '.')) {
    well_formed = false;
    ++pos_;
  }
  Token t = make(TokenKind::Number, begin);
  if (!well_formed) throw source_.error(begin, fmt::format("malformed number {}", describe(t)));
  // from_chars reads the C locale's format whatever the process locale is.
  auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.number);
  if (ec == std::errc::result_out_of_range)
    throw source_.error(begin, fmt::format("number {} is out of the range of a double", describe(t)));
  if (ec != std::errc() || end != t.text.data() + t.text.size())
    throw source_.error(begin, fmt::format("malformed number {}", describe(t)));
  return t;
}

Token Lexer::lex_word() {
  size_t begin = pos_;
  while (pos_ < text_.size() && is_word_char(text_[pos_])) ++pos_;
  Token t = make(TokenKind::Identifier, begin);
  for (const auto& [word, kind] : kKeywords)
    if (t.text == word) t.kind = kind;
  return t;
}

void Lexer::fail_at_byte(size_t offset) const {
  unsigned char c = static_cast<unsigned char>(text_[offset]);
  if (c == 0) throw source_.error(offset, "unexpected NUL byte");
  if (c < 0x20 || c == 0x7f)
    throw source_.error(offset, fmt::format("unexpected control character 0x{:02x}", c));
  if (c < 0x80) throw source_.error(offset, fmt::format("unexpected character '{}'", static_cast<char>(c)));
  size_t length = utf8_sequence_length(text_.substr(offset));
  if (length == 0) throw source_.error(offset, fmt::format("invalid UTF-8 byte 0x{:02x}", c));
  throw source_.error(offset, fmt::format("unexpected character '{}' (only comments may hold non-ASCII text)",
                                          text_.substr(offset, length)));
}

}  // namespace losscc
