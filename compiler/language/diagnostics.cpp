#include "compiler/language/diagnostics.h"

#include <fmt/format.h>

#include <algorithm>

namespace losscc {

namespace {

std::string headline(const SourceLocation& at, const std::string& message) {
  if (at.line <= 0) return fmt::format("{}: error: {}", at.file, message);
  return fmt::format("{}:{}:{}: error: {}", at.file, at.line, at.column, message);
}

// Longest stretch of a source line shown around the caret; a minified or
// generated file can have a single line of megabytes.
constexpr size_t kShownColumns = 100;

}  // namespace

CompileError::CompileError(SourceLocation location, std::string message, std::string source_line)
    : std::runtime_error(headline(location, message)),
      location_(std::move(location)),
      message_(std::move(message)),
      source_line_(std::move(source_line)) {}

std::string CompileError::render() const {
  std::string out = what();
  out += '\n';
  if (location_.line <= 0) return out;

  // Clip long lines to a window around the column.
  std::string_view line = source_line_;
  size_t caret = static_cast<size_t>(std::max(location_.column, 1)) - 1;
  std::string prefix, suffix;
  if (line.size() > kShownColumns) {
    size_t begin = caret > kShownColumns / 2 ? caret - kShownColumns / 2 : 0;
    if (begin > 0) prefix = "...";
    if (begin + kShownColumns < line.size()) suffix = "...";
    line = line.substr(begin, kShownColumns);
    caret -= begin;
  }

  // The line is shown as printable text: control bytes and anything outside
  // ASCII become '?', so a garbage file cannot garble the terminal. The caret
  // line copies tabs so it stays aligned however tabs are displayed.
  std::string shown = prefix, pad(prefix.size(), ' ');
  for (size_t i = 0; i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    bool printable = c == '\t' || (c >= 0x20 && c < 0x7f);
    shown += printable ? static_cast<char>(c) : '?';
    if (i < caret) pad += c == '\t' ? '\t' : ' ';
  }
  shown += suffix;
  return out + "  " + shown + "\n  " + pad + "^\n";
}

namespace {

// Optimal string alignment distance: insertions, deletions, substitutions and
// swaps of adjacent characters ("lgo" is one edit from "log").
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, substitute});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string closest_match(std::string_view name, const std::vector<std::string_view>& candidates) {
  // A typo is at most a third of the name (and at least one edit) away;
  // names longer than any candidate by far are not typos of it.
  if (name.size() > 64) return {};
  size_t budget = std::max<size_t>(1, name.size() / 3);
  std::string_view best;
  size_t best_distance = budget + 1;
  for (std::string_view candidate : candidates) {
    size_t d = edit_distance(name, candidate);
    if (d < best_distance && d < candidate.size()) {
      best = candidate;
      best_distance = d;
    }
  }
  return std::string(best);
}

std::string did_you_mean(std::string_view name, const std::vector<std::string_view>& candidates) {
  std::string match = closest_match(name, candidates);
  return match.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", match);
}

}  // namespace losscc
