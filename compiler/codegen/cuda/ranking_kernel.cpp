#include "compiler/codegen/cuda/ranking_kernel.h"

#include <fmt/format.h>

#include <iterator>
#include <unordered_map>
#include <unordered_set>

#include "compiler/codegen/cuda/cuda_ops.h"
#include "compiler/ir/query_plan.h"

namespace losscc::cuda {
namespace {

// Shared slots: the plan's scratch nodes, plus the inputs read at another
// document (staged into shared memory by the first loop).
struct SharedLayout {
  std::unordered_map<const Node*, int> slot;
  int slots = 0;
  explicit SharedLayout(const QueryPlan& plan) : slot(plan.slot), slots(plan.slots) {
    for (const Node* n : plan.nodes)
      if (n->op() == Op::Other || n->op() == Op::Rank)
        if (n->arg(0)->is_input() && !slot.count(n->arg(0).get())) slot.emplace(n->arg(0).get(), slots++);
  }
};

class RankingEmitter {
 public:
  RankingEmitter(const Program& p, std::string name) : p_(p), plan_(p), shared_(plan_), name_(std::move(name)) {
    for (const Node* n : plan_.nodes) id_.emplace(n, static_cast<int>(id_.size()));
    // A constant read only as an exponent is folded into the power's code
    // (op_expression), so it gets no variable.
    for (const Node* n : plan_.nodes)
      for (size_t k = 0; k < n->args().size(); ++k)
        if (!(n->op() == Op::Pow && k == 1)) read_.insert(n->arg(k).get());
    for (const Expr& o : p_.outputs) read_.insert(o.get());
  }

  void emit(std::string& out) {
    auto o = std::back_inserter(out);
    std::string params;
    for (size_t k = 0; k < p_.fn.inputs.size(); ++k) params += fmt::format("const float* __restrict__ in{}, ", k);
    params += "\n    ";
    for (size_t k = 0; k < p_.stored_outputs(); ++k) params += fmt::format("float* __restrict__ g{}, ", k);
    fmt::format_to(o,
                   "\n// ---- {0} (ranking: one block per query, {1} shared float(s) per document) ----\n"
                   "extern \"C\" __global__ void __launch_bounds__(losscc_block_size)\n"
                   "{0}(\n    {2}\n    const long long* __restrict__ offsets, long long queries,\n"
                   "    float grad_scale, float loss_scale, float* __restrict__ block_sums, float* __restrict__ loss) {{\n"
                   "  extern __shared__ float losscc_shared[];\n"
                   "  float block_total = 0.0f;\n"
                   "  for (long long q = blockIdx.x; q < queries; q += gridDim.x) {{\n"
                   "    const long long base = offsets[q];\n"
                   "    const int n = (int)(offsets[q + 1] - base);\n",
                   name_, shared_.slots, params);
    sorted_.clear();
    for (int s = 0; s < plan_.stages; ++s) stage(s, out);
    // Gradients that are per query: the same at every document.
    std::string broadcast;
    for (size_t k = 0; k < p_.stored_outputs(); ++k)
      if (p_.outputs[1 + k]->level() == Level::Query)
        broadcast += fmt::format("      g{}[base + i] = grad_scale * {};\n", k, var(p_.outputs[1 + k].get()));
    if (!broadcast.empty())
      fmt::format_to(o, "    for (int i = threadIdx.x; i < n; i += losscc_block_size) {{\n{}    }}\n", broadcast);
    fmt::format_to(o,
                   "    if (threadIdx.x == 0) block_total += {};\n"
                   "    __syncthreads();  // the next query reuses the shared arrays\n"
                   "  }}\n"
                   "  if (threadIdx.x == 0) {{\n"
                   "    if (block_sums) block_sums[blockIdx.x] = block_total;\n"
                   "    else atomicAdd(loss, loss_scale * block_total);\n"
                   "  }}\n"
                   "}}\n",
                   var(p_.outputs[0].get()));
  }

 private:
  std::string var(const Node* n) const { return fmt::format("v{}", id_.at(n)); }
  std::string shared_at(const Node* n, const char* doc) const {
    return fmt::format("losscc_shared[{} * n + {}]", shared_.slot.at(n), doc);
  }

  // A per-query or per-document value at document `doc` ("i" or "j").
  std::string at(const Node* x, const char* doc, const std::unordered_set<const Node*>& current) const {
    if (x->level() == Level::Query || current.count(x)) return var(x);
    if (shared_.slot.count(x)) return shared_at(x, doc);
    if (x->is_input()) return fmt::format("in{}[base + {}]", p_.fn.input_index(x->name()), doc);
    throw std::logic_error("emit_cuda: a per-document value is read where it is not available");
  }

  std::string expression(const Node* x, const std::vector<std::string>& args) const {
    if (x->is_input()) return fmt::format("in{}[base + i]", p_.fn.input_index(x->name()));
    return op_expression(*x, args);
  }

