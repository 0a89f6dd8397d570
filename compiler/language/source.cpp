#include "compiler/language/source.h"

#include <fmt/format.h>

#include <algorithm>

namespace losscc {

SourceFile::SourceFile(std::string_view text, std::string_view name) : text_(text), name_(name) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
}

SourceLocation SourceFile::location(size_t offset) const {
  offset = std::min(offset, text_.size());
  auto after = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t line = static_cast<size_t>(after - line_starts_.begin());  // 1-based
  size_t column = offset - line_starts_[line - 1] + 1;
  return {name_, static_cast<int>(line), static_cast<int>(column)};
}

std::string_view SourceFile::line_text(int line) const {
  if (line < 1 || static_cast<size_t>(line) > line_starts_.size()) return {};
  size_t begin = line_starts_[line - 1];
  size_t end = static_cast<size_t>(line) < line_starts_.size() ? line_starts_[line] - 1 : text_.size();
  std::string_view text = text_.substr(begin, end - begin);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

CompileError SourceFile::error(size_t offset, std::string message) const {
  SourceLocation at = location(offset);
  std::string line(line_text(at.line));
  return CompileError(std::move(at), std::move(message), std::move(line));
}

std::string SourceFile::position(size_t offset) const {
  SourceLocation at = location(offset);
  return fmt::format("{}:{}", at.line, at.column);
}

}  // namespace losscc
