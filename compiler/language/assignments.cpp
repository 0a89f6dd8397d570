#include "compiler/language/assignments.h"

#include <fmt/format.h>

#include <stdexcept>

namespace losscc {

namespace {

double parse_number(std::string_view flag, const std::string& item, const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size())
    throw std::invalid_argument(fmt::format("{} '{}': '{}' is not a number", flag, item, text));
  return value;
}

}  // namespace

std::map<std::string, double> parse_assignments(const std::vector<std::string>& items,
                                                std::string_view flag) {
  std::map<std::string, double> out;
  for (const std::string& list : items) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      const std::string item = list.substr(start, comma - start);
      start = comma + 1;
      if (item.empty()) continue;
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0)
        throw std::invalid_argument(fmt::format("{} '{}' is not of the form name=value", flag, item));
      out[item.substr(0, eq)] = parse_number(flag, item, item.substr(eq + 1));
    }
  }
  return out;
}

}  // namespace losscc
