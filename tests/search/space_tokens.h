// Tokens for hand-written programs in the search space's tests: an operator
// by name (which must exist in the space) and its operand nodes.
#pragma once

#include <doctest/doctest.h>

#include "search/space/search_space.h"

namespace losscc::search::testing {

inline Token op(const SearchSpace& space, const char* name, int lhs, int rhs = -1) {
  const int index = space.op_index(name);
  REQUIRE(index >= 0);
  return {index, lhs, rhs};
}

}  // namespace losscc::search::testing
