// Compile errors of the .loss front end: where they are and how they read.
//
// An error renders like a C compiler's:
//
//   focal.loss:3:12: error: expected ')' to close '(' at 3:5, found end of line
//     let p = (pred * 2
//                      ^
//
// The first error stops the compile; there is no recovery.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace losscc {

// A position in a source file. Line and column are 1-based; the column counts
// bytes. Line 0 means "the file as a whole" (e.g. it could not be read).
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

class CompileError : public std::runtime_error {
 public:
  // `source_line` is the text of line `location.line`, shown under the message.
  CompileError(SourceLocation location, std::string message, std::string source_line = {});

  const SourceLocation& location() const { return location_; }
  // The message alone, without the location ("unknown name 'lable'").
  const std::string& message() const { return message_; }
  // "file:line:col: error: message", then the source line and a caret under
  // the column when the error has a line.
  std::string render() const;

 private:
  SourceLocation location_;
  std::string message_;
  std::string source_line_;
};

// The candidate closest to `name` by edit distance, or "" when none is close
// enough to be a plausible typo. Feeds "did you mean 'label'?".
std::string closest_match(std::string_view name, const std::vector<std::string_view>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view name, const std::vector<std::string_view>& candidates);

}  // namespace losscc
