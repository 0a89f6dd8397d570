// `name=value` assignments as the command lines take them: `-D gamma=3`
// (repeatable) and `--eval 'pred=0.3,label=1'` (comma-separated).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace losscc {

// Each item holds one or more comma-separated `name=number` pairs; a later
// pair for the same name wins. Throws std::invalid_argument with a one-line
// message starting with `flag` and naming the bad item.
std::map<std::string, double> parse_assignments(const std::vector<std::string>& items,
                                                std::string_view flag);

}  // namespace losscc
