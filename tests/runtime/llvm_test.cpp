// The LLVM backend against the double-precision interpreter: random
// expressions, the example losses, the edges of every input domain; the IR
// is vectorised; object files round-trip through the JIT.
#ifdef LOSSCC_HAVE_LLVM

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "compiler/codegen/llvm/llvm_codegen.h"
#include "compiler/codegen/llvm/scan_helpers.h"
#include "compiler/ir/scan.h"
#include "compiler/interp/interp.h"
#include "compiler/ir/print.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "oracle.h"
#include "random_expr.h"

namespace losscc {
namespace {

using llvm_backend::JitModule;

LossFunction pred_label_loss(const Expr& body, Reduction r = Reduction::Mean) {
  LossFunction fn;
  fn.inputs = LossFunction::default_inputs();
  fn.body = body;
  fn.reduction = r;
  return fn;
}

Expr bce() {
  Expr pred = input("pred"), label = input("label");
  return -(label * log(pred) + (1.0 - label) * log(1.0 - pred));
}

// Runs the compiled loop over [0, n) and compares every stored output and
// the returned sum with the interpreter, element by element.
test::Tally check_against_interp(const Program& p, const JitModule& jit, int64_t n, uint64_t seed) {
  const auto data = test::make_inputs(p.fn, n, seed);
  const auto in = test::pointers(data);
  const double scale = p.fn.reduction == Reduction::Mean ? 1.0 / static_cast<double>(n) : 1.0;
  std::vector<std::vector<float>> grads(p.grad_inputs.size(), std::vector<float>(n));
  std::vector<float*> grad_ptrs;
  for (auto& g : grads) grad_ptrs.push_back(g.data());
  const float sum = jit.loop()(in.data(), grad_ptrs.data(), 0, n, static_cast<float>(scale));

  std::vector<std::string> names;
  for (const InputDecl& d : p.fn.inputs) names.push_back(d.name);
  Evaluator exact(p.outputs, names);
  test::FloatEmulator emulated(p), perturbed(p, 4);
  test::Tally tally;
  std::vector<double> x(names.size()), out(p.outputs.size());
  double exact_sum = 0, sum_tolerance = 0;
  bool sum_comparable = true;
  // `describe` runs only for the first mismatch: formatting is slow.
  auto record = [&](test::Verdict v, auto&& describe) {
    if (v == test::Verdict::Match) ++tally.matched;
    if (v == test::Verdict::Incomparable) ++tally.incomparable;
    if (v == test::Verdict::Mismatch && tally.mismatched++ == 0) {
      std::ostringstream what;
      describe(what);
      tally.first_mismatch = what.str();
    }
  };
  for (int64_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < x.size(); ++j) x[j] = in[j][i];
    exact.run(x.data(), out.data());
    const std::vector<double> emu = emulated.run(in, i), pert = perturbed.run(in, i);
    for (size_t k = 0; k < grads.size(); ++k) {
      const test::Verdict v = test::compare(grads[k][i], scale * out[1 + k], scale * emu[1 + k],
                                              scale * pert[1 + k]);
      record(v, [&](std::ostream& what) {
        what << to_string(p.outputs[1 + k]) << "\n  output " << 1 + k << " at element " << i;
        for (size_t j = 0; j < names.size(); ++j) what << ", " << names[j] << " = " << x[j];
        what << ": got " << grads[k][i] << ", interp " << scale * out[1 + k]
             << ", float emulation " << scale * emu[1 + k];
      });
    }
    if (!std::isfinite(out[0]) || !std::isfinite(emu[0]) || !std::isfinite(pert[0]))
      sum_comparable = false;
    exact_sum += out[0];
    // Per element as in oracle.h, plus the float sum's own rounding: the
    // vectorised sum keeps ≥ 8 partial sums, each of ≤ n/8 terms, so its
    // error is below (n/8)·6e-8·Σ|ℓ| = 7.5e-9·n·Σ|ℓ|.
    sum_tolerance += test::tolerance(out[0], emu[0], pert[0]) + 7.5e-9 * static_cast<double>(n) * std::fabs(out[0]);
  }
  if (sum_comparable) {
    record(std::fabs(sum - exact_sum) <= sum_tolerance ? test::Verdict::Match : test::Verdict::Mismatch,
           [&](std::ostream& what) { what << "loss sum: got " << sum << ", interp " << exact_sum; });
  }
  return tally;
}

// The backend stores outputs[1+k] for every k whatever grad_inputs says, so
// one program can carry many random expressions with their gradients:
// outputs = [e1, e1, ∂e1/∂pred, ∂e1/∂label, e2, ...]. One compile per batch
// keeps 500 expressions to a few seconds.
Program pack(const std::vector<Expr>& exprs) {
  Program p;
  p.fn = pred_label_loss(exprs.front(), Reduction::Sum);
  p.outputs.push_back(exprs.front());
  for (const Expr& e : exprs) {
    p.outputs.push_back(e);
    for (const Expr& g : gradient(e, {"pred", "label"})) p.outputs.push_back(g);
  }
  p.grad_inputs.assign(p.outputs.size() - 1, 0);
  return p;
}

TEST_CASE("llvm: 500 random AutoLossGen expressions match the interpreter") {
  test::RandomExpr random(20240601);
  test::Tally total;
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<Expr> exprs;
    for (int k = 0; k < 25; ++k) exprs.push_back(random(1 + (batch + k) % 6));
    const Program p = pack(exprs);
    // 515 elements: not a multiple of the vector width, so the scalar
    // epilogue runs too.
    const test::Tally t = check_against_interp(p, JitModule::compile(p), 515, batch);
    INFO("batch ", batch, ": ", t.first_mismatch);
    CHECK(t.mismatched == 0);
    total.matched += t.matched;
    total.incomparable += t.incomparable;
  }
  MESSAGE("random expressions: ", total.matched, " values matched, ", total.incomparable,
          " outside float's range");
  // The comparison is not vacuous: almost every value is in float's range.
  CHECK(total.incomparable * 20 < total.matched);
}

