// A source file held in memory, with the line table that turns byte offsets
// (what tokens carry) into line:column (what errors print).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/language/diagnostics.h"

namespace losscc {

class SourceFile {
 public:
  SourceFile(std::string_view text, std::string_view name);

  std::string_view text() const { return text_; }
  const std::string& name() const { return name_; }

  SourceLocation location(size_t offset) const;
  // Line `line` (1-based) without its terminating newline.
  std::string_view line_text(int line) const;
  // An error at `offset`, carrying the line it points into.
  CompileError error(size_t offset, std::string message) const;
  // "3:5": how messages refer to another place in the same file.
  std::string position(size_t offset) const;

 private:
  std::string_view text_;
  std::string name_;
  std::vector<size_t> line_starts_;  // offset of the first byte of each line
};

}  // namespace losscc
