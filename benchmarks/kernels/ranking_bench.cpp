// Ranking section: the fused ranking kernel (LLVM JIT, segment offsets, one
// thread) against the same loss written as LibTorch ops on padded
// [queries, docs] tensors with a validity mask, the layout allRank and most
// PyTorch ranking code use, with autograd for the gradient. With --python,
// benchmarks/peers/ranking_peer.py adds allRank's own implementations, eager
// and under torch.compile, in the same run.
//
// Every list here is full (each query has `docs` documents), but the padded
// peer still builds and applies its masks, as a trainer fed ragged lists
// must. The peers are checked against the kernel (loss and gradient) before
// they are timed, so the figures compare the same computation.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include <unistd.h>

#include "benchmarks/kernels/bench.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "runtime/kernel.h"

namespace losscc::bench {
namespace {

using Padded = std::function<at::Tensor(const at::Tensor& score, const at::Tensor& label, const at::Tensor& valid)>;

// ListNet (top-1): -Σ_i softmax(label)_i · log_softmax(score)_i per query.
at::Tensor listnet_padded(const at::Tensor& s, const at::Tensor& y, const at::Tensor& valid) {
  const double inf = std::numeric_limits<double>::infinity();
  const at::Tensor log_p = at::log_softmax(s.masked_fill(~valid, -inf), 1);
  const at::Tensor target = at::softmax(y.masked_fill(~valid, -inf), 1);
  return -(target * log_p).masked_fill(~valid, 0).sum(1).mean();
}

// RankNet: Σ over pairs with label_i > label_j of softplus(s_j − s_i), per query.
at::Tensor ranknet_padded(const at::Tensor& s, const at::Tensor& y, const at::Tensor& valid) {
  const at::Tensor pair = (y.unsqueeze(2) > y.unsqueeze(1)) & valid.unsqueeze(2) & valid.unsqueeze(1);
  const at::Tensor diff = s.unsqueeze(2) - s.unsqueeze(1);  // [q, i, j] = s_i − s_j
  return (at::softplus(-diff) * pair).sum({1, 2}).mean();
}

// ApproxNDCG (τ = 1): −DCG(smooth ranks) / max(IDCG, 1e-10) per query.
at::Tensor approx_ndcg_padded(const at::Tensor& s, const at::Tensor& y, const at::Tensor& valid) {
  const int64_t docs = s.size(1);
  const at::Tensor others = valid.unsqueeze(1) & valid.unsqueeze(2) &
                            ~at::eye(docs, at::TensorOptions().dtype(at::kBool));
  const at::Tensor diff = s.unsqueeze(1) - s.unsqueeze(2);  // [q, i, j] = s_j − s_i
  const at::Tensor rank = 1 + (at::sigmoid(diff) * others).sum(2);
  const at::Tensor gain = (at::pow(2.0, y) - 1).masked_fill(~valid, 0);
  const at::Tensor dcg = (gain / at::log2(1 + rank)).sum(1);
  const at::Tensor ideal_gain = std::get<0>(gain.sort(1, /*descending=*/true));
  const at::Tensor position = at::arange(1, docs + 1, s.options());
  const at::Tensor idcg = (ideal_gain / at::log2(1 + position)).sum(1);
  return (-dcg / idcg.clamp_min(1e-10)).mean();
}

// ListMLE: Σ_i (log Σ_{j at or below i in the label order} exp(s_j) − s_i) per
// query; the label order is a stable descending sort (ties to the earlier
// document, as rank() breaks them), the suffix sums a reversed cumsum of
// exp(s − m) after the usual shift by the maximum (held constant: it
// cancels), as allRank computes them (LibTorch's logcumsumexp is 2.5× slower).
at::Tensor listmle_padded(const at::Tensor& s, const at::Tensor& y, const at::Tensor& valid) {
  const double inf = std::numeric_limits<double>::infinity();
  const at::Tensor order = std::get<1>(y.masked_fill(~valid, -inf).sort(/*stable=*/true, 1, /*descending=*/true));
  const at::Tensor sorted_valid = valid.gather(1, order);
  const at::Tensor sorted = s.gather(1, order).masked_fill(~sorted_valid, -inf);
  const at::Tensor m = std::get<0>(sorted.max(1, /*keepdim=*/true)).detach();
  const at::Tensor shifted = sorted - m;
  const at::Tensor suffix = at::log(at::exp(shifted).flip(1).cumsum(1).flip(1));
  return (suffix - shifted).masked_fill(~sorted_valid, 0).sum(1).mean();
}

struct RankingCase {
  const char* loss;  // examples/<loss>.loss
  Padded padded;
};

const RankingCase kCases[] = {
    {"listnet", listnet_padded},
    {"ranknet", ranknet_padded},
    {"approx_ndcg", approx_ndcg_padded},
    {"listmle", listmle_padded},
};

constexpr int kMaxGrade = 2;  // MQ2008's grades 0..2
constexpr double kAgreeTolerance = 2e-3;

json run_ranking_peer(const Options& options, int64_t queries, int64_t docs) {
  if (options.python.empty()) return {{"skipped", "no --python given"}};
  const std::string dir = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
  const std::string out_path = fmt::format("{}/losscc-bench-ranking-{}.json", dir, ::getpid());
  std::string losses;
  for (const RankingCase& c : kCases)
    if (options.selected(fmt::format("ranking/{}/", c.loss))) losses += (losses.empty() ? "" : ",") + std::string(c.loss);
  if (losses.empty()) return {{"skipped", "no loss selected"}};
  const std::string cmd = fmt::format(
      "'{}' '{}/benchmarks/peers/ranking_peer.py' --queries {} --docs {} --max-grade {} --losses {} --seed {} "
      "--min-time {} --json '{}'{}",
      options.python, options.source_dir, queries, docs, kMaxGrade, losses, options.seed, options.policy.min_time_s,
      out_path, options.quick ? " --no-compile" : "");
  fmt::print(stderr, "  {}\n", cmd);
  const int rc = std::system(cmd.c_str());
  std::ifstream in(out_path);
  if (rc != 0 || !in) return {{"skipped", fmt::format("peer script failed (exit status {})", rc)}};
  json result = json::parse(in);
  std::remove(out_path.c_str());
  return result;
}

}  // namespace

json run_ranking(const Options& options) {
  const int64_t queries = options.quick ? 200 : 10000, docs = options.quick ? 20 : 100, n = queries * docs;
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> grade(0, kMaxGrade);
  std::vector<float> score(static_cast<size_t>(n)), label(static_cast<size_t>(n)), grad(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    score[static_cast<size_t>(i)] = normal(rng);
    label[static_cast<size_t>(i)] = static_cast<float>(grade(rng));
  }
  std::vector<int64_t> offsets(static_cast<size_t>(queries + 1));
  for (int64_t q = 0; q <= queries; ++q) offsets[static_cast<size_t>(q)] = q * docs;

  at::set_num_threads(1);
  const at::Tensor label_t = at::from_blob(label.data(), {queries, docs}, at::kFloat);
  const at::Tensor valid = at::ones({queries, docs}, at::TensorOptions().dtype(at::kBool));

  json rows = json::array();
  for (const RankingCase& c : kCases) {
    const std::string name = fmt::format("ranking/{}/q{}xd{}/t1", c.loss, queries, docs);
    if (!options.selected(name)) continue;
    fmt::print(stderr, "  {}\n", name);
    const LossFunction fn = parse_loss_file(options.examples_dir + "/" + c.loss + ".loss");
    std::vector<int> grad_inputs;
    for (size_t j = 0; j < fn.inputs.size(); ++j)
      if (fn.inputs[j].role == Role::Prediction) grad_inputs.push_back(static_cast<int>(j));
    const Program program = build_program(fn, grad_inputs);
    const auto kernel = rt::get_kernel(program, {});
    rt::HostArgs args;
    args.n = n;
    for (const InputDecl& in : fn.inputs) args.inputs.push_back(in.role == Role::Prediction ? score.data() : label.data());
    args.grads = {grad.data()};
    args.threads = 1;
    args.offsets = offsets.data();
    args.queries = queries;

    // Agreement first: the padded peer against the kernel, loss and gradient.
    const double jit_loss = kernel->run(args);
    at::Tensor s = at::from_blob(score.data(), {queries, docs}, at::kFloat).clone().requires_grad_(true);
    at::Tensor peer_loss = c.padded(s, label_t, valid);
    peer_loss.backward();
    double scale = 0, err = 0;
    const float* peer_grad = s.grad().data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      scale = std::max(scale, static_cast<double>(std::abs(grad[static_cast<size_t>(i)])));
      err = std::max(err, static_cast<double>(std::abs(grad[static_cast<size_t>(i)] - peer_grad[i])));
    }
    const double loss_diff = std::abs(peer_loss.item<double>() - jit_loss) / std::max(std::abs(jit_loss), 1e-12);
    const double agreement = std::max(loss_diff, err / std::max(scale, 1e-30));

    RepeatPolicy policy = options.policy;
    const Stats jit = measure([&] { kernel->run(args); }, policy);
    const Stats eager = measure(
        [&] {
          at::Tensor x = at::from_blob(score.data(), {queries, docs}, at::kFloat).clone().requires_grad_(true);
          at::Tensor loss = c.padded(x, label_t, valid);
          loss.backward();
        },
        policy);
    json row = {{"name", name},
                {"loss", c.loss},
                {"queries", queries},
                {"docs", docs},
                {"max_grade", kMaxGrade},
                {"threads", 1},
                {"loss_value", jit_loss},
                {"padded_agreement", agreement},
                {"agree", agreement <= kAgreeTolerance},
                {"peers", {{"jit", stats_json(jit, n)}, {"libtorch_padded", stats_json(eager, n)}}},
                {"ratios", {{"padded_over_jit", eager.median_s / jit.median_s}}}};
    fmt::print(stderr, "    jit {:.3f} ms  libtorch padded {:.3f} ms  ({:.1f}x)  agreement {:.1e}\n",
               jit.median_s * 1e3, eager.median_s * 1e3, eager.median_s / jit.median_s, agreement);
    rows.push_back(std::move(row));
  }

  json out = {{"cases", rows}};
  out["allrank"] = run_ranking_peer(options, queries, docs);
  if (out["allrank"].contains("cases")) {
    for (const json& p : out["allrank"]["cases"]) {
      for (json& row : out["cases"]) {
        if (row["loss"] != p["loss"]) continue;
        const double jit = row["peers"]["jit"]["median_s"];
        row["ratios"]["allrank_eager_over_jit"] = p["eager"]["median_s"].get<double>() / jit;
        if (p.contains("compiled") && p["compiled"].contains("median_s"))
          row["ratios"]["allrank_compiled_over_jit"] = p["compiled"]["median_s"].get<double>() / jit;
      }
    }
  }
  return out;
}

}  // namespace losscc::bench
