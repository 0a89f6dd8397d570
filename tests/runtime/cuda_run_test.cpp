// The CUDA backend against the double-precision interpreter. Needs a GPU and
// its driver; without them these tests are reported as skipped (and one test
// checks that the absence is handled).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "compiler/interp/interp.h"
#include "runtime/cuda/cuda_kernel.h"
#include "runtime/cuda/driver.h"
#include "tests/runtime/cuda_programs.h"

using namespace losscc;
using namespace losscc::cuda_testing;
using losscc::rt::cuda_available;

namespace {

const bool kHaveGpu = cuda_available();

// Random inputs for `fn`, drawn from each input's domain, starting with its
// edge values (so every run meets them).
std::vector<std::vector<float>> random_inputs(const LossFunction& fn, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<float>> inputs;
  for (const InputDecl& in : fn.inputs) {
    std::vector<float> edges, v(static_cast<size_t>(n));
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    switch (in.domain) {
      case Domain::Probability: edges = {1e-7f, 1e-4f, 0.5f, 1.0f - 1e-4f, 0.99999988f}; break;
      case Domain::Binary: edges = {0.0f, 1.0f}; break;
      case Domain::Unit: edges = {0.0f, 1.0f, 0.5f}; break;
      // ±30 keeps exp() of a difference of two inputs inside float range.
      case Domain::Real: edges = {0.0f, -0.0f, 1e-30f, -1e-30f, 1.0f, -1.0f, 30.0f, -30.0f}; break;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      if (i < edges.size()) v[i] = edges[(i + inputs.size()) % edges.size()];
      else if (in.domain == Domain::Probability) v[i] = 1e-4f + (1.0f - 2e-4f) * unit(rng);
      else if (in.domain == Domain::Binary) v[i] = unit(rng) < 0.5f ? 0.0f : 1.0f;
      else if (in.domain == Domain::Unit) v[i] = unit(rng);
      else v[i] = std::fmax(-30.0f, std::fmin(30.0f, normal(rng)));
    }
    inputs.push_back(std::move(v));
  }
  return inputs;
}

struct GpuResult {
  float loss = 0;
  std::vector<std::vector<float>> grads;
};

// Runs `kernel` on copies of `inputs` placed `offset` floats into their
// device buffers (offset 1 defeats the 16-byte vector path).
GpuResult run_on_gpu(const rt::Kernel& kernel, const std::vector<std::vector<float>>& inputs, int64_t n,
                     size_t offset = 0) {
  const size_t bytes = (static_cast<size_t>(n) + offset) * sizeof(float);
  std::vector<rt::DeviceBuffer> in_bufs, grad_bufs;
  rt::DeviceArgs args;
  args.n = n;
  for (const auto& v : inputs) {
    in_bufs.emplace_back(bytes);
    in_bufs.back().upload(v.data(), static_cast<size_t>(n) * sizeof(float), offset * sizeof(float));
    args.inputs.push_back(in_bufs.back().as<const float>(offset * sizeof(float)));
  }
  for (size_t j = 0; j < kernel.program().grad_inputs.size(); ++j) {
    grad_bufs.emplace_back(bytes);
    args.grads.push_back(grad_bufs.back().as<float>(offset * sizeof(float)));
  }
  rt::DeviceBuffer loss(sizeof(float));
  args.loss = loss.as<float>();
  kernel.run_device(args);
  rt::cuda_synchronize();

  GpuResult r;
  loss.download(&r.loss, sizeof(float));
  for (auto& b : grad_bufs) {
    r.grads.emplace_back(static_cast<size_t>(n));
    b.download(r.grads.back().data(), static_cast<size_t>(n) * sizeof(float), offset * sizeof(float));
  }
  return r;
}

// Float against the double oracle. NaN must meet NaN and an infinity the
// same infinity; a reference beyond float's range must come back as the
// infinity of its sign; otherwise |gpu − ref| ≤ rel·|ref| + abs.
bool close(double gpu, double ref, double rel, double abs) {
  if (std::isnan(ref)) return std::isnan(gpu);
  if (std::fabs(ref) > std::numeric_limits<float>::max())
    return gpu == std::copysign(std::numeric_limits<double>::infinity(), ref) || std::fabs(gpu - ref) <= rel * std::fabs(ref);
  if (std::isinf(gpu)) return false;
  return std::fabs(gpu - ref) <= rel * std::fabs(ref) + abs;
}

// Σ|ℓ_i| · scale: the size the float sum's rounding error is relative to.
double abs_loss_scale(const Program& p, const std::vector<std::vector<float>>& inputs, int64_t n) {
  std::vector<std::string> names;
  for (const InputDecl& d : p.fn.inputs) names.push_back(d.name);
  Evaluator ev({p.outputs[0]}, names);
  std::vector<double> in(names.size());
  double sum = 0, out = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < in.size(); ++k) in[k] = inputs[k][static_cast<size_t>(i)];
    ev.run(in.data(), &out);
    if (std::isfinite(out)) sum += std::fabs(out);
  }
  return p.fn.reduction == Reduction::Mean ? sum / static_cast<double>(n) : sum;
}

