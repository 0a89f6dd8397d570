#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "compiler/language/assignments.h"

using losscc::parse_assignments;

TEST_CASE("assignments: repeated flags and comma lists, the last value wins") {
  auto values = parse_assignments({"pred=0.3,label=1", "gamma=2", "gamma=-1e-6"}, "-D");
  CHECK(values.size() == 3);
  CHECK(values.at("pred") == 0.3);
  CHECK(values.at("label") == 1.0);
  CHECK(values.at("gamma") == -1e-6);
  CHECK(parse_assignments({"", "a=1,,b=2,"}, "-D").size() == 2);
}

TEST_CASE("assignments: a bad item is a one-line error naming the flag and the item") {
  auto error_of = [](const std::string& item) {
    try {
      parse_assignments({item}, "--eval");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of("pred") == "--eval 'pred' is not of the form name=value");
  CHECK(error_of("=1") == "--eval '=1' is not of the form name=value");
  CHECK(error_of("pred=") == "--eval 'pred=': '' is not a number");
  CHECK(error_of("pred=0.3x") == "--eval 'pred=0.3x': '0.3x' is not a number");
  CHECK(error_of("a=1,b=two") == "--eval 'b=two': 'two' is not a number");
}
