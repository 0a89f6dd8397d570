// Probe signatures: an expression's value and gradients at the points check()
// probes a pointwise loss at, composed one operator at a time.
//
// The search asks, at every decoding step, which next operator node can still
// lead to a loss that check() accepts, and which would only repeat a node the
// program already has. Building and checking each of the hundreds of possible
// next nodes would cost milliseconds apiece; composing their signatures from
// those of their operands costs microseconds. An operator is a template over
// inputs `a` and `b`, compiled once (its value and ∂/∂a, ∂/∂b) and evaluated
// by the interpreter, so a signature follows the compiler's semantics of every
// operator, guards included; the chain rule gives ∂/∂pred and ∂/∂label.
//
// check() stays the authority: a signature sees the probe points only and
// skips simplification, so the two can disagree where simplification moves a
// kink onto a probe point. The search measures how often they do.
#pragma once

#include <memory>
#include <vector>

#include "compiler/ir/expr.h"

namespace losscc {

struct ProbeSignature {
  // One entry per pointwise_probes() point (check.h).
  std::vector<double> value, d_pred, d_label;

  static ProbeSignature pred();
  static ProbeSignature label();
  static ProbeSignature constant(double c);

  bool finite() const;
  // Equal value and gradients at every point, within rel_tol of the larger
  // magnitude (absolute below 1e-12).
  bool same_as(const ProbeSignature& other, double rel_tol = 1e-9) const;
  // check()'s finite, nonzero-gradient and monotonic verdicts for a loss over
  // pred: prob and label: binary whose body has this signature.
  bool passes_check() const;
};

// Equal entries within rel_tol of the larger magnitude (absolute below
// 1e-12; NaN equals NaN, an infinity only itself): same_as() per array.
bool all_close(const std::vector<double>& a, const std::vector<double>& b, double rel_tol);

class OpTemplate {
 public:
  // `body` reads input("a") and, for a binary operator, input("b").
  explicit OpTemplate(const Expr& body);
  ~OpTemplate();
  OpTemplate(OpTemplate&&) noexcept;
  OpTemplate& operator=(OpTemplate&&) noexcept;
  bool binary() const { return binary_; }
  // The signature of body(a, b) (b is ignored by a unary template). Not
  // thread-safe: the interpreter owns scratch registers.
  void compose(const ProbeSignature& a, const ProbeSignature& b, ProbeSignature& out);
  // body, ∂body/∂a and ∂body/∂b at one point, into out[0..2] (for signatures
  // of other shapes: search/space/task_signature.h). Not thread-safe.
  void evaluate(double a, double b, double out[3]);

 private:
  struct Compiled;  // the interpreter's program of body, ∂body/∂a, ∂body/∂b
  std::unique_ptr<Compiled> compiled_;
  bool binary_;
};

}  // namespace losscc
