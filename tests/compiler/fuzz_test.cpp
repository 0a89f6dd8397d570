// A deterministic, seconds-long stand-in for tests/fuzz/parse_fuzz.cpp that
// runs with the ordinary suite: random bytes and mutations of the example
// files go through parse_loss. Each must parse or raise CompileError —
// nothing else may escape — and whatever parses must print and read back to
// the same nodes.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/ir/print.h"
#include "compiler/language/parse.h"

namespace losscc {
namespace {

struct Tally {
  int parsed = 0;
  int rejected = 0;
};

// Parses `source`; on success checks the round trip.
void feed(const std::string& source, Tally& tally) {
  LossFunction fn;
  try {
    fn = parse_loss(source, "fuzz.loss");
  } catch (const CompileError& e) {
    CHECK_FALSE(e.render().empty());
    ++tally.rejected;
    return;
  } catch (const std::exception& e) {
    CAPTURE(source);
    FAIL("escaped as something other than CompileError: " << e.what());
    return;
  }
  ++tally.parsed;
  std::string printed = to_loss_source(fn);
  CAPTURE(source);
  CAPTURE(printed);
  LossFunction back = parse_loss(printed, "printed.loss");
  CHECK(back.body.same_as(fn.body));
  CHECK(back.hash() == fn.hash());
}

std::vector<std::string> example_sources() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(LOSSCC_SOURCE_DIR "/examples")) {
    if (entry.path().extension() != ".loss") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    out.push_back(text.str());
  }
  return out;
}

// Fragments worth splicing in: tokens, keywords, names and edge bytes.
const std::vector<std::string> kFragments = {
    "(", ")", "+", "-", "*", "/", "^", ",", ":", "=", ";", "\n", "#", " ", "let", "param", "input",
    "reduce", "as", "pred", "label", "pos", "neg", "eps", "m", "log(", "max(", "clamp(", "guarded_log(",
    "1e-6", ".5", "2.", "1e999", "-0", "0", "(1/0)", "sum", "mean", "real", "prob", "binary",
    std::string(1, '\0'), "\xff", "\xc3\xa9", "((((((((", "))))", "^-2^", "--",
};

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : rng_(seed) {}

  size_t pick(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::string random_bytes(size_t max_length) {
    std::string s(pick(max_length + 1), '\0');
    for (char& c : s) c = static_cast<char>(pick(256));
    return s;
  }

  // Space-separated words of `s`, for swapping whole tokens.
  static std::vector<std::pair<size_t, size_t>> words(const std::string& s) {
    std::vector<std::pair<size_t, size_t>> out;
    for (size_t i = 0; i < s.size();) {
      while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
      size_t begin = i;
      while (i < s.size() && s[i] != ' ' && s[i] != '\n') ++i;
      if (i > begin) out.push_back({begin, i - begin});
    }
    return out;
  }

  std::string mutate(std::string s) {
    int edits = 1 + static_cast<int>(pick(4));
    for (int e = 0; e < edits; ++e) {
      switch (pick(7)) {
        case 0:  // insert a random byte
          s.insert(s.begin() + static_cast<long>(pick(s.size() + 1)), static_cast<char>(pick(256)));
          break;
        case 1:  // delete a run of bytes
          if (!s.empty()) {
            size_t at = pick(s.size());
            s.erase(at, 1 + pick(std::min<size_t>(8, s.size() - at)));
          }
          break;
        case 2:  // replace a byte with a printable one
          if (!s.empty()) s[pick(s.size())] = static_cast<char>(32 + pick(95));
          break;
        case 3:  // splice in a fragment
          s.insert(pick(s.size() + 1), kFragments[pick(kFragments.size())]);
          break;
        case 4: {  // swap two tokens
          auto w = words(s);
          if (w.size() < 2) break;
          auto a = w[pick(w.size())], b = w[pick(w.size())];
          if (a.first > b.first) std::swap(a, b);
          if (a.first == b.first) break;
          std::string first = s.substr(a.first, a.second), second = s.substr(b.first, b.second);
          s.replace(b.first, b.second, first);
          s.replace(a.first, a.second, second);
          break;
        }
        case 5: {  // replace a token with a fragment
          auto w = words(s);
          if (w.empty()) break;
          auto t = w[pick(w.size())];
          s.replace(t.first, t.second, kFragments[pick(kFragments.size())]);
          break;
        }
        case 6:  // truncate
          s.resize(pick(s.size() + 1));
          break;
      }
    }
    return s;
  }

 private:
  std::mt19937 rng_;
};

TEST_CASE("fuzz: random bytes parse or raise CompileError") {
  Mutator m(1);
  Tally tally;
  for (int i = 0; i < 3000; ++i) feed(m.random_bytes(64), tally);
  CHECK(tally.rejected > 2900);  // random bytes are almost never a loss
}

TEST_CASE("fuzz: mutated examples parse or raise CompileError, and round-trip when they parse") {
  std::vector<std::string> examples = example_sources();
  REQUIRE(examples.size() >= 8);
  Mutator m(2);
  Tally tally;
  for (int i = 0; i < 20000; ++i) feed(m.mutate(examples[m.pick(examples.size())]), tally);
  // Both outcomes occur often, so both paths are really exercised.
  CHECK(tally.parsed > 500);
  CHECK(tally.rejected > 500);
}

TEST_CASE("fuzz: pathological shapes fail cleanly") {
  Tally tally;
  feed(std::string(200000, '('), tally);
  feed(std::string(200000, '-') + "pred", tally);
  feed("pred" + std::string(100000, '^'), tally);
  std::string sum = "pred";
  for (int i = 0; i < 50000; ++i) sum += "+pred";
  feed(sum, tally);
  feed(std::string(100000, '\n') + "pred", tally);
  feed("let " + std::string(100000, 'a') + " = pred\n" + std::string(100000, 'a'), tally);
  CHECK(tally.parsed == 2);
  CHECK(tally.rejected == 4);
}

}  // namespace
}  // namespace losscc