// Compares one kernel with the interpreter on n elements; returns the number
// of gradient elements outside tolerance.
int64_t compare_with_interpreter(const Program& p, bool deterministic, int64_t n, uint64_t seed, double rel,
                                 size_t offset = 0) {
  const auto kernel = rt::make_cuda_kernel(p, {rt::Backend::Cuda, deterministic});
  const auto inputs = random_inputs(p.fn, n, seed);
  std::vector<const float*> ptrs;
  for (const auto& v : inputs) ptrs.push_back(v.data());
  const ProgramResult ref = run_program(p, ptrs, n);
  const GpuResult gpu = run_on_gpu(*kernel, inputs, n, offset);

  const double scale = p.fn.reduction == Reduction::Mean ? 1.0 / static_cast<double>(n) : 1.0;
  CHECK_MESSAGE(close(gpu.loss, ref.loss, rel, rel * abs_loss_scale(p, inputs, n)),
                "loss: gpu " << gpu.loss << " vs interpreter " << ref.loss);
  int64_t bad = 0;
  for (size_t j = 0; j < ref.grads.size(); ++j)
    for (int64_t i = 0; i < n; ++i) {
      const double g = gpu.grads[j][static_cast<size_t>(i)], r = ref.grads[j][static_cast<size_t>(i)];
      if (!close(g, r, rel, 1e-6 * scale)) {
        if (bad++ < 5) MESSAGE("grad " << j << "[" << i << "]: gpu " << g << " vs interpreter " << r);
      }
    }
  return bad;
}

}  // namespace

TEST_CASE("without a GPU the CUDA backend says why and throws BackendUnavailable" * doctest::skip(kHaveGpu)) {
  CHECK_FALSE(rt::cuda_unavailable_reason().empty());
  MESSAGE("CUDA unavailable: " << rt::cuda_unavailable_reason());
  const Program p = hand_built_programs()[0].second;
  CHECK_THROWS_AS(rt::make_cuda_kernel(p, {rt::Backend::Cuda, true}), rt::BackendUnavailable);
  CHECK_THROWS_AS(rt::DeviceBuffer(16), rt::BackendUnavailable);
}

// Tolerance for the hand-built losses: each CUDA math function is within 2
// ulp (expf, logf, tanhf, log1pf, expm1f, powf; sqrtf and / are exact), the
// losses chain at most ~20 such ops, and the edge inputs keep their condition
// numbers below ~10 (1-p is exact in float near 1, by Sterbenz). That bounds
// the relative error near 20·2·10·2^-24 ≈ 2.4e-5; 1e-4 leaves room. The loss
// is a float sum whose error is relative to Σ|ℓ_i|, not to the (possibly
// cancelling) total.
TEST_CASE("CUDA matches the interpreter on the hand-built losses" * doctest::skip(!kHaveGpu)) {
  for (auto& [label, p] : hand_built_programs()) {
    for (bool deterministic : {true, false}) {
      CAPTURE(label);
      CAPTURE(deterministic);
      CHECK(compare_with_interpreter(p, deterministic, 10007, 1, 1e-4) == 0);
      CHECK(compare_with_interpreter(p, deterministic, 4099, 2, 1e-4, /*offset=*/1) == 0);  // scalar path
    }
  }
}