TEST_CASE("llvm: every example loss matches the interpreter") {
  const std::filesystem::path dir = std::filesystem::path(LOSSCC_SOURCE_DIR) / "examples";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".loss") continue;
    const LossFunction fn = parse_loss_file(entry.path().string());
    if (fn.grouped()) continue;  // ranking losses: ranking_kernel_test.cpp
    ++files;
    const Program p = build_program(fn);  // the real pipeline: simplify, grad, simplify
    const test::Tally t = check_against_interp(p, JitModule::compile(p), 4099, files);
    INFO(entry.path().filename().string(), ": ", t.first_mismatch);
    CHECK(t.mismatched == 0);
    CHECK(t.matched > 0);
  }
  CHECK(files > 0);
}

TEST_CASE("llvm: the loop is vectorised with libmvec calls") {
  if (!__builtin_cpu_supports("avx2")) {
    MESSAGE("no AVX2 on this CPU: the 8-lane check does not apply");
    return;
  }
  Expr pred = input("pred"), label = input("label");
  const Expr logmin = -log(min(pred + label, 1.0 - pred + 1e-6));
  for (const Expr& body : {bce(), logmin}) {
    const LossFunction fn = pred_label_loss(body);
    const std::string ir = llvm_backend::emit_llvm_ir(build_program(fn, {0}));
    CHECK(ir.find("<8 x float>") != std::string::npos);
    CHECK(ir.find("@_ZGVdN8v_logf(") != std::string::npos);
  }
  // tanh, log1p (inside softplus) and expm1 vectorise through the table
  // optimize.cpp adds to LLVM's.
  Program p;
  p.fn = pred_label_loss(tanh(pred) + softplus(label - pred) + expm1(pred));
  p.outputs = {p.fn.body};
  const std::string ir = llvm_backend::emit_llvm_ir(p);
  for (const char* fn : {"@_ZGVdN8v_tanhf(", "@_ZGVdN8v_log1pf(", "@_ZGVdN8v_expm1f(", "@_ZGVdN8v_expf("})
    CHECK_MESSAGE(ir.find(fn) != std::string::npos, fn);
}

