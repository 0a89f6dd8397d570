#include "compiler/passes/check.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "compiler/passes/probes.h"
#include "compiler/passes/simplify.h"

namespace losscc {

namespace {

using probes::all_inputs;
using probes::domain_grid;
using probes::draw;
using probes::GroupProbe;
using probes::middle;
using probes::Probe;
using probes::ProbeList;
using probes::sweep;

constexpr int kMonotonicPoints = 32;         // N pred values per label
constexpr double kMonotonicThreshold = 0.6;  // AutoLossGen's 60%
constexpr size_t kMaxGridPoints = 20000;     // cap on the finiteness grid
constexpr int kProbeLists = 48;               // ranking: random probe queries

bool has_role(const LossFunction& fn, Role r) {
  return std::any_of(fn.inputs.begin(), fn.inputs.end(), [&](const InputDecl& in) { return in.role == r; });
}

bool uses_role(const LossFunction& fn, Role r) {
  for (const InputDecl& in : fn.inputs)
    if (in.role == r && depends_on(fn.body, in.name)) return true;
  return false;
}

// Drop every other inner value of the longest axis until the grid is small.
void thin(std::vector<std::vector<double>>& axes) {
  auto size = [&] {
    size_t s = 1;
    for (auto& a : axes) s *= a.size();
    return s;
  };
  while (size() > kMaxGridPoints) {
    auto& a = *std::max_element(axes.begin(), axes.end(), [](auto& l, auto& r) { return l.size() < r.size(); });
    if (a.size() <= 2) break;
    std::vector<double> kept;
    for (size_t i = 0; i < a.size(); ++i)
      if (i % 2 == 0 || i + 1 == a.size()) kept.push_back(a[i]);
    a = kept;
  }
}

// Every point of the Cartesian grid over `axes`, the first axis fastest (an odometer).
template <typename Visit>
void for_each_grid_point(const std::vector<std::vector<double>>& axes, Visit visit) {
  std::vector<size_t> idx(axes.size(), 0);
  std::vector<double> x(axes.size());
  for (;;) {
    for (size_t j = 0; j < axes.size(); ++j) x[j] = axes[j][idx[j]];
    visit(x);
    size_t j = 0;
    while (j < idx.size() && ++idx[j] == axes[j].size()) idx[j++] = 0;
    if (j == idx.size()) return;
  }
}

class Checker {
 public:
  explicit Checker(const LossFunction& fn) : fn_(simplify(fn)) {}

  CheckReport run() {
    if (!fn_.body) {
      fail("undeclared-input", "the loss has no body");
      return report_;
    }
    for (const std::string& name : free_inputs(fn_.body))
      if (!fn_.find_input(name)) fail("undeclared-input", fmt::format("'{}' is used but not declared", name));
    if (!report_.valid) return report_;  // nothing below can evaluate it

    pairwise_ = has_role(fn_, Role::Positive) || has_role(fn_, Role::Negative);
    find_tasks();
    check_dependence();
    if (fn_.grouped()) {
      if (tasks_.empty()) check_ranking();
      else check_batch_tasks();
      return report_;
    }
    Probe probe(fn_, all_inputs(fn_));
    check_grid(probe);
    if (pairwise_)
      check_pairwise_direction(probe);
    else
      check_pointwise_direction(probe);
    return report_;
  }

 private:
  void fail(std::string_view check_name, const std::string& detail) {
    report_.valid = false;
    if (std::find(report_.failed_checks.begin(), report_.failed_checks.end(), check_name) ==
        report_.failed_checks.end())
      report_.failed_checks.emplace_back(check_name);
    report_.reasons.push_back(fmt::format("{}: {}", check_name, detail));
  }

  // ---- ranking losses ------------------------------------------------------

