#include "compiler/passes/probe_signature.h"

#include <algorithm>
#include <cmath>

#include "compiler/interp/interp.h"
#include "compiler/passes/build_program.h"
#include "compiler/passes/check.h"

namespace losscc {

namespace {

ProbeSignature filled(double value, double d_pred, double d_label) {
  const size_t n = pointwise_probes().points.size();
  return {std::vector<double>(n, value), std::vector<double>(n, d_pred), std::vector<double>(n, d_label)};
}

bool close(double x, double y, double rel_tol) {
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
  if (std::isinf(x) || std::isinf(y)) return x == y;
  const double diff = std::fabs(x - y);
  return diff <= 1e-12 || diff <= rel_tol * std::max(std::fabs(x), std::fabs(y));
}

// The template as a program: its value and ∂/∂a, ∂/∂b.
std::vector<Expr> template_outputs(const Expr& body) {
  LossFunction fn;
  fn.inputs = {{"a", Domain::Real, Role::Other}, {"b", Domain::Real, Role::Other}};
  fn.body = body;
  return build_program(fn, {0, 1}).outputs;
}

}  // namespace

bool all_close(const std::vector<double>& a, const std::vector<double>& b, double rel_tol) {
  for (size_t k = 0; k < a.size(); ++k)
    if (!close(a[k], b[k], rel_tol)) return false;
  return true;
}

ProbeSignature ProbeSignature::pred() {
  ProbeSignature s = filled(0, 1, 0);
  const std::vector<ProbePoint>& points = pointwise_probes().points;
  for (size_t k = 0; k < points.size(); ++k) s.value[k] = points[k].pred;
  return s;
}

ProbeSignature ProbeSignature::label() {
  ProbeSignature s = filled(0, 0, 1);
  const std::vector<ProbePoint>& points = pointwise_probes().points;
  for (size_t k = 0; k < points.size(); ++k) s.value[k] = points[k].label;
  return s;
}

ProbeSignature ProbeSignature::constant(double c) { return filled(c, 0, 0); }

bool ProbeSignature::finite() const {
  auto ok = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
  };
  return ok(value) && ok(d_pred) && ok(d_label);
}

bool ProbeSignature::same_as(const ProbeSignature& other, double rel_tol) const {
  return all_close(value, other.value, rel_tol) && all_close(d_pred, other.d_pred, rel_tol) &&
         all_close(d_label, other.d_label, rel_tol);
}

bool ProbeSignature::passes_check() const {
  return passes_pointwise_probes(value.data(), d_pred.data(), d_label.data());
}

struct OpTemplate::Compiled {
  Evaluator eval;
};

OpTemplate::OpTemplate(const Expr& body)
    : compiled_(new Compiled{Evaluator(template_outputs(body), {"a", "b"})}), binary_(depends_on(body, "b")) {}
OpTemplate::~OpTemplate() = default;
OpTemplate::OpTemplate(OpTemplate&&) noexcept = default;
OpTemplate& OpTemplate::operator=(OpTemplate&&) noexcept = default;

void OpTemplate::evaluate(double a, double b, double out[3]) {
  const double in[2] = {a, binary_ ? b : 0.0};
  compiled_->eval.run(in, out);
}

void OpTemplate::compose(const ProbeSignature& a, const ProbeSignature& b, ProbeSignature& out) {
  const size_t n = a.value.size();
  out.value.resize(n);
  out.d_pred.resize(n);
  out.d_label.resize(n);
  double in[2] = {0, 0}, o[3];
  for (size_t k = 0; k < n; ++k) {
    in[0] = a.value[k];
    if (binary_) in[1] = b.value[k];
    compiled_->eval.run(in, o);
    out.value[k] = o[0];
    // The chain rule; a zero partial contributes nothing, even against an
    // infinite operand gradient (as the symbolic gradient drops the term).
    auto chain = [&](double da, double db) {
      double d = o[1] != 0 ? o[1] * da : 0.0;
      if (binary_ && o[2] != 0) d += o[2] * db;
      return d;
    };
    out.d_pred[k] = chain(a.d_pred[k], b.d_pred[k]);
    out.d_label[k] = chain(a.d_label[k], b.d_label[k]);
  }
}

}  // namespace losscc