TEST_CASE("CUDA matches the interpreter on small and empty inputs" * doctest::skip(!kHaveGpu)) {
  const Program mean = hand_built_programs()[0].second;  // bce, a mean
  for (int64_t n : {1, 2, 3, 4, 5, 7, 8, 9, 1023}) {
    CAPTURE(n);
    CHECK(compare_with_interpreter(mean, true, n, 3, 1e-4) == 0);
  }
  // n = 0: a mean is NaN, a sum is 0 (the interpreter's convention).
  const Program sum = hand_built_programs()[2].second;  // logit-bce, a sum
  for (const Program* p : {&mean, &sum}) {
    const auto kernel = rt::make_cuda_kernel(*p, {rt::Backend::Cuda, true});
    const GpuResult r = run_on_gpu(*kernel, random_inputs(p->fn, 0, 4), 0);
    if (p->fn.reduction == Reduction::Mean) CHECK(std::isnan(r.loss));
    else CHECK(r.loss == 0.0f);
  }
}

// Random programs are a smoke test for the emitter: a wrong spelling or a
// mis-wired variable breaks almost every element, while float-vs-double
// cancellation in an arbitrary expression (x + 100 − 100) can legitimately
// break a few. So: rel 1e-3, and at most 2% of gradient elements outside it.
TEST_CASE("CUDA agrees with the interpreter on random programs" * doctest::skip(!kHaveGpu)) {
  RandomProgramGen gen(99);
  constexpr int64_t n = 2048;
  for (int i = 0; i < 30; ++i) {
    const Program p = gen(4);
    CAPTURE(i);
    const int64_t bad = compare_with_interpreter(p, true, n, 100 + i, 1e-3);
    CHECK(bad <= n * static_cast<int64_t>(p.grad_inputs.size()) / 50);
  }
}

TEST_CASE("deterministic mode is bitwise reproducible, whatever the alignment" * doctest::skip(!kHaveGpu)) {
  const Program p = hand_built_programs()[1].second;  // focal
  const auto kernel = rt::make_cuda_kernel(p, {rt::Backend::Cuda, true});
  constexpr int64_t n = (1 << 20) + 3;
  const auto inputs = random_inputs(p.fn, n, 5);
  const GpuResult first = run_on_gpu(*kernel, inputs, n);
  for (int rep = 0; rep < 5; ++rep) {
    const GpuResult again = run_on_gpu(*kernel, inputs, n, /*offset=*/rep % 2);
    uint32_t a, b;
    std::memcpy(&a, &first.loss, 4);
    std::memcpy(&b, &again.loss, 4);
    CHECK(a == b);
    CHECK(std::memcmp(first.grads[0].data(), again.grads[0].data(), n * sizeof(float)) == 0);
  }
  const auto fast = rt::make_cuda_kernel(p, {rt::Backend::Cuda, false});
  CHECK(close(run_on_gpu(*fast, inputs, n).loss, first.loss, 1e-5, 0));
}

TEST_CASE("CUDA kernel: argument checks, host run, the disk cache" * doctest::skip(!kHaveGpu)) {
  const Program p = hand_built_programs()[0].second;
  const auto kernel = rt::make_cuda_kernel(p, {rt::Backend::Cuda, true});
  CHECK(kernel->backend() == rt::Backend::Cuda);
  CHECK_THROWS_AS(kernel->run(rt::HostArgs{}), std::logic_error);
  rt::DeviceArgs wrong;
  wrong.n = 1;
  CHECK_THROWS_AS(kernel->run_device(wrong), std::invalid_argument);
  const auto again = rt::make_cuda_kernel(p, {rt::Backend::Cuda, true});
  MESSAGE("compile " << kernel->compile_seconds() * 1e3 << " ms; again (disk cache) "
                     << again->compile_seconds() * 1e3 << " ms");
  CHECK(again->compile_seconds() <= kernel->compile_seconds());
}