  // The first value of a GroupProbe's output over one list that is not
  // finite, as "<what> is <value> on <where> (<n> <item>s, <item> <i>)"; empty if none.
  std::string non_finite(const std::vector<std::vector<double>>& out, const std::string& where, const char* item) const {
    for (size_t o = 0; o < out.size(); ++o)
      for (size_t i = 0; i < out[o].size(); ++i)
        if (!std::isfinite(out[o][i]))
          return fmt::format("{} is {} on {} ({} {}s{})", o == 0 ? std::string("the loss") : "∂ℓ/∂" + fn_.inputs[o - 1].name,
                             out[o][i], where, out.back().size(), item, o == 0 ? "" : fmt::format(", {} {}", item, i));
    return {};
  }

  void check_ranking() {
    GroupProbe probe(fn_, all_inputs(fn_));
    const std::vector<ProbeList> lists = probes::probe_lists(fn_, kProbeLists);
    std::string first_bad;
    bool nonzero = false;
    for (size_t k = 0; k < lists.size(); ++k) {
      const auto& out = probe.at(lists[k]);
      report_.grid_points += static_cast<int>(lists[k][0].size());
      if (first_bad.empty()) first_bad = non_finite(out, fmt::format("probe list {}", k), "document");
      for (size_t j = 0; j < fn_.inputs.size(); ++j)
        if (trained(j))
          for (double g : out[j + 1]) nonzero = nonzero || g != 0;
    }
    if (!first_bad.empty()) fail("finite", first_bad);
    if (!nonzero) fail("nonzero-gradient", "every score gradient is 0 on the probe lists");

    const int score = first_of_role(Role::Prediction), label = first_of_role(Role::Label);
    if (score < 0 || label < 0) return;  // the dependence check already failed
    check_ideal_order(probe, lists, score, label);
    check_ranking_direction(probe, lists, score, label);
  }

  int first_of_role(Role r) const {
    for (size_t j = 0; j < fn_.inputs.size(); ++j)
      if (fn_.inputs[j].role == r) return static_cast<int>(j);
    return -1;
  }

  // The documents of a list, best label first (ties: earlier first).
  static std::vector<size_t> label_order(const std::vector<double>& label) {
    std::vector<size_t> order(label.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return label[a] > label[b]; });
    return order;
  }

  void check_ideal_order(GroupProbe& probe, const std::vector<ProbeList>& lists, int score, int label) {
    std::mt19937_64 rng(0x6964656cULL);
    int held = 0, total = 0;
    for (ProbeList list : lists) {
      const std::vector<double>& l = list[label];
      if (std::all_of(l.begin(), l.end(), [&](double v) { return v == l[0]; })) continue;
      std::vector<double> s(l.size());
      for (double& v : s) v = draw(fn_.inputs[score].domain, rng);
      std::sort(s.rbegin(), s.rend());
      const std::vector<size_t> order = label_order(l);
      for (size_t k = 0; k < order.size(); ++k) list[score][order[k]] = s[k];
      const double ideal = probe.at(list)[0][0];
      for (size_t k = 0; k < order.size(); ++k) list[score][order[k]] = s[order.size() - 1 - k];
      const double reversed = probe.at(list)[0][0];
      held += ideal < reversed;
      ++total;
    }
    report_.ideal_order_fraction = total ? static_cast<double>(held) / total : 1.0;
    if (total && *report_.ideal_order_fraction <= kIdealOrderThreshold)
      fail("ideal-order", fmt::format("scores in label order must give a lower loss than the same scores "
                                      "reversed; {} of {} lists ({:.0f}%, need more than {:.0f}%)",
                                      held, total, 100 * *report_.ideal_order_fraction, 100 * kIdealOrderThreshold));
  }

  void check_ranking_direction(GroupProbe& probe, const std::vector<ProbeList>& lists, int score, int label) {
    int held = 0, total = 0;
    for (const ProbeList& list : lists) {
      const auto& out = probe.at(list);
      const std::vector<double>& l = list[label];
      const std::vector<double>& g = out[score + 1];
      for (size_t i = 0; i < l.size(); ++i)
        for (size_t j = 0; j < l.size(); ++j) {
          if (!(l[i] > l[j]) || (g[i] == 0 && g[j] == 0)) continue;
          held += g[i] < g[j];
          ++total;
        }
    }
    judge_direction(held, total, "the gradient must raise relevant documents against irrelevant ones "
                                 "(∂ℓ/∂s_i < ∂ℓ/∂s_j where label_i > label_j)");
  }

