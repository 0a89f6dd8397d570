// Hand-written programs in the search space's tests: an operator by name
// (which must exist in the space) and its operand nodes, and the check that
// the masks keep a program reachable.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "compiler/passes/check.h"
#include "compiler/passes/simplify.h"
#include "search/space/search_space.h"
#include "search/space/viable_tokens.h"

namespace losscc::search::testing {

inline Token op(const SearchSpace& space, const char* name, int lhs, int rhs = -1) {
  const int index = space.op_index(name);
  REQUIRE(index >= 0);
  return {index, lhs, rhs};
}

// Each program passes check(), and the masks allow it token by token.
inline void check_reachable(const SearchSpace& s, const std::vector<std::vector<Token>>& programs) {
  ViableTokens viable(s);
  for (const std::vector<Token>& tokens : programs) {
    CAPTURE(format_tokens(s, tokens));
    REQUIRE(check(simplify(decode(s, tokens))).valid);
    viable.reset();
    for (const Token& t : tokens) {
      CHECK(viable.allows(t));
      viable.push(t);
    }
    CHECK(viable.last_node_passes());
  }
}

}  // namespace losscc::search::testing
