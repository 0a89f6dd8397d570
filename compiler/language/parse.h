// The .loss front end: source text → LossFunction (docs/LANGUAGE.md).
//
//   LossFunction fn = parse_loss("param gamma = 2\n"
//                                "-label * (1 - pred)^gamma * log(pred)", "focal.loss");
//
// The result is exactly what the text says, unsimplified: simplify() is a
// separate pass. Printing it with to_loss_source() and parsing the text again
// gives back the same nodes. Errors throw CompileError.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "compiler/ir/loss_function.h"
#include "compiler/language/diagnostics.h"

namespace losscc {

// Values for `param`s, replacing their defaults (`losscc -D gamma=3`). An
// override that names no param of the file is an error.
using ParamOverrides = std::map<std::string, double>;

// Limits that keep every recursive walk over a parsed loss (the parser, the
// printer, the destruction of a node chain) far from the end of the stack,
// whatever the input. Text printed from a loss within kMaxDepth nests at most
// kMaxDepth deep, so everything the parser accepts prints and reads back.
inline constexpr int kMaxNesting = 256;  // parentheses / call arguments inside each other
inline constexpr int kMaxDepth = 256;    // levels of operations (a leaf is one), through lets

LossFunction parse_loss(std::string_view source, std::string_view filename = "<input>",
                        const ParamOverrides& overrides = {});

// A .loss file's text; a file that cannot be read is a CompileError naming it.
std::string read_loss_file(const std::string& path);

// Reads and parses a file; a file that cannot be read is a CompileError naming it.
LossFunction parse_loss_file(const std::string& path, const ParamOverrides& overrides = {});

}  // namespace losscc