  // ---- multi-task losses over a batch ---------------------------------------

  // A multi-task loss that reads batch statistics (qmean of a task's loss:
  // the batch is its one query) is judged on the probe lists as batches:
  // finite, and per task a non-zero gradient by its prediction and the right
  // direction at each row against that row's label.
  void check_batch_tasks() {
    GroupProbe probe(fn_, all_inputs(fn_));
    const std::vector<ProbeList> lists = probes::probe_lists(fn_, kProbeLists);
    std::string first_bad;
    std::vector<Votes> votes(tasks_.size());
    std::vector<bool> task_nonzero(tasks_.size(), false);
    for (size_t l = 0; l < lists.size(); ++l) {
      const auto& out = probe.at(lists[l]);
      report_.grid_points += static_cast<int>(lists[l][0].size());
      if (first_bad.empty()) first_bad = non_finite(out, fmt::format("probe batch {}", l), "row");
      for (size_t k = 0; k < tasks_.size(); ++k) {
        const std::vector<double>& g = out[tasks_[k].pred + 1];
        const std::vector<double>& y = lists[l][tasks_[k].label];
        for (size_t i = 0; i < g.size(); ++i) {
          task_nonzero[k] = task_nonzero[k] || g[i] != 0;
          votes[k].held += y[i] >= 0.5 ? g[i] < 0 : g[i] > 0;
          ++votes[k].total;
        }
      }
    }
    if (!first_bad.empty()) fail("finite", first_bad);
    double lowest = 1;
    for (size_t k = 0; k < tasks_.size(); ++k) {
      const Task& t = tasks_[k];
      if (!task_nonzero[k]) {
        fail("nonzero-gradient", fmt::format("task {}: ∂ℓ/∂{} is 0 on every probe batch", k + 1, fn_.inputs[t.pred].name));
        continue;
      }
      const double fraction = static_cast<double>(votes[k].held) / votes[k].total;
      lowest = std::min(lowest, fraction);
      if (fraction <= kMonotonicThreshold)
        fail("monotonic", fmt::format("task {}: at rows with {} = 1 the loss must fall as {} rises, with {} = 0 rise; "
                                      "{} of {} checks hold ({:.0f}%, need more than {:.0f}%)",
                                      t.index + 1, fn_.inputs[t.label].name, fn_.inputs[t.pred].name,
                                      fn_.inputs[t.label].name, votes[k].held, votes[k].total, 100 * fraction,
                                      100 * kMonotonicThreshold));
    }
    report_.monotonic_fraction = lowest;
  }

  // ---- pointwise and pairwise losses ---------------------------------------

  void check_dependence() {
    struct Need { Role role; const char* check; };
    const Need pointwise[] = {{Role::Prediction, "depends-on-prediction"}, {Role::Label, "depends-on-label"}};
    const Need pairwise[] = {{Role::Positive, "depends-on-positive"}, {Role::Negative, "depends-on-negative"}};
    for (const Need& n : pairwise_ ? pairwise : pointwise)
      if (!uses_role(fn_, n.role))
        fail(n.check, fmt::format("the loss uses no input with role {}", role_name(n.role)));
    for (const Task& t : tasks_)
      for (const auto& [input, check] : {std::pair{t.pred, "depends-on-prediction"}, std::pair{t.label, "depends-on-label"}})
        if (!depends_on(fn_.body, fn_.inputs[input].name))
          fail(check, fmt::format("task {} ({}, {}): the loss does not use {}", t.index + 1, fn_.inputs[t.pred].name,
                                  fn_.inputs[t.label].name, fn_.inputs[input].name));
  }

