#include "compiler/explain/explain.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>
#include <unordered_map>

#include <fmt/format.h>

#include "compiler/interp/interp.h"
#include "compiler/ir/print.h"
#include "compiler/passes/grad.h"
#include "compiler/passes/probes.h"
#include "compiler/passes/simplify.h"

namespace losscc {

namespace {

const InputDecl* input_with_role(const LossFunction& fn, Role role) {
  for (const InputDecl& in : fn.inputs)
    if (in.role == role) return &in;
  return nullptr;
}

// The label values a person reads a loss at.
std::vector<double> label_values(Domain d) {
  switch (d) {
    case Domain::Binary: return {1, 0};
    case Domain::Grade: return {2, 1, 0};
    case Domain::Unit: return {1, 0.5, 0};
    case Domain::Probability: return {0.9, 0.5, 0.1};
    case Domain::Real: return {1, 0, -1};
  }
  return {};
}

// Where the card's prediction axis runs: the domain, short of ends where a
// log or a division would be infinite.
std::pair<double, double> axis(Domain d) {
  switch (d) {
    case Domain::Probability: return {0.005, 0.995};
    case Domain::Real: return {-6, 6};
    case Domain::Grade: return {0, 4};
    default: return {0, 1};
  }
}

// For reading only: with the label fixed, a subexpression that takes one
// finite value at every point of a sweep over the prediction's domain is that
// value (log1p(-pred) * 0 is 0, min(pred, 0) is 0 for a probability), and a
// min or max whose operands keep one order there is that operand. The sweep
// stands in for the open domain; the card and the verdict never use this.
class DomainFolder {
 public:
  DomainFolder(const std::string& input, Domain domain) : input_(input), points_(probes::sweep(domain, 41)) {
    for (double end : probes::domain_grid(domain))
      if (domain != Domain::Probability || (end > 0 && end < 1)) points_.push_back(end);
  }

  Expr fold(const Expr& e) {
    auto it = done_.find(e.get());
    if (it != done_.end()) return it->second;
    Expr out = e;
    if (!e->is_const() && !e->is_input() && !e->segmented()) {
      std::vector<Expr> args;
      for (const Expr& a : e->args()) args.push_back(fold(a));
      out = Expr::make(e->op(), args);
      if (std::optional<double> v = constant_value(out)) {
        out = constant(*v);
      } else if (out->op() == Op::Min || out->op() == Op::Max) {
        const int order = compare(out->arg(0), out->arg(1));  // -1: a ≤ b everywhere, 1: a ≥ b
        if (order != 0) out = (order < 0) == (out->op() == Op::Min) ? out->arg(0) : out->arg(1);
      }
    }
    done_.emplace(e.get(), out);
    return out;
  }

 private:
  std::vector<double> values(const Expr& e) {
    Evaluator eval({e}, {input_});
    std::vector<double> v(points_.size());
    for (size_t i = 0; i < points_.size(); ++i) eval.run(&points_[i], &v[i]);
    return v;
  }
  std::optional<double> constant_value(const Expr& e) {
    const std::vector<std::string> free = free_inputs(e);
    if (free.empty() || free.size() > 1 || free[0] != input_) return std::nullopt;
    const std::vector<double> v = values(e);
    for (double x : v)
      if (!std::isfinite(x) || std::abs(x - v[0]) > 1e-12 * std::max(1.0, std::abs(v[0]))) return std::nullopt;
    return v[0] == 0 ? 0.0 : v[0];  // -0 reads as 0
  }
  int compare(const Expr& a, const Expr& b) {
    for (const std::string& name : free_inputs(Expr::make(Op::Add, {a, b})))
      if (name != input_) return 0;
    const std::vector<double> va = values(a), vb = values(b);
    bool le = true, ge = true;
    for (size_t i = 0; i < va.size(); ++i) {
      if (!std::isfinite(va[i]) || !std::isfinite(vb[i])) return 0;
      le = le && va[i] <= vb[i];
      ge = ge && va[i] >= vb[i];
    }
    return le ? -1 : ge ? 1 : 0;
  }