TEST_CASE("llvm: ops at their IEEE edges") {
  // NaN, ±inf and ±0 through every op whose edge expr.h states.
  Expr x = input("x");
  LossFunction fn;
  fn.inputs = {{"x", Domain::Real, Role::Other}};
  fn.body = x;
  fn.reduction = Reduction::Sum;
  const std::vector<Expr> ops = {
      log(x), exp(x), sqrt(x), abs(x), sign(x), step(x), sigmoid(x), tanh(x), relu(x),
      softplus(x), log1p(x), expm1(x), min(x, constant(1)), max(x, constant(1)),
      pow(x, 2), pow(x, -1), pow(x, 0.5), x / constant(0), -x};
  Program p;
  p.fn = fn;
  p.outputs.push_back(x);
  for (const Expr& e : ops) p.outputs.push_back(e);
  p.grad_inputs.assign(ops.size(), 0);
  const JitModule jit = JitModule::compile(p);
  const float inf = INFINITY, nan = NAN;
  const std::vector<float> xs = {nan, inf, -inf, 0.0f, -0.0f, 1.0f, -1.0f, 100.0f, -100.0f, 1e-30f};
  std::vector<std::vector<float>> out(ops.size(), std::vector<float>(xs.size()));
  std::vector<float*> outs;
  for (auto& o : out) outs.push_back(o.data());
  const float* in[] = {xs.data()};
  jit.loop()(in, outs.data(), 0, static_cast<int64_t>(xs.size()), 1.0f);
  for (size_t k = 0; k < ops.size(); ++k) {
    for (size_t i = 0; i < xs.size(); ++i) {
      // Rounded to float first: exp(100) is finite in double, inf in float.
      const float want = static_cast<float>(eval(ops[k], {{"x", xs[i]}}));
      INFO("op ", k, " at x = ", xs[i], ": got ", out[k][i], ", interp ", want);
      if (std::isnan(want)) {
        CHECK(std::isnan(out[k][i]));
      } else if (std::isinf(want) || want == 0) {
        CHECK(out[k][i] == want);
      } else {
        CHECK(out[k][i] == doctest::Approx(want).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("llvm: an object file loads into a fresh JIT and runs the same") {
  const Program p = test::program_for(pred_label_loss(bce()), {0});
  const std::string object = llvm_backend::compile_to_object(p);
  REQUIRE(object.size() > 4);
  CHECK(object.compare(0, 4, "\x7f" "ELF") == 0);
  const JitModule a = JitModule::compile(p), b = JitModule::load(object);
  const auto data = test::make_inputs(p.fn, 1000, 7);
  const auto in = test::pointers(data);
  std::vector<float> ga(1000), gb(1000);
  float* pa[] = {ga.data()};
  float* pb[] = {gb.data()};
  // Bitwise: the same machine code (NaN != NaN, and bce has NaNs at pred = 0).
  const float sa = a.loop()(in.data(), pa, 0, 1000, 1e-3f), sb = b.loop()(in.data(), pb, 0, 1000, 1e-3f);
  CHECK(std::memcmp(&sa, &sb, sizeof sa) == 0);
  CHECK(std::memcmp(ga.data(), gb.data(), ga.size() * sizeof(float)) == 0);
  CHECK_THROWS_AS(JitModule::load("not an object file"), std::runtime_error);
}

TEST_CASE("llvm: the loop touches exactly [begin, end)") {
  const Program p = test::program_for(pred_label_loss(bce()), {0});
  const JitModule jit = JitModule::compile(p);
  const auto data = test::make_inputs(p.fn, 100, 3);
  const auto in = test::pointers(data);
  std::vector<float> g(100, -7.0f);
  float* gp[] = {g.data()};
  CHECK(jit.loop()(in.data(), gp, 50, 50, 1.0f) == 0.0f);
  CHECK(jit.loop()(in.data(), gp, 60, 10, 1.0f) == 0.0f);
  CHECK(g == std::vector<float>(100, -7.0f));
  jit.loop()(in.data(), gp, 10, 90, 1.0f);
  for (int i = 0; i < 100; ++i) CHECK((g[i] == -7.0f) == (i < 10 || i >= 90));
  CHECK(llvm_backend::host_target().find(std::to_string(14)) != std::string::npos);
}

TEST_CASE("llvm: the JIT compiles for a pinned CPU unless LOSSCC_JIT_CPU says otherwise") {
  const char* was = std::getenv("LOSSCC_JIT_CPU");
  const std::string saved = was ? was : "";
  ::setenv("LOSSCC_JIT_CPU", "host", 1);
  CHECK(llvm_backend::jit_cpu() == "host");
  ::setenv("LOSSCC_JIT_CPU", "znver3", 1);
  CHECK(llvm_backend::jit_cpu() == "znver3");
  ::setenv("LOSSCC_JIT_CPU", "baseline", 1);
  CHECK(llvm_backend::jit_cpu().empty());
  ::unsetenv("LOSSCC_JIT_CPU");
  CHECK(llvm_backend::jit_cpu().empty());
#if defined(__x86_64__)
  // ctest runs this without LOSSCC_JIT_CPU: the cache key names the baseline.
  if (saved.empty()) CHECK(llvm_backend::host_target().find("-x86-64-v3-") != std::string::npos);
#endif
  if (!saved.empty()) ::setenv("LOSSCC_JIT_CPU", saved.c_str(), 1);
}

}  // namespace
}  // namespace losscc

TEST_CASE("llvm scan helper: the radix order is scan_order's, for every kind of float key") {
  std::mt19937_64 rng(5);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float specials[] = {0.0f, -0.0f, inf, -inf, nan, 1e-40f, -1e-40f, 1.0f, 2.0f, 3.0f, -1.0f,
                            std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest()};
  std::uniform_int_distribution<int> pick(0, static_cast<int>(std::size(specials)) - 1);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int trial = 0; trial < 300; ++trial) {
    const int64_t n = trial < 10 ? trial : 1 + static_cast<int64_t>(rng() % (trial < 250 ? 120 : 1500));
    std::vector<float> key(static_cast<size_t>(n));
    for (float& k : key) k = trial % 3 == 0 ? specials[pick(rng)] : trial % 3 == 1 ? normal(rng) : float(rng() % 4);
    std::vector<int32_t> want(key.size()), got(key.size());
    losscc::scan_order(key.data(), 1, n, want.data());
    losscc::llvm_backend::losscc_scan_order_f32(key.data(), 1, n, got.data());
    INFO("trial ", trial, ", n = ", n);
    CHECK(got == want);
  }
  // A per-query key (stride 0): the list's own order.
  const float one = 2.5f;
  std::vector<int32_t> order(5);
  losscc::llvm_backend::losscc_scan_order_f32(&one, 0, 5, order.data());
  CHECK(order == std::vector<int32_t>{0, 1, 2, 3, 4});
}

#endif  // LOSSCC_HAVE_LLVM
