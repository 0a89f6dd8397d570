#include "compiler/codegen/cuda/emit_cuda.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "compiler/codegen/cuda/cuda_ops.h"
#include "compiler/codegen/cuda/ranking_kernel.h"

namespace losscc::cuda {
namespace {

constexpr const char* kLanes[4] = {"x", "y", "z", "w"};

// What the translation unit needs once, whatever the programs: op helpers,
// 4-wide loads and stores, the block reduction and the deterministic
// reduction's second pass.
std::string prelude() {
  std::string out(op_helpers());
  out += fmt::format(R"(
constexpr int losscc_block_size = {0};

// Elements 4q .. 4q+3 of p: one 16-byte access when every array is aligned,
// four scalar ones otherwise. The caller's choice is uniform over the grid.
__device__ __forceinline__ float4 losscc_load4(const float* __restrict__ p, long long q, bool aligned) {{
  if (aligned) return reinterpret_cast<const float4*>(p)[q];
  const float* s = p + 4 * q;
  float4 v;
  v.x = s[0]; v.y = s[1]; v.z = s[2]; v.w = s[3];
  return v;
}}
__device__ __forceinline__ void losscc_store4(float* __restrict__ p, long long q, bool aligned,
                                              float scale, float4 d) {{
  d.x *= scale; d.y *= scale; d.z *= scale; d.w *= scale;
  if (aligned) {{
    reinterpret_cast<float4*>(p)[q] = d;
    return;
  }}
  float* s = p + 4 * q;
  s[0] = d.x; s[1] = d.y; s[2] = d.z; s[3] = d.w;
}}

// The sum of v over the block, in thread 0: shuffles within each warp, then
// the warp sums through shared memory. The order is fixed for a fixed block
// size, so the result is reproducible.
__device__ __forceinline__ float losscc_block_sum(float v) {{
  __shared__ float warp_sums[losscc_block_size / 32];
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  v = 0.0f;
  if (warp == 0) {{
    v = lane < losscc_block_size / 32 ? warp_sums[lane] : 0.0f;
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  }}
  return v;
}}

// Second pass of the deterministic reduction (one block): the per-block sums
// of the first pass, added in a fixed order.
extern "C" __global__ void __launch_bounds__(losscc_block_size)
{1}(const float* __restrict__ block_sums, int count, float loss_scale, float* __restrict__ loss) {{
  float v = 0.0f;
  for (int i = threadIdx.x; i < count; i += losscc_block_size) v += block_sums[i];
  v = losscc_block_sum(v);
  if (threadIdx.x == 0) *loss = v * loss_scale;
}}
)",
                     kBlockSize, kFinishKernel);
  return out;
}

// One program: its per-element device function and its kernel.
class ProgramEmitter {
 public:
  explicit ProgramEmitter(const Program& p) : p_(p), name_(kernel_name(p)) {
    if (p.outputs.size() != 1 + p.stored_outputs())
      throw std::invalid_argument("emit_cuda: a Program needs 1 + stored_outputs() outputs");
    nodes_ = p.nodes();
    // Liveness, parents before children: a node gets a variable only if an
    // output or a live node reads it (see reads_arg).
    for (const Expr& e : p.outputs) live_.insert(e.get());
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it)
      if (live_.count(*it))
        for (size_t a = 0; a < (*it)->args().size(); ++a)
          if (reads_arg(**it, a)) live_.insert((*it)->arg(a).get());

    std::vector<bool> used(p.fn.inputs.size(), false);
    for (const Node* n : nodes_) {
      if (!n->is_input() || !live_.count(n)) continue;
      const int k = p.fn.input_index(n->name());
      if (k < 0) throw std::invalid_argument("emit_cuda: the program uses an undeclared input");
      input_index_[n] = k;
      used[k] = true;
    }
    for (size_t k = 0; k < used.size(); ++k)
      if (used[k]) used_inputs_.push_back(static_cast<int>(k));
  }