  std::string input_;
  std::vector<double> points_;
  std::unordered_map<const Node*, Expr> done_;
};

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// Inputs of no role the explanation varies, bound to the middle of their domain.
std::vector<std::pair<std::string, Expr>> held_inputs(const LossFunction& fn, std::vector<std::string>* text) {
  std::vector<std::pair<std::string, Expr>> bindings;
  for (const InputDecl& in : fn.inputs) {
    if (in.role != Role::Other) continue;
    const double v = probes::middle(in.domain);
    bindings.emplace_back(in.name, constant(v));
    if (text) text->push_back(fmt::format("{} = {}", in.name, format_number(v)));
  }
  return bindings;
}

std::vector<const InputDecl*> inputs_with_role(const LossFunction& fn, Role role) {
  std::vector<const InputDecl*> out;
  for (const InputDecl& in : fn.inputs)
    if (in.role == role) out.push_back(&in);
  return out;
}

std::string kind_of(const LossFunction& fn) {
  if (fn.grouped()) return fn.tasks() > 0 ? "multi-task batch" : "ranking";
  if (input_with_role(fn, Role::Positive) || input_with_role(fn, Role::Negative)) return "pairwise";
  if (fn.tasks() > 0) return "multi-task";
  return "pointwise";
}

// Read at every combination of the label values (the first task's slowest),
// up to kMaxCases of them; each expression folded on every prediction's domain.
constexpr size_t kMaxCases = 27;

void explain_tasks(const LossFunction& fn, Explanation& e) {
  const std::vector<const InputDecl*> preds = inputs_with_role(fn, Role::Prediction);
  const std::vector<const InputDecl*> labels = inputs_with_role(fn, Role::Label);
  std::vector<std::string> names;
  for (const InputDecl* p : preds) names.push_back(p->name);
  const std::vector<Expr> grads = gradient(e.simplified, names);
  std::vector<std::vector<double>> values;
  size_t cases = 1;
  for (const InputDecl* l : labels) {
    values.push_back(label_values(l->domain));
    cases *= values.back().size();
  }
  for (const InputDecl* p : preds) e.predictions.push_back(p->name);
  for (const InputDecl* l : labels) e.labels.push_back(l->name);
  if (cases > kMaxCases) return;
  for (size_t c = 0; c < cases; ++c) {
    TaskLabelsCase out;
    std::vector<std::pair<std::string, Expr>> at;
    for (size_t k = labels.size(), rest = c; k-- > 0; rest /= values[k].size()) {
      out.labels.insert(out.labels.begin(), values[k][rest % values[k].size()]);
      at.emplace_back(labels[k]->name, constant(out.labels.front()));
    }
    std::vector<DomainFolder> folders;
    for (const InputDecl* p : preds) folders.emplace_back(p->name, p->domain);
    const auto read = [&](const Expr& x) {
      Expr r = simplify(substitute(x, at));
      for (DomainFolder& f : folders) r = simplify(f.fold(r));
      return r;
    };
    out.loss = read(e.simplified);
    for (const Expr& g : grads) out.grads.push_back(read(g));
    e.task_cases.push_back(std::move(out));
  }
}

// One curve: the loss and its first probed gradient as x[moved] sweeps
// [lo, hi] on a grid, the other inputs as `x` holds them.
nlohmann::json sweep(probes::Probe& probe, std::vector<double> x, int moved, double lo, double hi) {
  constexpr int kPoints = 199;
  nlohmann::json curve = {{"x", nlohmann::json::array()}, {"loss", nlohmann::json::array()},
                          {"grad", nlohmann::json::array()}};
  for (int i = 0; i < kPoints; ++i) {
    const double v = lo + (hi - lo) * i / (kPoints - 1);
    x[moved] = v;
    const std::vector<double>& out = probe.at(x);
    curve["x"].push_back(v);
    curve["loss"].push_back(number(out[0]));
    curve["grad"].push_back(number(out[1]));
  }
  return curve;
}

nlohmann::json pointwise_card(const LossFunction& fn, const InputDecl& pred, const InputDecl* label) {
  std::vector<int> wrt = {fn.input_index(pred.name)};
  probes::Probe probe(fn, wrt);
  std::vector<double> x;
  for (const InputDecl& in : fn.inputs) x.push_back(probes::middle(in.domain));
  const auto [lo, hi] = axis(pred.domain);
  nlohmann::json curves = nlohmann::json::array();
  for (double y : label ? label_values(label->domain) : std::vector<double>{0}) {
    if (label) x[fn.input_index(label->name)] = y;
    nlohmann::json curve = sweep(probe, x, wrt[0], lo, hi);
    if (label) curve["label"] = y;
    curves.push_back(std::move(curve));
  }
  return {{"x_label", pred.name}, {"label_name", label ? label->name : ""}, {"curves", curves}};
}

nlohmann::json pairwise_card(const LossFunction& fn, const InputDecl* pos, const InputDecl* neg) {
  std::vector<int> wrt;
  for (const InputDecl* in : {pos, neg})
    if (in) wrt.push_back(fn.input_index(in->name));
  probes::Probe probe(fn, wrt);
  std::vector<double> x;
  for (const InputDecl& in : fn.inputs) x.push_back(probes::middle(in.domain));
  const InputDecl& moved = pos ? *pos : *neg;
  const auto [lo, hi] = axis(moved.domain);
  return {{"x_label", moved.name}, {"label_name", ""},
          {"curves", nlohmann::json::array({sweep(probe, x, wrt[0], lo, hi)})}};
}

// One query of 24 documents: labels drawn from the label's domain (a graded
// label from 0..2, as LETOR's), scores N(0, 1) nudged up with the label so the
// order is realistic but imperfect; every document's gradient by its rank.
// A multi-task loss over a batch gets a batch of 24 rows the same way (its
// first task's; every other input at its middle).
nlohmann::json ranking_card(const LossFunction& fn, const InputDecl& pred, const InputDecl* label) {
  constexpr int kDocs = 24;
  std::mt19937_64 rng(20240521);
  probes::ProbeList list(fn.inputs.size(), std::vector<double>(kDocs));
  for (size_t j = 0; j < fn.inputs.size(); ++j)
    for (double& v : list[j]) v = probes::middle(fn.inputs[j].domain);
  const int p = fn.input_index(pred.name);
  const int l = label ? fn.input_index(label->name) : -1;
  std::uniform_int_distribution<int> grade(0, label && label->domain == Domain::Binary ? 1 : 2);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (int i = 0; i < kDocs; ++i) {
    const double y = l >= 0 ? grade(rng) : 0;
    if (l >= 0) list[l][i] = y;
    const double score = noise(rng) + 0.8 * y;
    // A probability prediction (a multi-task loss over a batch) is the score's sigmoid.
    list[p][i] = pred.domain == Domain::Real ? score : 1 / (1 + std::exp(-score));
  }
  probes::GroupProbe probe(fn, {p});
  const std::vector<std::vector<double>>& out = probe.at(list);
  std::vector<int> order(kDocs);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return list[p][a] > list[p][b]; });
  nlohmann::json docs = nlohmann::json::array();
  for (int r = 0; r < kDocs; ++r) {
    const int i = order[r];
    docs.push_back({{"rank", r + 1}, {"score", list[p][i]}, {"label", l >= 0 ? list[l][i] : 0.0},
                    {"grad", number(out[1][i])}});
  }
  return {{"loss", number(out[0][0])}, {"documents", docs}, {"x_label", "rank by " + pred.name},
          {"pred_name", pred.name}, {"label_name", label ? label->name : ""}};
}

}  // namespace

