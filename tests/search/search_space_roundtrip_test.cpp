// A decoded candidate saved as `.loss` text must read back as the very same IR
// nodes: that is what makes best.loss and the top-k files faithful.
#include <doctest/doctest.h>

#include <random>

#include "compiler/ir/print.h"
#include "compiler/language/parse.h"
#include "search/space/search_space.h"

using namespace losscc;
using namespace losscc::search;

TEST_CASE("decode → to_loss_source → parse_loss gives back the same IR node") {
  for (bool extended : {false, true}) {
    SearchSpace space(10, extended);
    std::mt19937_64 rng(extended ? 17 : 16);
    for (int i = 0; i < 300; ++i) {
      const std::vector<Token> tokens = sample_uniform(space, rng);
      const LossFunction fn = decode(space, tokens);
      const std::string source = to_loss_source(fn);
      CAPTURE(format_tokens(space, tokens));
      CAPTURE(source);
      const LossFunction parsed = parse_loss(source, "candidate.loss");
      CHECK(parsed.body == fn.body);
      CHECK(parsed.hash() == fn.hash());
    }
  }
}
