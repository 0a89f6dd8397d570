// Test helpers for the host backends: input data with the edge values of
// each domain, and the comparison of a float backend with the
// double-precision interpreter (the oracle), with its tolerance.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/interp/interp.h"
#include "compiler/ir/program.h"
#include "compiler/passes/grad.h"

namespace losscc::test {

// n values per declared input. The first elements enumerate every
// combination of the inputs' edge values (pred = 0, 1, 1e-6, 1-1e-6; label
// 0/1; scores ±30, ±1, 0), up to half of n; the rest are random in each
// input's domain.
inline std::vector<float> edge_values(Domain d) {
  switch (d) {
    case Domain::Probability: return {0.0f, 1.0f, 1e-6f, 1.0f - 1e-6f, 0.5f};
    case Domain::Binary: return {0.0f, 1.0f};
    case Domain::Unit: return {0.0f, 1.0f, 0.5f};
    case Domain::Real: return {-30.0f, 30.0f, 0.0f, -1.0f, 1.0f};
  }
  return {0.0f};
}

inline std::vector<std::vector<float>> make_inputs(const LossFunction& fn, int64_t n,
                                                   uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::normal_distribution<float> score(0.0f, 4.0f);
  auto random_value = [&](Domain d) {
    switch (d) {
      case Domain::Probability: return std::min(std::max(unit(rng), 1e-7f), 1.0f - 1e-7f);
      case Domain::Binary: return static_cast<float>(rng() & 1);
      case Domain::Unit: return unit(rng);
      case Domain::Real: return score(rng);
    }
    return 0.0f;
  };
  int64_t combos = 1;
  for (const InputDecl& in : fn.inputs) combos = std::min(n / 2, combos * static_cast<int64_t>(edge_values(in.domain).size()));
  std::vector<std::vector<float>> data;
  int64_t stride = 1;  // mixed radix: input j's edge index is (i / stride_j) % size_j
  for (const InputDecl& in : fn.inputs) {
    const std::vector<float> edges = edge_values(in.domain);
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      v[i] = i < combos ? edges[(i / stride) % edges.size()] : random_value(in.domain);
    stride *= static_cast<int64_t>(edges.size());
    data.push_back(std::move(v));
  }
  return data;
}

// The fused program of `fn` with gradients for the inputs `wrt`, straight
// from grad (unsimplified: the backends must handle any DAG).
inline Program program_for(const LossFunction& fn, const std::vector<int>& wrt) {
  Program p;
  p.fn = fn;
  p.grad_inputs = wrt;
  std::vector<std::string> names;
  for (int j : wrt) names.push_back(fn.inputs[j].name);
  p.outputs.push_back(fn.body);
  for (const Expr& g : gradient(fn.body, names)) p.outputs.push_back(g);
  return p;
}

inline std::vector<const float*> pointers(const std::vector<std::vector<float>>& data) {
  std::vector<const float*> p;
  for (const auto& v : data) p.push_back(v.data());
  return p;
}

// The program's outputs at one element as a float evaluation gives them:
// every node in double (interp's apply), then rounded to float. With
// `ulps` > 0 each rounded node is also pushed `ulps` ulps up or down (a fixed
// pseudo-random sign per node), modelling a backend whose every op errs by
// that much, as libmvec's functions do (≤ 4 ulps). How far either result
// lands from the exact one measures how much float rounding disturbs this
// element: its conditioning. The random signs matter: a uniform push would
// hide the cancellation in a − b.
class FloatEmulator {
 public:
  explicit FloatEmulator(const Program& p, int ulps = 0) : nodes_(p.nodes()) {
    std::unordered_map<const Node*, int> index;
    for (size_t i = 0; i < nodes_.size(); ++i) index[nodes_[i]] = static_cast<int>(i);
    for (const Node* n : nodes_) {
      Slot s;
      if (n->is_input()) s.input = p.fn.input_index(n->name());
      for (size_t a = 0; a < n->args().size(); ++a) s.arg[a] = index.at(n->arg(a).get());
      const uint64_t h = (slots_.size() + 1) * 0x9e3779b97f4a7c15ULL;
      s.push = n->is_const() ? 0.0 : ulps * std::ldexp(1.0, -23) * ((h >> 40) & 1 ? 1 : -1);
      slots_.push_back(s);
    }
    for (const Expr& e : p.outputs) outputs_.push_back(index.at(e.get()));
    values_.resize(nodes_.size());
  }