Explanation explain(const LossFunction& fn) {
  Explanation e;
  e.kind = kind_of(fn);
  e.check = check(fn);
  const std::vector<std::pair<std::string, Expr>> held = held_inputs(fn, &e.held);
  e.simplified = simplify(held.empty() ? fn.body : substitute(fn.body, held));
  const InputDecl* pred = input_with_role(fn, Role::Prediction);
  const InputDecl* label = input_with_role(fn, Role::Label);
  if (pred) e.prediction = pred->name;
  if (label) e.label = label->name;
  if (e.kind == "multi-task") explain_tasks(fn, e);
  if (e.kind != "pointwise" || !pred || !label) return e;
  const Expr grad = gradient(e.simplified, {pred->name})[0];
  for (double y : label_values(label->domain)) {
    const std::vector<std::pair<std::string, Expr>> at = {{label->name, constant(y)}};
    DomainFolder folder(pred->name, pred->domain);
    const auto read = [&](const Expr& x) { return simplify(folder.fold(simplify(substitute(x, at)))); };
    e.cases.push_back({y, read(e.simplified), read(grad)});
  }
  return e;
}

std::string format_explanation(const LossFunction& fn, const Explanation& e) {
  std::string text;
  if (!e.cases.empty()) {
    std::vector<std::string> heads;
    for (const LabelCase& c : e.cases) heads.push_back(fmt::format("{} = {}:", e.label, format_number(c.label)));
    const size_t width = std::max_element(heads.begin(), heads.end(), [](auto& a, auto& b) { return a.size() < b.size(); })->size();
    for (size_t k = 0; k < e.cases.size(); ++k)
      text += fmt::format("{:<{}} loss {}\n{:<{}} ∂/∂{} {}\n", heads[k], width, to_string(e.cases[k].loss), "", width,
                          e.prediction, to_string(e.cases[k].grad));
  } else if (!e.task_cases.empty()) {
    std::vector<std::string> heads;
    for (const TaskLabelsCase& c : e.task_cases) {
      std::string head;
      for (size_t k = 0; k < e.labels.size(); ++k)
        head += fmt::format("{}{} = {}", k ? ", " : "", e.labels[k], format_number(c.labels[k]));
      heads.push_back(head + ":");
    }
    const size_t width = std::max_element(heads.begin(), heads.end(), [](auto& a, auto& b) { return a.size() < b.size(); })->size();
    for (size_t c = 0; c < e.task_cases.size(); ++c) {
      text += fmt::format("{:<{}} loss {}\n", heads[c], width, to_string(e.task_cases[c].loss));
      for (size_t k = 0; k < e.predictions.size(); ++k)
        text += fmt::format("{:<{}} ∂/∂{} {}\n", "", width, e.predictions[k], to_string(e.task_cases[c].grads[k]));
    }
  } else {
    text += fmt::format("{} loss: {}\n", e.kind, to_string(e.simplified));
  }
  if (!e.held.empty()) {
    text += "held at the middle of their domains:";
    for (const std::string& h : e.held) text += " " + h;
    text += "\n";
  }
  std::string inputs;
  for (const InputDecl& in : fn.inputs)
    inputs += fmt::format("{}{} {} ({})", inputs.empty() ? "" : ", ", in.name, domain_name(in.domain), role_name(in.role));
  text += fmt::format("inputs: {}; reduction {}\n", inputs, reduction_name(fn.reduction));
  if (e.check.valid) {
    text += fmt::format("check: valid (direction checks held: {:.0f}%", 100 * e.check.monotonic_fraction);
    if (e.check.ideal_order_fraction) text += fmt::format("; ideal order preferred on {:.0f}% of lists", 100 * *e.check.ideal_order_fraction);
    text += ")\n";
  } else {
    text += "check: INVALID\n";
    for (const std::string& r : e.check.reasons) text += "  " + r + "\n";
  }
  return text;
}

