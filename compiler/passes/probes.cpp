#include "compiler/passes/probes.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "compiler/passes/build_program.h"

namespace losscc::probes {

namespace {

std::vector<std::string> input_names(const LossFunction& fn) {
  std::vector<std::string> n;
  for (const InputDecl& in : fn.inputs) n.push_back(in.name);
  return n;
}

}  // namespace

std::vector<double> domain_grid(Domain d) {
  switch (d) {
    case Domain::Probability: return {1e-4, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1 - 1e-4};
    case Domain::Binary: return {0.0, 1.0};
    case Domain::Unit: return {0.0, 0.25, 0.5, 0.75, 1.0};
    case Domain::Real: return {-10.0, -3.0, -1.0, -0.25, 0.0, 0.5, 1.0, 3.0, 10.0};
    case Domain::Grade: return {0.0, 1.0, 2.0, 3.0, 4.0};
  }
  return {};
}

std::vector<double> sweep(Domain d, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) {
    double t = (i + 0.5) / n;  // (0,1), never the ends
    switch (d) {
      case Domain::Probability:
      case Domain::Unit: v.push_back(t); break;
      case Domain::Binary: v.push_back(i % 2); break;
      case Domain::Real: v.push_back(-10.0 + 20.0 * t); break;
      case Domain::Grade: v.push_back(i % 5); break;
    }
  }
  return v;
}

double middle(Domain d) {
  switch (d) {
    case Domain::Binary: return 1.0;
    case Domain::Real: return 0.0;
    default: return 0.5;
  }
}

// Input j of a fingerprint starts at offset 2j, so that two inputs of one
// domain are not probed at equal values.
std::vector<double> fixed_values(Domain d) {
  switch (d) {
    case Domain::Probability: return {0.13, 0.37, 0.61, 0.84, 0.05, 0.93};
    case Domain::Binary: return {1.0, 0.0, 1.0, 0.0, 0.0, 1.0};
    case Domain::Unit: return {0.0, 0.3, 0.55, 0.8, 1.0, 0.15};
    case Domain::Real: return {-2.3, -0.7, 0.4, 1.1, 2.9, -4.1};
    case Domain::Grade: return {2.0, 0.0, 1.0, 3.0, 0.0, 4.0};
  }
  return {};
}

double draw(Domain d, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  switch (d) {
    case Domain::Probability: return 1e-4 + (1 - 2e-4) * u(rng);
    case Domain::Binary: return u(rng) < 0.5 ? 0.0 : 1.0;
    case Domain::Unit: return u(rng);
    case Domain::Real: return std::normal_distribution<double>(0.0, 1.0)(rng);
    case Domain::Grade: return std::floor(5 * u(rng));
  }
  return 0;
}

std::vector<int> all_inputs(const LossFunction& fn) {
  std::vector<int> v(fn.inputs.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int>(i);
  return v;
}

std::vector<ProbeList> probe_lists(const LossFunction& fn, int count) {
  std::mt19937_64 rng(0x72616e6bULL);
  const size_t m = fn.inputs.size();
  const int sizes[] = {1, 1, 2, 3, 4, 5, 6, 8, 10, 13, 20, 40};
  std::vector<ProbeList> lists;
  for (int k = 0; k < count; ++k) {
    const size_t n = static_cast<size_t>(sizes[k % std::size(sizes)]);
    ProbeList list(m, std::vector<double>(n));
    for (size_t j = 0; j < m; ++j)
      for (size_t i = 0; i < n; ++i) list[j][i] = draw(fn.inputs[j].domain, rng);
    for (size_t j = 0; j < m; ++j) {
      const InputDecl& in = fn.inputs[j];
      if (in.role == Role::Label && k % 6 == 1) std::fill(list[j].begin(), list[j].end(), 0.0);  // none relevant
      if (in.role == Role::Label && k % 6 == 2) std::fill(list[j].begin(), list[j].end(), list[j][0]);  // all equal
      if (in.role == Role::Prediction && k % 6 == 3) std::fill(list[j].begin(), list[j].end(), list[j][0]);  // tied
      if (in.role == Role::Prediction && k % 6 == 4 && in.domain == Domain::Real)
        for (size_t i = 0; i < n; ++i) list[j][i] = i % 2 ? 10.0 : -10.0;  // far apart
    }
    lists.push_back(std::move(list));
  }
  return lists;
}

Probe::Probe(const LossFunction& fn, std::vector<int> wrt)
    : inputs(fn.inputs), program(build_program(fn, std::move(wrt))), eval(program.outputs, input_names(fn)),
      out(program.outputs.size()) {}

const std::vector<double>& Probe::at(const std::vector<double>& x) {
  eval.run(x.data(), out.data());
  return out;
}

GroupProbe::GroupProbe(const LossFunction& fn, std::vector<int> wrt)
    : program(build_program(fn, std::move(wrt))), eval(program.outputs, input_names(fn)) {}

const std::vector<std::vector<double>>& GroupProbe::at(const ProbeList& list) {
  const size_t n = list.empty() ? 0 : list[0].size();
  std::vector<const double*> in;
  for (const auto& v : list) in.push_back(v.data());
  out.assign(program.outputs.size(), std::vector<double>(n));
  std::vector<double*> o;
  for (auto& v : out) o.push_back(v.data());
  eval.run(in.data(), static_cast<int64_t>(n), o.data());
  return out;
}

}  // namespace losscc::probes