  void emit(std::string& out) const {
    auto o = std::back_inserter(out);
    fmt::format_to(o, "\n// ---- {} ----\n", name_);
    emit_element(out);
    emit_kernel(out);
  }

 private:
  std::string grad_params(const char* type_and_prefix) const {
    std::string s;
    for (size_t j = 0; j < p_.stored_outputs(); ++j) s += fmt::format(", {}{}", type_and_prefix, j);
    return s;
  }

  // Whether op_expression() reads argument `a` of `n`: a Pow's exponent is
  // spelled inline, and x^0 is 1 whatever x is.
  static bool reads_arg(const Node& n, size_t a) {
    if (n.op() != Op::Pow) return true;
    return a == 0 && n.arg(1)->value() != 0.0;
  }

  // ℓ and its derivatives for one element: each live IR node one local, in
  // schedule order.
  void emit_element(std::string& out) const {
    auto o = std::back_inserter(out);

    std::string params;
    for (int k : used_inputs_) params += fmt::format("{}float in{}", params.empty() ? "" : ", ", k);
    for (size_t j = 0; j < p_.stored_outputs(); ++j)
      params += fmt::format("{}float& d{}", params.empty() ? "" : ", ", j);
    fmt::format_to(o, "__device__ __forceinline__ float {}_element({}) {{\n", name_, params);

    std::unordered_map<const Node*, std::string> var;
    std::vector<std::string> args;
    for (const Node* n : nodes_) {
      if (!live_.count(n)) continue;
      std::string v = fmt::format("v{}", var.size());
      std::string rhs;
      if (n->is_input()) {
        rhs = fmt::format("in{}", input_index_.at(n));
      } else {
        args.clear();
        for (size_t a = 0; a < n->args().size(); ++a)
          args.push_back(reads_arg(*n, a) ? var.at(n->arg(a).get()) : std::string());
        rhs = op_expression(*n, args);
      }
      fmt::format_to(o, "  const float {} = {};\n", v, rhs);
      var.emplace(n, std::move(v));
    }
    for (size_t j = 0; j < p_.stored_outputs(); ++j)
      fmt::format_to(o, "  d{} = {};\n", j, var.at(p_.outputs[1 + j].get()));
    fmt::format_to(o, "  return {};\n}}\n\n", var.at(p_.outputs[0].get()));
  }