nlohmann::json loss_card(const LossFunction& fn, const std::string& name) {
  const Explanation e = explain(fn);
  nlohmann::json card = {{"name", name}, {"kind", e.kind}, {"source", to_loss_source(fn)},
                         {"valid", e.check.valid}, {"explanation", format_explanation(fn, e)}};
  nlohmann::json cases = nlohmann::json::array();
  for (const LabelCase& c : e.cases)
    cases.push_back({{"label", c.label}, {"loss", to_string(c.loss)}, {"grad", to_string(c.grad)}});
  card["cases"] = cases;
  if (!e.task_cases.empty()) {
    nlohmann::json tasks = nlohmann::json::array();
    for (const TaskLabelsCase& c : e.task_cases) {
      nlohmann::json grads = nlohmann::json::object();
      for (size_t k = 0; k < e.predictions.size(); ++k) grads[e.predictions[k]] = to_string(c.grads[k]);
      nlohmann::json labels = nlohmann::json::object();
      for (size_t k = 0; k < e.labels.size(); ++k) labels[e.labels[k]] = c.labels[k];
      tasks.push_back({{"labels", labels}, {"loss", to_string(c.loss)}, {"grads", grads}});
    }
    card["task_cases"] = tasks;
  }
  const InputDecl* pred = input_with_role(fn, Role::Prediction);
  const InputDecl* label = input_with_role(fn, Role::Label);
  if ((e.kind == "ranking" || e.kind == "multi-task batch") && pred)
    card["ranking"] = ranking_card(fn, *pred, label);
  else if (e.kind == "pairwise")
    card["pointwise"] = pairwise_card(fn, input_with_role(fn, Role::Positive), input_with_role(fn, Role::Negative));
  else if (pred)
    card["pointwise"] = pointwise_card(fn, *pred, label);
  return card;
}

}  // namespace losscc