  void stage(int s, std::string& out) {
    auto o = std::back_inserter(out);
    fmt::format_to(o, "    // stage {}\n", s);
    static const std::unordered_set<const Node*> none;
    for (const Node* x : plan_.scalars(s)) {
      if (x->is_const() && !read_.count(x)) continue;
      std::string rhs;
      if (x->op() == Op::QSum) rhs = fmt::format("losscc_block_all_sum(r{})", id_.at(x));
      else if (x->op() == Op::QMax) rhs = fmt::format("losscc_block_all_max(r{})", id_.at(x));
      else if (x->op() == Op::QCount) rhs = "(float)n";
      else {
        std::vector<std::string> args;
        for (const Expr& a : x->args()) args.push_back(var(a.get()));
        rhs = op_expression(*x, args);
      }
      fmt::format_to(o, "    const float {} = {};\n", var(x), rhs);
    }
    // A scan that is itself a gradient is stored by this stage's loop.
    std::vector<size_t> scan_grads;
    for (const Node* x : plan_.scans(s)) {
      scan(x, out);
      for (size_t k = 0; k < p_.stored_outputs(); ++k)
        if (p_.outputs[1 + k].get() == x) scan_grads.push_back(k);
    }
    const std::vector<const Node*> loop = plan_.loop(s);
    const std::vector<const Node*> reductions = plan_.reductions(s);
    for (const Node* r : reductions)
      fmt::format_to(o, "    float r{} = {};\n", id_.at(r),
                     r->op() == Op::QMax ? "(-__int_as_float(0x7f800000))" : "0.0f");
    if (loop.empty() && reductions.empty() && scan_grads.empty()) return;

    fmt::format_to(o, "    for (int i = threadIdx.x; i < n; i += losscc_block_size) {{\n");
    for (size_t k : scan_grads)
      fmt::format_to(o, "      g{}[base + i] = grad_scale * {};\n", k, shared_at(p_.outputs[1 + k].get(), "i"));
    std::unordered_set<const Node*> current;
    for (const Node* x : loop) {
      // An input that is not staged is read where it is used (at() reads it
      // from global memory), so none is loaded for nothing.
      if (x->is_input() && !shared_.slot.count(x)) continue;
      if (x->op() == Op::Rank) {
        const Node* a = x->arg(0).get();
        fmt::format_to(o,
                       "      float {0} = 1.0f;\n"
                       "      {{\n"
                       "        const float xi = {1};\n"
                       "        for (int j = 0; j < n; ++j) {{\n"
                       "          const float xj = {2};\n"
                       "          {0} += (xj > xi || (xj == xi && j < i)) ? 1.0f : 0.0f;\n"
                       "        }}\n"
                       "      }}\n",
                       var(x), at(a, "i", current), at(a, "j", none));
      } else if (x->op() == Op::PairSum) {
        fmt::format_to(o, "      float {} = 0.0f;\n      for (int j = 0; j < n; ++j) {{\n", var(x));
        std::unordered_set<const Node*> pair;
        auto operand = [&](const Node* a) { return a->level() == Level::Pair ? var(a) : at(a, "i", current); };
        for (const Node* y : plan_.pair_nodes.at(x)) {
          std::string rhs;
          if (y->op() == Op::Other) rhs = at(y->arg(0).get(), "j", none);
          else {
            std::vector<std::string> args;
            for (const Expr& a : y->args()) args.push_back(operand(a.get()));
            rhs = op_expression(*y, args);
          }
          fmt::format_to(o, "        const float {} = {};\n", var(y), rhs);
        }
        fmt::format_to(o, "        if (j != i && {} > 0.0f) {} += {};\n      }}\n", operand(x->arg(0).get()), var(x),
                       operand(x->arg(1).get()));
      } else {
        std::vector<std::string> args;
        for (const Expr& a : x->args()) args.push_back(at(a.get(), "i", current));
        fmt::format_to(o, "      const float {} = {};\n", var(x), expression(x, args));
      }
      current.insert(x);
      if (shared_.slot.count(x)) fmt::format_to(o, "      {} = {};\n", shared_at(x, "i"), var(x));
      for (size_t k = 0; k < p_.stored_outputs(); ++k)
        if (p_.outputs[1 + k].get() == x) fmt::format_to(o, "      g{}[base + i] = grad_scale * {};\n", k, var(x));
    }
    for (const Node* r : reductions) {
      const std::string v = at(r->arg(0).get(), "i", current);
      if (r->op() == Op::QSum) fmt::format_to(o, "      r{} += {};\n", id_.at(r), v);
      else fmt::format_to(o, "      r{0} = fmaxf(r{0}, {1});\n", id_.at(r), v);
    }
    out += "    }\n    __syncthreads();  // this stage's shared values are read by the next\n";
  }