  // A multi-task loss: K >= 2 prediction inputs and K label inputs, paired in
  // declaration order (the k-th prediction is task k's, judged by the k-th
  // label). Each task must be trained and must prefer its own right answer.
  struct Task { int index; size_t pred, label; };
  void find_tasks() {
    if (pairwise_ || fn_.tasks() == 0) return;
    std::vector<size_t> preds, labels;
    for (size_t j = 0; j < fn_.inputs.size(); ++j) {
      if (fn_.inputs[j].role == Role::Prediction) preds.push_back(j);
      if (fn_.inputs[j].role == Role::Label) labels.push_back(j);
    }
    for (size_t k = 0; k < preds.size(); ++k) tasks_.push_back({static_cast<int>(k), preds[k], labels[k]});
  }

  // Whether input j's gradient is one the model trains with.
  bool trained(size_t j) const {
    Role r = fn_.inputs[j].role;
    return r == Role::Prediction || r == Role::Positive || r == Role::Negative;
  }

  // Finiteness and a non-zero gradient over the Cartesian grid of all domains.
  void check_grid(Probe& probe) {
    std::vector<std::vector<double>> axes;
    for (const InputDecl& in : fn_.inputs) axes.push_back(domain_grid(in.domain));
    thin(axes);
    bool nonzero = false;
    std::vector<bool> task_nonzero(tasks_.size(), false);
    std::string first_bad;
    for_each_grid_point(axes, [&](const std::vector<double>& x) {
      const std::vector<double>& out = probe.at(x);
      ++report_.grid_points;
      for (size_t k = 0; k < out.size() && first_bad.empty(); ++k)
        if (!std::isfinite(out[k]))
          first_bad = fmt::format("{} is {} at {}", k == 0 ? std::string("the loss") : "∂ℓ/∂" + fn_.inputs[k - 1].name,
                                  out[k], point(x));
      for (size_t j = 0; j < x.size(); ++j) nonzero = nonzero || (trained(j) && out[j + 1] != 0);
      for (size_t k = 0; k < tasks_.size(); ++k) task_nonzero[k] = task_nonzero[k] || out[tasks_[k].pred + 1] != 0;
    });
    if (!first_bad.empty()) fail("finite", first_bad);
    if (!nonzero) fail("nonzero-gradient", "every prediction gradient is 0 on the domain grid");
    for (size_t k = 0; k < tasks_.size() && nonzero; ++k)
      if (!task_nonzero[k])
        fail("nonzero-gradient", fmt::format("task {}: ∂ℓ/∂{} is 0 everywhere on the domain grid", k + 1,
                                             fn_.inputs[tasks_[k].pred].name));
  }

  std::vector<double> middles() const {
    std::vector<double> x;
    for (const InputDecl& in : fn_.inputs) x.push_back(middle(in.domain));
    return x;
  }

  // The direction votes of prediction input p: swept with the inputs in
  // `labels` at 0 and then at 1, every other input at its middle; a vote
  // holds where the loss falls as p rises for label 1 and rises for label 0.
  struct Votes { int held = 0, total = 0; };
  Votes direction_votes(Probe& probe, size_t p, const std::vector<size_t>& labels) {
    Votes votes;
    for (double y : {0.0, 1.0})
      for (double v : sweep(fn_.inputs[p].domain, kMonotonicPoints)) {
        std::vector<double> x = middles();
        for (size_t j : labels) x[j] = y;
        x[p] = v;
        const double g = probe.at(x)[p + 1];
        votes.held += y == 1.0 ? g < 0 : g > 0;
        ++votes.total;
      }
    return votes;
  }