  void emit_kernel(std::string& out) const {
    auto o = std::back_inserter(out);
    const size_t G = p_.stored_outputs();
    std::string params;
    for (size_t k = 0; k < p_.fn.inputs.size(); ++k)
      params += fmt::format("const float* __restrict__ in{}, ", k);
    if (!params.empty()) params += "\n    ";
    for (size_t j = 0; j < G; ++j) params += fmt::format("float* __restrict__ g{}, ", j);
    if (G > 0) params += "\n    ";
    fmt::format_to(o,
                   "extern \"C\" __global__ void __launch_bounds__(losscc_block_size)\n"
                   "{}(\n    {}long long n, float grad_scale, float loss_scale,\n"
                   "    float* __restrict__ block_sums, float* __restrict__ loss) {{\n",
                   name_, params);

    // Every array the loop touches must be 16-byte aligned for the vector path.
    std::string addresses;
    for (int k : used_inputs_) addresses += fmt::format("{}(unsigned long long)in{}", addresses.empty() ? "" : " | ", k);
    for (size_t j = 0; j < G; ++j)
      addresses += fmt::format("{}(unsigned long long)g{}", addresses.empty() ? "" : " | ", j);
    fmt::format_to(o,
                   "  const long long stride = (long long)gridDim.x * losscc_block_size;\n"
                   "  const long long tid = (long long)blockIdx.x * losscc_block_size + threadIdx.x;\n"
                   "{}"
                   "  const long long quads = n >> 2;\n"
                   "  float acc = 0.0f;\n"
                   "  for (long long q = tid; q < quads; q += stride) {{\n",
                   addresses.empty() ? "" : "  const bool aligned = ((" + addresses + ") & 15) == 0;\n");
    for (int k : used_inputs_) fmt::format_to(o, "    const float4 x{0} = losscc_load4(in{0}, q, aligned);\n", k);
    if (G > 0) {
      std::string ds;
      for (size_t j = 0; j < G; ++j) ds += fmt::format("{}d{}", j ? ", " : "", j);
      fmt::format_to(o, "    float4 {};\n", ds);
    }
    for (const char* lane : kLanes) {
      std::string call;
      for (int k : used_inputs_) call += fmt::format("{}x{}.{}", call.empty() ? "" : ", ", k, lane);
      for (size_t j = 0; j < G; ++j) call += fmt::format("{}d{}.{}", call.empty() ? "" : ", ", j, lane);
      fmt::format_to(o, "    acc += {}_element({});\n", name_, call);
    }
    for (size_t j = 0; j < G; ++j) fmt::format_to(o, "    losscc_store4(g{0}, q, aligned, grad_scale, d{0});\n", j);
    out += "  }\n";

    out += "  // The n % 4 elements after the last whole quad, one per thread.\n";
    fmt::format_to(o, "  const long long i = 4 * quads + tid;\n  if (i < n) {{\n");
    std::string call;
    for (int k : used_inputs_) call += fmt::format("{}in{}[i]", call.empty() ? "" : ", ", k);
    for (size_t j = 0; j < G; ++j) {
      fmt::format_to(o, "    float d{};\n", j);
      call += fmt::format("{}d{}", call.empty() ? "" : ", ", j);
    }
    fmt::format_to(o, "    acc += {}_element({});\n", name_, call);
    for (size_t j = 0; j < G; ++j) fmt::format_to(o, "    g{0}[i] = grad_scale * d{0};\n", j);
    out += R"(  }
  const float block_sum = losscc_block_sum(acc);
  if (threadIdx.x == 0) {
    if (block_sums) block_sums[blockIdx.x] = block_sum;
    else atomicAdd(loss, loss_scale * block_sum);
  }
}
)";
  }

  const Program& p_;
  std::string name_;
  std::vector<const Node*> nodes_;
  std::unordered_set<const Node*> live_;
  std::unordered_map<const Node*, int> input_index_;  // live Input node → declaration index
  std::vector<int> used_inputs_;  // declaration indices of the inputs the outputs read
};

std::string header_comment(const std::vector<const Program*>& programs) {
  std::string out = "// Generated by losscc: fused loss + gradient kernels (see compiler/codegen/cuda/emit_cuda.h).\n";
  for (const Program* p : programs)
    out += fmt::format("//   {}: {} input(s), {} gradient(s){}, {}{}\n", kernel_name(*p), p->fn.inputs.size(),
                       p->grad_inputs.size(), p->hessian ? " and their Hessian diagonals" : "",
                       reduction_name(p->fn.reduction),
                       p->grouped() ? " over queries (ranking)" : "");
  return out;
}

}  // namespace

std::string kernel_name(const Program& p) { return fmt::format("losscc_{:016x}", p.hash()); }

std::string emit_cuda(const Program& p, const CudaEmitOptions& options) {
  return emit_cuda_batch({p}, options);
}

std::string emit_cuda_batch(const std::vector<Program>& programs, const CudaEmitOptions& options) {
  std::vector<const Program*> distinct;
  std::unordered_set<uint64_t> seen;
  for (const Program& p : programs)
    if (seen.insert(p.hash()).second) distinct.push_back(&p);

  std::string out;
  if (options.header_comment) out += header_comment(distinct);
  out += prelude();
  if (std::any_of(distinct.begin(), distinct.end(), [](const Program* p) { return p->grouped(); }))
    out += ranking_helpers();
  for (const Program* p : distinct) {
    if (p->grouped())
      emit_ranking_kernel(*p, kernel_name(*p), out);
    else
      ProgramEmitter(*p).emit(out);
  }
  return out;
}

int max_list_size(const Program& p) {
  const int slots = ranking_shared_slots(p);
  return slots == 0 ? std::numeric_limits<int>::max() : kSharedFloats / slots;
}

}  // namespace losscc::cuda