  // A scan, by the whole block: the documents sorted by the key into its order
  // slot (the first scan of that key: a bitonic network that compares
  // document i with its mirror in each block of `size`, then with i ^ stride,
  // so lists of any length sort with the missing tail never moved), then the
  // sums in that order, each thread a contiguous run of positions.
  void scan(const Node* x, std::string& out) {
    auto o = std::back_inserter(out);
    const Node* key = x->arg(0).get();
    fmt::format_to(o, "    // {} = {}\n    {{\n      int* order = (int*)&losscc_shared[{} * n];\n", var(x),
                   op_info(x->op()).name, plan_.order_slot.at(key));
    if (sorted_.insert(key).second)
      fmt::format_to(o,
                     "      for (int i = threadIdx.x; i < n; i += losscc_block_size) order[i] = i;\n"
                     "      __syncthreads();\n"
                     "      for (int size = 2; size < 2 * n; size <<= 1)\n"
                     "        for (int stride = size >> 1; stride > 0; stride >>= 1) {{\n"
                     "          for (int i = threadIdx.x; i < n; i += losscc_block_size) {{\n"
                     "            const int l = stride == size >> 1 ? (i ^ (size - 1)) : (i ^ stride);\n"
                     "            if (l <= i || l >= n) continue;\n"
                     "            const int a = order[i], b = order[l];\n"
                     "            if (losscc_scan_before({}, b, {}, a)) {{ order[i] = b; order[l] = a; }}\n"
                     "          }}\n"
                     "          __syncthreads();\n"
                     "        }}\n",
                     complete_at(key, "b"), complete_at(key, "a"));
    const Node* operand = x->arg(1).get();
    const std::string position = x->op() == Op::SuffixSum ? "order[n - 1 - k]" : "order[k]";
    fmt::format_to(o,
                   "      const int chunk = (n + losscc_block_size - 1) / losscc_block_size;\n"
                   "      const int begin = min(n, (int)threadIdx.x * chunk), end = min(n, begin + chunk);\n"
                   "      float part = 0.0f;\n"
                   "      for (int k = begin; k < end; ++k) part += {0};\n"
                   "      float sum = losscc_block_exclusive_sum(part);\n"
                   "      for (int k = begin; k < end; ++k) {{\n"
                   "        const int d = {1};\n"
                   "        sum += {2};\n"
                   "        {3} = sum;\n"
                   "      }}\n"
                   "    }}\n"
                   "    __syncthreads();  // the sums are read at every document\n",
                   complete_at(operand, position.c_str()), position, complete_at(operand, "d"), shared_at(x, "d"));
  }

  // A value complete before this stage, at document `doc`: an input from
  // global memory (it may be staged into shared memory only by this stage's
  // loop, which runs after the scan).
  std::string complete_at(const Node* x, const char* doc) const {
    if (x->is_input()) return fmt::format("in{}[base + {}]", p_.fn.input_index(x->name()), doc);
    static const std::unordered_set<const Node*> none;
    return at(x, doc, none);
  }

  const Program& p_;
  QueryPlan plan_;
  SharedLayout shared_;
  std::string name_;
  std::unordered_map<const Node*, int> id_;
  std::unordered_set<const Node*> sorted_;  // keys whose order this query has
  std::unordered_set<const Node*> read_;    // nodes some node reads, outputs included
};

}  // namespace

std::string_view ranking_helpers() {
  return R"(
// Block-wide reductions whose result every thread receives (the ranking
// kernels' per-query sums and maxima). The order is fixed for a fixed block
// size, so results are reproducible. Every thread of the block must call.
__device__ __forceinline__ float losscc_block_all_sum(float v) {
  __shared__ float warp_part[losscc_block_size / 32];
  __shared__ float total;
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) warp_part[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < losscc_block_size / 32 ? warp_part[lane] : 0.0f;
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (lane == 0) total = v;
  }
  __syncthreads();
  const float result = total;
  __syncthreads();
  return result;
}
__device__ __forceinline__ float losscc_block_all_max(float v) {
  __shared__ float warp_part[losscc_block_size / 32];
  __shared__ float total;
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, offset));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) warp_part[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < losscc_block_size / 32 ? warp_part[lane] : (-__int_as_float(0x7f800000));
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, offset));
    if (lane == 0) total = v;
  }
  __syncthreads();
  const float result = total;
  __syncthreads();
  return result;
}
// The scans' order (compiler/ir/scan.h): the higher key first, ties to the
// earlier document, a NaN key after every other one.
__device__ __forceinline__ bool losscc_scan_before(float ka, int a, float kb, int b) {
  const bool nan_a = ka != ka, nan_b = kb != kb;
  if (nan_a || nan_b) return nan_a == nan_b ? a < b : nan_b;
  return ka > kb || (ka == kb && a < b);
}
// The sum of v over the threads before this one (a serial pass by thread 0:
// one per scan, over the block's threads). Every thread of the block must call.
__device__ __forceinline__ float losscc_block_exclusive_sum(float v) {
  __shared__ float part[losscc_block_size];
  part[threadIdx.x] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    float sum = 0.0f;
    for (int t = 0; t < losscc_block_size; ++t) {
      const float x = part[t];
      part[t] = sum;
      sum += x;
    }
  }
  __syncthreads();
  const float result = part[threadIdx.x];
  __syncthreads();
  return result;
}
)";
}

void emit_ranking_kernel(const Program& p, const std::string& name, std::string& out) {
  RankingEmitter(p, name).emit(out);
}

int ranking_shared_slots(const Program& p) { return SharedLayout(QueryPlan(p)).slots; }

}  // namespace losscc::cuda
