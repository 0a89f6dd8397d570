// The host executor and kernels: blocks, threads, determinism, the mean/sum
// convention, argument checks, and the interpreter kernel against run_program.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <stdexcept>

#include "compiler/interp/interp.h"
#include "oracle.h"
#include "runtime/cpu/executor.h"
#include "runtime/cpu/interp_kernel.h"
#include "runtime/cpu/llvm_kernel.h"

namespace losscc {
namespace {

using rt::cpu::kBlockSize;
using rt::cpu::run_blocks;

Program bce_program(Reduction r = Reduction::Mean) {
  Expr pred = input("pred"), label = input("label");
  LossFunction fn;
  fn.inputs = LossFunction::default_inputs();
  fn.body = -(label * log(pred) + (1.0 - label) * log(1.0 - pred));
  fn.reduction = r;
  return test::program_for(fn, {0, 1});
}

// Inputs away from the edges, so every element is finite.
struct Data {
  explicit Data(const Program& p, int64_t n) : n(n) {
    LossFunction interior = p.fn;
    for (InputDecl& d : interior.inputs)
      if (d.domain == Domain::Probability) d.domain = Domain::Unit;
    values = test::make_inputs(interior, n, 11);
    for (float& v : values[0]) v = 0.01f + 0.98f * v;  // pred in [0.01, 0.99]
    grads.assign(p.grad_inputs.size(), std::vector<float>(n));
  }
  rt::HostArgs args(int threads) {
    rt::HostArgs a;
    a.n = n;
    a.inputs = test::pointers(values);
    for (auto& g : grads) a.grads.push_back(g.data());
    a.threads = threads;
    return a;
  }
  int64_t n;
  std::vector<std::vector<float>> values, grads;
};

bool same_bits(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k].size() != b[k].size() || std::memcmp(a[k].data(), b[k].data(), a[k].size() * 4) != 0)
      return false;
  return true;
}

TEST_CASE("executor: every block runs once, over fixed ranges") {
  for (int64_t n : {int64_t{0}, int64_t{1}, kBlockSize, kBlockSize + 1, int64_t{1} << 18}) {
    for (int threads : {1, 3}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      const double sum = run_blocks(n, threads, [&](int64_t b, int64_t e) {
        CHECK(b % kBlockSize == 0);
        CHECK(e == std::min(n, b + kBlockSize));
        for (int64_t i = b; i < e; ++i) hits[i]++;
        return static_cast<double>(e - b);
      });
      CHECK(sum == static_cast<double>(n));
      int64_t wrong = 0;
      for (auto& h : hits) wrong += h.load() != 1;
      CHECK(wrong == 0);
    }
  }
}

TEST_CASE("executor: an exception in a block reaches the caller") {
  auto failing = [](int64_t b, int64_t) -> double {
    if (b == 5 * kBlockSize) throw std::runtime_error("block 5");
    return 1;
  };
  CHECK_THROWS_WITH(run_blocks(int64_t{1} << 18, 4, failing), "block 5");
  CHECK_THROWS_WITH(run_blocks(int64_t{1} << 16, 1, failing), "block 5");
}

TEST_CASE("interp kernel: matches run_program") {
  const Program p = bce_program();
  Data d(p, 3000);
  const double loss = rt::cpu::InterpKernel(p).run(d.args(2));
  const ProgramResult want = run_program(p, test::pointers(d.values), d.n);
  CHECK(loss == doctest::Approx(want.loss).epsilon(1e-12));
  for (size_t k = 0; k < d.grads.size(); ++k)
    for (int64_t i = 0; i < d.n; i += 97)
      CHECK(d.grads[k][i] == static_cast<float>(want.grads[k][i]));
}

TEST_CASE("host kernels: argument checks and the empty input") {
  const Program p = bce_program();
  rt::cpu::InterpKernel k(p);
  Data d(p, 10);
  rt::HostArgs args = d.args(1);
  args.inputs.pop_back();
  CHECK_THROWS_AS(k.run(args), std::invalid_argument);
  args = d.args(1);
  args.grads[0] = nullptr;
  CHECK_THROWS_AS(k.run(args), std::invalid_argument);
  args = d.args(1);
  args.n = 0;
  CHECK(std::isnan(k.run(args)));  // the mean of nothing
  CHECK(rt::cpu::InterpKernel(bce_program(Reduction::Sum)).run(args) == 0.0);
}

#ifdef LOSSCC_HAVE_LLVM
TEST_CASE("llvm kernel: the same bits for 1, 2 and 7 threads") {
  const Program p = bce_program();
  const auto kernel = rt::cpu::LlvmKernel::compile(p);
  // Enough blocks that 7 threads really share them.
  const int64_t n = 40 * kBlockSize + 123;
  Data one(p, n), two(p, n), seven(p, n);
  const double l1 = kernel->run(one.args(1)), l2 = kernel->run(two.args(2)),
               l7 = kernel->run(seven.args(7));
  CHECK(std::memcmp(&l1, &l2, sizeof l1) == 0);
  CHECK(std::memcmp(&l1, &l7, sizeof l1) == 0);
  CHECK(same_bits(one.grads, two.grads));
  CHECK(same_bits(one.grads, seven.grads));
  CHECK(kernel->run(one.args(0)) == l1);  // 0: all hardware threads
}

TEST_CASE("llvm kernel: mean, sum and gradient scale agree with the interpreter") {
  for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
    const Program p = bce_program(r);
    Data a(p, 50000), b(p, 50000);
    const double got = rt::cpu::LlvmKernel::compile(p)->run(a.args(2));
    const double want = rt::cpu::InterpKernel(p).run(b.args(2));
    // Per-block float sums of well-conditioned terms (bce on [0.01, 0.99]).
    CHECK(got == doctest::Approx(want).epsilon(1e-5));
    for (size_t k = 0; k < a.grads.size(); ++k)
      for (int64_t i = 0; i < a.n; i += 101)
        CHECK(a.grads[k][i] == doctest::Approx(b.grads[k][i]).epsilon(1e-5));
  }
}

TEST_CASE("llvm kernel: an object file round-trips into an equal kernel") {
  const Program p = bce_program();
  std::string object;
  const auto compiled = rt::cpu::LlvmKernel::compile(p, &object);
  const auto loaded = rt::cpu::LlvmKernel::load(p, object);
  CHECK(compiled->compile_seconds() > 0);
  CHECK(loaded->backend() == rt::Backend::Llvm);
  Data a(p, 20000), b(p, 20000);
  CHECK(compiled->run(a.args(1)) == loaded->run(b.args(1)));
  CHECK(same_bits(a.grads, b.grads));
}
#endif

}  // namespace
}  // namespace losscc
