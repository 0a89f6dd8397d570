#include "search/space/search_space.h"

#include <doctest/doctest.h>

#include <random>

#include "compiler/ir/print.h"
#include "tests/search/space_tokens.h"

using namespace losscc;
using namespace losscc::search;
using losscc::search::testing::op;

TEST_CASE("the basic operator set is AutoLossGen's, the extended one adds six") {
  SearchSpace basic(10, false), extended(10, true);
  CHECK(basic.num_ops() == 9);
  CHECK(extended.num_ops() == 15);
  int binary = 0;
  for (const OpChoice& o : basic.ops()) binary += o.arity == 2;
  CHECK(binary == 4);
  CHECK(basic.op_index("sigmoid") == -1);
  CHECK(extended.op_index("sigmoid") >= 0);
  // Shared operators keep their index across the two sets (tokens are indices).
  for (int i = 0; i < basic.num_ops(); ++i) CHECK(extended.ops()[i].name == basic.ops()[i].name);
}

TEST_CASE("decode builds the IR a hand-written loss would") {
  // -(label * log(pred)): node 3 = log(pred), 4 = mul(label, 3), 5 = neg(4).
  SearchSpace space(3);
  LossFunction fn =
      decode(space, {op(space, "log", 0), op(space, "mul", 1, 3), op(space, "neg", 4)});
  const Expr expected = -(input("label") * protected_log(input("pred")));
  CHECK(fn.body == expected);
  CHECK(fn.inputs == LossFunction::default_inputs());
  CHECK(fn.reduction == Reduction::Mean);
}

TEST_CASE("the constant leaf and dead nodes") {
  SearchSpace space(3);
  // Node 3 = add(1, 1) is dead: the body only reads node 4 = max(pred, 1) via node 5.
  LossFunction fn = decode(space, {op(space, "add", 2, 2), op(space, "max", 0, 2),
                                   op(space, "square", 4)});
  CHECK(fn.body == square(max(input("pred"), constant(1.0))));
}

TEST_CASE("out-of-range and malformed tokens are rejected with the token named") {
  SearchSpace space(2);
  const int add = space.op_index("add"), neg = space.op_index("neg");
  CHECK(validation_error(space, {{add, 0, 1}, {neg, 3, -1}}).empty());

  CHECK(validation_error(space, {{add, 0, 1}}).find("expected 2 tokens") != std::string::npos);
  // Node 3 may read nodes 0..2 only.
  std::string e = validation_error(space, {{add, 3, 1}, {neg, 3, -1}});
  CHECK(e.find("token 0") != std::string::npos);
  CHECK(e.find("lhs 3") != std::string::npos);
  CHECK(!validation_error(space, {{add, 0, -1}, {neg, 3, -1}}).empty());  // binary needs rhs
  CHECK(!validation_error(space, {{add, 0, 1}, {neg, 3, 0}}).empty());    // unary takes none
  CHECK(!validation_error(space, {{add, 0, 1}, {neg, 4, -1}}).empty());   // node 4 is itself
  CHECK(!validation_error(space, {{99, 0, 1}, {neg, 3, -1}}).empty());
  CHECK(!validation_error(space, {{-1, 0, 1}, {neg, 3, -1}}).empty());
  CHECK_THROWS_AS(decode(space, {{add, 0, 7}, {neg, 3, -1}}), InvalidTokens);
}

TEST_CASE("uniform samples are always valid and cover every operator") {
  for (bool extended : {false, true}) {
    SearchSpace space(10, extended);
    std::mt19937_64 rng(7);
    std::vector<int> seen(space.num_ops(), 0);
    for (int i = 0; i < 500; ++i) {
      std::vector<Token> tokens = sample_uniform(space, rng);
      REQUIRE(validation_error(space, tokens).empty());
      for (const Token& t : tokens) ++seen[t.op];
      CHECK(decode(space, tokens).body);
    }
    for (int count : seen) CHECK(count > 0);
  }
}

TEST_CASE("sampling is reproducible from the seed") {
  SearchSpace space(10, true);
  std::mt19937_64 a(42), b(42), c(43);
  const auto first = sample_uniform(space, a);
  CHECK(first == sample_uniform(space, b));
  CHECK(first != sample_uniform(space, c));
}

TEST_CASE("format_tokens names every node") {
  SearchSpace space(2);
  CHECK(format_tokens(space, {op(space, "log", 0), op(space, "add", 3, 1)}) == "log(0) add(3,1)");
}
