// Ranking (grouped) programs on the host backends: the LLVM kernel against
// the double-precision interpreter, for every ranking example, on random lists
// (one-document queries, equal labels, ties) and on a 1,000-document list;
// results independent of the thread count; bad offsets are clear errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "compiler/interp/segmented.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "runtime/kernel.h"
#include "tests/compiler/ranking_lists.h"

using namespace losscc;
using losscc::testing::Lists;
using losscc::testing::random_lists;

namespace {

const char* const kRankingExamples[] = {"rank_mse", "ranknet", "rank_hinge", "lambdarank",
                                        "listnet",  "listmle", "approx_ndcg", "lambdaloss"};

Program example(const std::string& name) {
  return build_program(parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/") + name + ".loss"));
}

struct FloatLists {
  std::vector<float> score, label;
  explicit FloatLists(const Lists& l) : score(l.score.begin(), l.score.end()), label(l.label.begin(), l.label.end()) {}
};

// Runs `kernel` on the lists (as float) and compares with the interpreter in
// double on the same float values.
void compare(const Program& p, rt::Backend backend, const Lists& lists, int threads) {
  FloatLists f(lists);
  Lists rounded = lists;  // the exact values the kernel sees
  rounded.score.assign(f.score.begin(), f.score.end());
  rounded.label.assign(f.label.begin(), f.label.end());
  const ProgramResult want = run_grouped_program(
      p, std::vector<const double*>{rounded.score.data(), rounded.label.data()}, rounded.offsets.data(),
      rounded.queries());

  auto kernel = rt::get_kernel(p, {backend});
  std::vector<float> grad(lists.size(), NAN);
  rt::HostArgs args;
  args.n = lists.size();
  args.inputs = {f.score.data(), f.label.data()};
  args.grads = {grad.data()};
  args.threads = threads;
  args.offsets = lists.offsets.data();
  args.queries = lists.queries();
  const double got = kernel->run(args);
  CHECK(std::fabs(got - want.loss) <= 2e-4 * std::max(1.0, std::fabs(want.loss)));

  double scale = 0;
  for (double g : want.grads[0]) scale = std::max(scale, std::fabs(g));
  int bad = 0;
  for (int64_t i = 0; i < lists.size(); ++i) {
    const double w = want.grads[0][i];
    if (!(std::fabs(grad[i] - w) <= 1e-3 * scale + 1e-4 * std::fabs(w) + 1e-9)) {
      if (bad++ < 3) MESSAGE("document ", i, ": ", grad[i], " vs ", w);
    }
  }
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("ranking: LLVM kernels match the interpreter on every ranking example") {
  if (!rt::backend_available(rt::Backend::Llvm)) return;
  const Lists lists = random_lists(11, 60, 24);
  for (const char* name : kRankingExamples) {
    INFO(std::string(name));
    compare(example(name), rt::Backend::Llvm, lists, 1);
    compare(example(name), rt::Backend::Interp, lists, 1);
  }
}

// Scans with every kind of key and operand: an input, a computed value, a
// per-query value, a scan of a scan, two scans sharing one key's order, a
// gradient that is a scan.
const char* const kScanBodies[] = {
    "qsum(qmax(score) + log(suffix_sum(label, exp(score - qmax(score)))) - score)",
    "qsum(prefix_sum(2 * score - label, score * label) * label)",
    "qsum(sigmoid(suffix_sum(label, prefix_sum(score, score * label))) * label)",
    "qsum(suffix_sum(label, qmax(score)) * score + prefix_sum(qcount(), score) * label)",
    "qsum(suffix_sum(label, score) * prefix_sum(label, score * score))",
    "qsum(suffix_sum(label, score))",  // the gradient is a scan: prefix_sum(label, 1)
};

Program scan_program(const char* body) {
  return build_program(parse_loss(std::string("input score: real as pred\ninput label: grade\n") + body + "\n",
                                  "scan.loss"));
}

TEST_CASE("ranking: scans on the LLVM kernel match the interpreter") {
  if (!rt::backend_available(rt::Backend::Llvm)) return;
  const Lists lists = random_lists(13, 60, 24);
  for (const char* body : kScanBodies) {
    INFO(std::string(body));
    compare(scan_program(body), rt::Backend::Llvm, lists, 1);
  }
}

TEST_CASE("ranking: a 1,000-document list, and the result does not depend on threads") {
  if (!rt::backend_available(rt::Backend::Llvm)) return;
  Lists lists = random_lists(5, 3, 8);
  const Lists big = random_lists(6, 2, 1000);  // the second query: up to 1,000 documents
  std::vector<double> s(1000), l(1000);
  for (size_t i = 0; i < 1000; ++i) {
    s[i] = big.score[i % big.score.size()] + 1e-3 * i;
    l[i] = static_cast<double>(i % 3);
  }
  lists.add(s, l);
  for (const char* name : {"ranknet", "listmle", "approx_ndcg"}) {
    INFO(std::string(name));
    compare(example(name), rt::Backend::Llvm, lists, 1);
  }

  // Many queries (enough documents to use threads): 1 thread and 2 agree bitwise.
  const Lists many = random_lists(8, 1500, 20);
  FloatLists f(many);
  const Program p = example("approx_ndcg");
  auto kernel = rt::get_kernel(p, {rt::Backend::Llvm});
  auto run = [&](int threads, std::vector<float>& grad) {
    rt::HostArgs args;
    args.n = many.size();
    args.inputs = {f.score.data(), f.label.data()};
    args.grads = {grad.data()};
    args.threads = threads;
    args.offsets = many.offsets.data();
    args.queries = many.queries();
    return kernel->run(args);
  };
  std::vector<float> g1(many.size()), g2(many.size());
  CHECK(run(1, g1) == run(2, g2));
  CHECK(g1 == g2);
}

TEST_CASE("ranking: qmax skips NaN documents on the LLVM kernel as in the interpreter (all NaN: -inf)") {
  if (!rt::backend_available(rt::Backend::Llvm)) return;
  const Program p = build_program(parse_loss(
      "input score: real as pred\ninput label: grade\nqmax(score) + qmax(label) / 10\n", "qmax.loss"));
  auto kernel = rt::get_kernel(p, {rt::Backend::Llvm});
  auto same = [](double got, double want) {
    if (std::isnan(want) || std::isinf(want)) return std::isnan(want) ? std::isnan(got) : got == want;
    return std::fabs(got - want) <= 1e-6 * std::max(1.0, std::fabs(want));
  };
  auto check_lists = [&](const Lists& lists) {
    const ProgramResult want = run_grouped_program(
        p, std::vector<const double*>{lists.score.data(), lists.label.data()}, lists.offsets.data(), lists.queries());
    FloatLists f(lists);
    std::vector<float> grad(lists.size());
    rt::HostArgs args;
    args.n = lists.size();
    args.inputs = {f.score.data(), f.label.data()};
    args.grads = {grad.data()};
    args.offsets = lists.offsets.data();
    args.queries = lists.queries();
    const double loss = kernel->run(args);
    INFO("loss ", loss, " vs ", want.loss);
    CHECK(same(loss, want.loss));
    for (int64_t i = 0; i < lists.size(); ++i) {
      INFO("document ", i);
      CHECK(same(grad[i], want.grads[0][i]));
    }
  };
  // 41 documents: NaNs in the vector body and in the scalar tail; the maximum
  // sits in the tail, then in the body.
  std::vector<double> s(41), l(41, 1.0);
  for (size_t i = 0; i < s.size(); ++i) s[i] = std::sin(0.7 * static_cast<double>(i));
  s[0] = s[17] = s[40] = NAN;
  s[39] = 5.0;
  Lists lists;
  lists.add(s, l);
  s[39] = 0.0;
  s[3] = 7.0;
  lists.add(s, l);
  lists.add({NAN, -INFINITY, NAN}, {0, 1, 2});  // NaN is skipped, so -inf
  lists.add({2.0}, {0});
  check_lists(lists);

  Lists all_nan;  // the fold from -inf meets no number
  all_nan.add(std::vector<double>(20, NAN), std::vector<double>(20, 1.0));
  check_lists(all_nan);
  CHECK(run_grouped_program(p, std::vector<const double*>{all_nan.score.data(), all_nan.label.data()},
                            all_nan.offsets.data(), all_nan.queries())
            .loss == -INFINITY);
}

TEST_CASE("ranking: bad segment offsets are clear errors on every host backend") {
  const Program p = example("ranknet");
  std::vector<float> s(6, 0.0f), l(6, 1.0f), g(6);
  for (rt::Backend backend : {rt::Backend::Interp, rt::Backend::Llvm}) {
    if (!rt::backend_available(backend)) continue;
    auto kernel = rt::get_kernel(p, {backend});
    auto error = [&](std::vector<int64_t> offsets, int64_t n) -> std::string {
      rt::HostArgs args;
      args.n = n;
      args.inputs = {s.data(), l.data()};
      args.grads = {g.data()};
      args.offsets = offsets.data();
      args.queries = static_cast<int64_t>(offsets.size()) - 1;
      try {
        kernel->run(args);
      } catch (const std::invalid_argument& e) {
        return e.what();
      }
      return "no error";
    };
    CHECK(error({0, 3, 3, 6}, 6) == "segment offsets: query 1 is empty (offsets[1] = offsets[2] = 3)");
    CHECK(error({0, 4, 2, 6}, 6) == "segment offsets: out of order: offsets[1] = 4 > offsets[2] = 2");
    CHECK(error({0, 3, 6}, 5) == "segment offsets: offsets[2] = 6, but there are 5 documents");
    CHECK(error({0, 3, 6}, 6) == "no error");
    rt::HostArgs none;
    none.n = 6;
    none.inputs = {s.data(), l.data()};
    none.grads = {g.data()};
    CHECK_THROWS_WITH_AS(kernel->run(none), "segment offsets: no queries for 6 documents", std::invalid_argument);
  }
}