  std::vector<double> run(const std::vector<const float*>& in, int64_t i) {
    for (size_t k = 0; k < nodes_.size(); ++k) {
      const Node* n = nodes_[k];
      double v;
      if (n->is_const()) v = n->value();
      else if (n->is_input()) v = in[slots_[k].input][i];
      else if (n->op() == Op::Pow) v = std::pow(values_[slots_[k].arg[0]], n->arg(1)->value());
      else v = apply(n->op(), values_[slots_[k].arg[0]], slots_[k].arg[1] < 0 ? 0.0 : values_[slots_[k].arg[1]]);
      values_[k] = static_cast<float>(v) * (1 + slots_[k].push);
    }
    std::vector<double> out;
    for (int o : outputs_) out.push_back(values_[o]);
    return out;
  }

 private:
  struct Slot {
    int input = -1;
    int arg[2] = {-1, -1};
    double push = 0;  // relative perturbation after rounding
  };
  std::vector<const Node*> nodes_;
  std::vector<Slot> slots_;
  std::vector<int> outputs_;
  std::vector<double> values_;
};

// The tolerance for one float result `got` against the exact value `exact`,
// where the two float emulations above give `nearest` (ulps = 0) and
// `perturbed` (ulps = 4).
//
// Float vs double: each float op rounds (≤ 0.5 ulp = 6e-8 relative), libmvec's
// log/exp/tanh/... err by up to 4 ulps, and errors compound along a path
// (random expressions reach depth 6, ~30 ops on the longest path) times each
// op's condition number. A fixed relative tolerance cannot cover guarded logs
// and reciprocals near 0 or 1 − sigmoid(x) for large x, where one ulp of an
// intermediate moves the result by percents, so the condition is measured at
// the element instead: the emulations' distance from the exact value is what
// float rounding costs there. Allow 4× that, plus 1e-4 relative (~1700 ulps:
// 30 ops × 4 ulps × a modest condition) and 1e-6 absolute for results that are
// 0 exactly but rounding residue (~1e-7) in float.
inline double tolerance(double exact, double nearest, double perturbed) {
  const double measured = std::max(std::fabs(nearest - exact), std::fabs(perturbed - exact));
  return 1e-4 * std::fabs(exact) + 1e-6 + 4 * measured;
}

enum class Verdict { Match, Mismatch, Incomparable };

// Incomparable: the element leaves float's range where double stays finite (or
// the reverse): overflow to inf, underflow to 0 then a division. There float
// and double legitimately disagree and no tolerance is meaningful.
inline Verdict compare(double got, double exact, double emulated, double perturbed) {
  if (!std::isfinite(perturbed) && std::isfinite(exact)) return Verdict::Incomparable;
  if (std::isnan(exact) || std::isnan(emulated)) {
    if (std::isnan(exact) && std::isnan(emulated)) return std::isnan(got) ? Verdict::Match : Verdict::Mismatch;
    return Verdict::Incomparable;
  }
  if (std::isinf(exact) || std::isinf(emulated)) {
    if (exact == emulated) return got == exact ? Verdict::Match : Verdict::Mismatch;
    return Verdict::Incomparable;
  }
  if (!std::isfinite(got)) return Verdict::Mismatch;
  return std::fabs(got - exact) <= tolerance(exact, emulated, perturbed) ? Verdict::Match
                                                                         : Verdict::Mismatch;
}

struct Tally {
  int64_t matched = 0, incomparable = 0, mismatched = 0;
  std::string first_mismatch;  // a description for the failure message
};

}  // namespace losscc::test