  void check_pointwise_direction(Probe& probe) {
    if (!tasks_.empty()) return check_task_directions(probe);
    std::vector<size_t> labels;
    for (size_t j = 0; j < fn_.inputs.size(); ++j)
      if (fn_.inputs[j].role == Role::Label) labels.push_back(j);
    Votes all;
    for (size_t p = 0; p < fn_.inputs.size(); ++p) {
      if (fn_.inputs[p].role != Role::Prediction) continue;
      const Votes votes = direction_votes(probe, p, labels);
      all.held += votes.held;
      all.total += votes.total;
    }
    judge_direction(all.held, all.total, "for label 1 the loss must fall as pred rises, for label 0 rise");
  }

  // Per task: its prediction swept against its own label. Each task must
  // pass on its own; the report's fraction is the lowest task's.
  void check_task_directions(Probe& probe) {
    double lowest = 1;
    for (const Task& t : tasks_) {
      const auto [held, total] = direction_votes(probe, t.pred, {t.label});
      const double fraction = static_cast<double>(held) / total;
      lowest = std::min(lowest, fraction);
      if (fraction <= kMonotonicThreshold)
        fail("monotonic", fmt::format("task {}: for {} = 1 the loss must fall as {} rises, for {} = 0 rise; {} of {} "
                                      "checks hold ({:.0f}%, need more than {:.0f}%)",
                                      t.index + 1, fn_.inputs[t.label].name, fn_.inputs[t.pred].name,
                                      fn_.inputs[t.label].name, held, total, 100 * fraction, 100 * kMonotonicThreshold));
    }
    report_.monotonic_fraction = lowest;
  }

  void check_pairwise_direction(Probe& probe) {
    int held = 0, total = 0;
    const int n = 8;
    for (size_t a = 0; a < fn_.inputs.size(); ++a) {
      if (fn_.inputs[a].role != Role::Positive) continue;
      for (size_t b = 0; b < fn_.inputs.size(); ++b) {
        if (fn_.inputs[b].role != Role::Negative) continue;
        for (double va : sweep(fn_.inputs[a].domain, n))
          for (double vb : sweep(fn_.inputs[b].domain, n)) {
            std::vector<double> x = middles();
            x[a] = va;
            x[b] = vb;
            const std::vector<double>& out = probe.at(x);
            // Not strict, unlike the pointwise test: a pair already ordered
            // beyond a margin (the hinge's flat side) rightly gets no gradient.
            // A loss flat everywhere fails nonzero-gradient instead.
            held += (out[a + 1] <= 0) + (out[b + 1] >= 0);
            total += 2;
          }
      }
    }
    judge_direction(held, total, "the loss must fall as pos rises and rise as neg rises");
  }

  void judge_direction(int held, int total, const char* rule) {
    report_.monotonic_fraction = total ? static_cast<double>(held) / total : 0.0;
    if (total == 0) return;  // the dependence check already failed
    if (report_.monotonic_fraction <= kMonotonicThreshold)
      fail("monotonic", fmt::format("{}; {} of {} checks hold ({:.0f}%, need more than {:.0f}%)", rule,
                                    held, total, 100 * report_.monotonic_fraction,
                                    100 * kMonotonicThreshold));
  }

  std::string point(const std::vector<double>& x) const {
    std::string s;
    for (size_t j = 0; j < x.size(); ++j) s += fmt::format("{}{}={}", j ? ", " : "", fn_.inputs[j].name, x[j]);
    return s;
  }

  LossFunction fn_;
  bool pairwise_ = false;
  std::vector<Task> tasks_;
  CheckReport report_;
};

}  // namespace

const PointwiseProbes& pointwise_probes() {
  static const PointwiseProbes probes = [] {
    PointwiseProbes p;
    for (double label : domain_grid(Domain::Binary))
      for (double pred : domain_grid(Domain::Probability)) p.points.push_back({pred, label});
    p.grid = p.points.size();
    // The order of check_pointwise_direction: label 0 then 1, pred swept.
    for (double label : {0.0, 1.0})
      for (double pred : sweep(Domain::Probability, kMonotonicPoints)) p.points.push_back({pred, label});
    return p;
  }();
  return probes;
}

