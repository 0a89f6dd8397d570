#include "compiler/passes/fingerprint.h"

#include <algorithm>
#include <cmath>

#include "compiler/passes/build_program.h"
#include "compiler/passes/probes.h"

namespace losscc {

std::vector<double> gradient_fingerprint(const LossFunction& fn) {
  if (fn.grouped()) {
    // Three fixed lists (1, 3 and 6 documents) of the probe values.
    probes::GroupProbe probe(fn, trained_inputs(fn));
    std::vector<double> fp;
    size_t at = 0;
    for (size_t n : {1, 3, 6}) {
      probes::ProbeList list(fn.inputs.size(), std::vector<double>(n));
      for (size_t j = 0; j < list.size(); ++j) {
        const std::vector<double> v = probes::fixed_values(fn.inputs[j].domain);
        for (size_t i = 0; i < n; ++i) list[j][i] = v[(at + i + 2 * j) % v.size()];
      }
      at += n;
      const auto& out = probe.at(list);
      for (size_t o = 1; o < out.size(); ++o) fp.insert(fp.end(), out[o].begin(), out[o].end());
    }
    return fp;
  }
  probes::Probe probe(fn, trained_inputs(fn));
  std::vector<double> fp;
  const size_t points = probes::fixed_values(Domain::Real).size();
  std::vector<double> x(fn.inputs.size());
  for (size_t k = 0; k < points; ++k) {
    for (size_t j = 0; j < x.size(); ++j) {
      std::vector<double> v = probes::fixed_values(fn.inputs[j].domain);
      x[j] = v[(k + 2 * j) % v.size()];
    }
    const std::vector<double>& out = probe.at(x);
    fp.insert(fp.end(), out.begin() + 1, out.end());
  }
  return fp;
}

bool same_fingerprint(const std::vector<double>& a, const std::vector<double>& b, double rel_tol) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    double x = a[i], y = b[i];
    if (std::isnan(x) || std::isnan(y)) {
      if (!(std::isnan(x) && std::isnan(y))) return false;
      continue;
    }
    if (std::isinf(x) || std::isinf(y)) {
      if (x != y) return false;
      continue;
    }
    double diff = std::fabs(x - y);
    if (diff > 1e-12 && diff > rel_tol * std::max(std::fabs(x), std::fabs(y))) return false;
  }
  return true;
}

}  // namespace losscc
