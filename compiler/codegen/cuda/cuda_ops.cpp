#include "compiler/codegen/cuda/cuda_ops.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <stdexcept>

namespace losscc::cuda {
namespace {

// One line per op: its CUDA C spelling, {0} and {1} standing for the argument
// variables. Every function here is an NVRTC builtin or one of op_helpers(),
// so the translation unit needs no #include. The exact-rounding library
// functions are used (expf, not __expf): fast intrinsics change results, and
// are opted into with NVRTC's --use_fast_math instead.
struct Spelling {
  Op op;
  const char* format;
};
constexpr std::array<Spelling, kNumOps> kSpellings = {{
    {Op::Const, nullptr},  // float_literal()
    {Op::Input, nullptr},  // bound by the emitter
    {Op::Neg, "-{0}"},
    {Op::Add, "{0} + {1}"},
    {Op::Sub, "{0} - {1}"},
    {Op::Mul, "{0} * {1}"},
    {Op::Div, "{0} / {1}"},
    {Op::Pow, nullptr},  // pow_expression(): integer exponents become multiplies
    {Op::Log, "logf({0})"},
    {Op::Exp, "expf({0})"},
    {Op::Sqrt, "sqrtf({0})"},
    {Op::Abs, "fabsf({0})"},
    {Op::Sign, "losscc_sign({0})"},
    {Op::Step, "losscc_step({0})"},
    {Op::Sigmoid, "losscc_sigmoid({0})"},
    {Op::Tanh, "tanhf({0})"},
    {Op::Relu, "losscc_relu({0})"},
    {Op::Softplus, "losscc_softplus({0})"},
    {Op::Log1p, "log1pf({0})"},
    {Op::Expm1, "expm1f({0})"},
    {Op::Min, "fminf({0}, {1})"},  // IEEE minNum, as expr.h asks
    {Op::Max, "fmaxf({0}, {1})"},
    // The segmented ops are loops, emitted by emit_cuda_ranking.cpp.
    {Op::QSum, nullptr},
    {Op::QMax, nullptr},
    {Op::QCount, nullptr},
    {Op::Rank, nullptr},
    {Op::Other, nullptr},
    {Op::PairSum, nullptr},
    {Op::Detach, "({0})"},
    {Op::PrefixSum, nullptr},
    {Op::SuffixSum, nullptr},
}};

constexpr bool table_in_op_order() {
  for (size_t i = 0; i < kSpellings.size(); ++i)
    if (static_cast<size_t>(kSpellings[i].op) != i) return false;
  return true;
}
static_assert(table_in_op_order(), "kSpellings must list every Op in enum order");

// Integer exponents up to this magnitude are lowered to a product (exact for
// 2, within a couple of ulps otherwise, and much faster than powf).
constexpr int kMaxMultiplyExponent = 4;

std::string pow_expression(const std::string& base, double exponent) {
  const double k = std::trunc(exponent);
  if (k == exponent && std::fabs(k) <= kMaxMultiplyExponent) {
    const int m = static_cast<int>(std::fabs(k));
    if (m == 0) return "1.0f";  // pow(x, 0) = 1 for every x, NaN included
    std::string product = base;
    for (int i = 1; i < m; ++i) product += " * " + base;
    if (k > 0) return product;
    return m == 1 ? "1.0f / " + base : "1.0f / (" + product + ")";
  }
  return fmt::format("powf({}, {})", base, float_literal(exponent));
}

}  // namespace

std::string float_literal(double v) {
  const float f = static_cast<float>(v);
  if (std::isnan(f)) return "__int_as_float(0x7fffffff)";
  if (std::isinf(f)) return f > 0 ? "__int_as_float(0x7f800000)" : "(-__int_as_float(0x7f800000))";
  // Nine significant digits round-trip every float exactly.
  std::string s = fmt::format("{:.9g}", f);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

std::string op_expression(const Node& node, const std::vector<std::string>& args) {
  switch (node.op()) {
    case Op::Const: return float_literal(node.value());
    case Op::Pow: return pow_expression(args.at(0), node.arg(1)->value());  // args[0] unset for x^0
    case Op::Input: throw std::logic_error("op_expression: Input nodes are bound by the emitter");
    default: break;
  }
  if (op_info(node.op()).segmented)
    throw std::logic_error("op_expression: a per-query op is a loop, not an expression");
  const Spelling& s = kSpellings[static_cast<size_t>(node.op())];
  if (op_info(node.op()).arity == 1) return fmt::format(fmt::runtime(s.format), args.at(0));
  return fmt::format(fmt::runtime(s.format), args.at(0), args.at(1));
}

std::string_view op_helpers() {
  return R"(// The ops with no single CUDA builtin. NaN goes where compiler/ir/expr.h
// says: sign, step and relu map it to 0; sigmoid and softplus propagate it.
__device__ __forceinline__ float losscc_sign(float x) {
  return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
}
__device__ __forceinline__ float losscc_step(float x) { return x > 0.0f ? 1.0f : 0.0f; }
__device__ __forceinline__ float losscc_relu(float x) { return x > 0.0f ? x : 0.0f; }
// exp(-|x|) <= 1, so neither branch overflows.
__device__ __forceinline__ float losscc_sigmoid(float x) {
  const float e = expf(-fabsf(x));
  return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}
__device__ __forceinline__ float losscc_softplus(float x) {
  return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
}
)";
}

}  // namespace losscc::cuda