bool passes_pointwise_probes(const double* value, const double* d_pred, const double* d_label) {
  const PointwiseProbes& probes = pointwise_probes();
  bool nonzero = false;
  for (size_t k = 0; k < probes.grid; ++k) {
    if (!std::isfinite(value[k]) || !std::isfinite(d_pred[k]) || !std::isfinite(d_label[k])) return false;
    nonzero = nonzero || d_pred[k] != 0;
  }
  if (!nonzero) return false;
  int held = 0, total = 0;
  for (size_t k = probes.grid; k < probes.points.size(); ++k, ++total)
    held += probes.points[k].label == 1.0 ? d_pred[k] < 0 : d_pred[k] > 0;
  return static_cast<double>(held) / total > kMonotonicThreshold;
}

bool CheckReport::failed(std::string_view check_name) const {
  return std::find(failed_checks.begin(), failed_checks.end(), check_name) != failed_checks.end();
}

nlohmann::json CheckReport::to_json() const {
  nlohmann::json j = {{"valid", valid},
                      {"reasons", reasons},
                      {"failed_checks", failed_checks},
                      {"grid_points", grid_points},
                      {"monotonic_fraction", monotonic_fraction}};
  if (ideal_order_fraction) j["ideal_order_fraction"] = *ideal_order_fraction;
  return j;
}

CheckReport check(const LossFunction& fn) { return Checker(fn).run(); }

const MultiTaskProbes& multi_task_probes(int tasks) {
  if (tasks < 2) throw std::invalid_argument(fmt::format("a multi-task loss has at least 2 tasks, got {}", tasks));
  // Built once per task count; the search asks for one or two counts.
  static std::vector<std::unique_ptr<MultiTaskProbes>> built;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& p : built)
    if (p->tasks == tasks) return *p;
  auto p = std::make_unique<MultiTaskProbes>();
  p->tasks = tasks;
  std::vector<std::vector<double>> axes;
  for (int k = 0; k < tasks; ++k) {
    axes.push_back(domain_grid(Domain::Probability));
    axes.push_back(domain_grid(Domain::Binary));
  }
  thin(axes);
  for_each_grid_point(axes, [&](const std::vector<double>& x) { p->points.push_back(x); });  // check_grid()'s order
  p->grid = p->points.size();
  std::vector<double> middles;
  for (int k = 0; k < tasks; ++k) middles.insert(middles.end(), {middle(Domain::Probability), middle(Domain::Binary)});
  for (int k = 0; k < tasks; ++k) {
    p->sweep_begin.push_back(p->points.size());
    for (double label : {0.0, 1.0})
      for (double pred : sweep(Domain::Probability, kMonotonicPoints)) {
        std::vector<double> x = middles;
        x[2 * k] = pred;
        x[2 * k + 1] = label;
        p->points.push_back(std::move(x));
      }
  }
  built.push_back(std::move(p));
  return *built.back();
}

bool passes_multi_task_probes(int tasks, const std::vector<double>& value,
                              const std::vector<std::vector<double>>& grads) {
  const MultiTaskProbes& probes = multi_task_probes(tasks);
  std::vector<bool> task_nonzero(tasks, false);
  for (size_t i = 0; i < probes.grid; ++i) {
    if (!std::isfinite(value[i])) return false;
    for (const std::vector<double>& g : grads)
      if (!std::isfinite(g[i])) return false;
    for (int k = 0; k < tasks; ++k) task_nonzero[k] = task_nonzero[k] || grads[2 * k][i] != 0;
  }
  for (int k = 0; k < tasks; ++k) {
    if (!task_nonzero[k]) return false;
    int held = 0, total = 0;
    for (size_t i = probes.sweep_begin[k]; i < probes.sweep_begin[k] + 2 * kMonotonicPoints; ++i, ++total)
      held += probes.points[i][2 * k + 1] == 1.0 ? grads[2 * k][i] < 0 : grads[2 * k][i] > 0;
    if (static_cast<double>(held) / total <= kMonotonicThreshold) return false;
  }
  return true;
}

}  // namespace losscc
