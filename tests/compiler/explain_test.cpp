#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "compiler/explain/explain.h"
#include "compiler/interp/interp.h"
#include "compiler/ir/print.h"
#include "compiler/language/parse.h"

using namespace losscc;

namespace {

LossFunction example(const std::string& name) {
  return parse_loss_file(std::string(LOSSCC_SOURCE_DIR) + "/examples/" + name + ".loss");
}

const LabelCase& at_label(const Explanation& e, double label) {
  for (const LabelCase& c : e.cases)
    if (c.label == label) return c;
  FAIL("no case for label " << label);
  return e.cases.front();
}

}  // namespace

TEST_CASE("explain: bce read at each label is its textbook half") {
  const Explanation e = explain(example("bce"));
  CHECK(e.kind == "pointwise");
  CHECK(e.check.valid);
  REQUIRE(e.cases.size() == 2);
  CHECK(to_string(at_label(e, 1).loss) == "-log(pred)");
  CHECK(to_string(at_label(e, 1).grad) == "-1 / pred");
  CHECK(to_string(at_label(e, 0).loss) == "-log1p(-pred)");
  CHECK(to_string(at_label(e, 0).grad) == "1 / (1 - pred)");
}

TEST_CASE("explain: logmin is linear in the prediction for a negative (min(label, pred) folds on the domain)") {
  const Explanation e = explain(example("logmin"));
  const LabelCase& negative = at_label(e, 0);
  // log(1/1e-6 + 1e-6) · pred: the slope is a constant, 13.8155...
  REQUIRE(negative.grad->is_const());
  CHECK(negative.grad->value() == doctest::Approx(std::log(1e6 + 1e-6)).epsilon(1e-12));
  CHECK(to_string(at_label(e, 1).loss).find("min(") == std::string::npos);
  // The folding is for reading only: the full loss keeps its min.
  CHECK(to_string(e.simplified).find("min(") != std::string::npos);
}

TEST_CASE("explain: a subexpression that varies over the domain is never folded") {
  const LossFunction fn = parse_loss("min(pred, 0.5) * label + (1 - label) * pred");
  const Explanation e = explain(fn);
  CHECK(to_string(at_label(e, 1).loss) == "min(pred, 0.5)");
  CHECK(to_string(at_label(e, 0).loss) == "pred");
}

TEST_CASE("explain: the text names each label value, the inputs and the verdict") {
  const LossFunction fn = example("mse");
  const std::string text = format_explanation(fn, explain(fn));
  CHECK(text.find("label = 1:") != std::string::npos);
  CHECK(text.find("label = 0:") != std::string::npos);
  CHECK(text.find("pred prob (pred)") != std::string::npos);
  CHECK(text.find("check: valid") != std::string::npos);

  const LossFunction bad = parse_loss("pred * label + pred");
  const std::string bad_text = format_explanation(bad, explain(bad));
  CHECK(bad_text.find("check: INVALID") != std::string::npos);
  CHECK(bad_text.find("monotonic") != std::string::npos);
}

TEST_CASE("loss_card: pointwise curves are the interpreter's values and their gradients are slopes") {
  const LossFunction fn = example("focal");
  const nlohmann::json card = loss_card(fn, "focal");
  CHECK(card["kind"] == "pointwise");
  const nlohmann::json& curves = card["pointwise"]["curves"];
  REQUIRE(curves.size() == 2);
  for (const nlohmann::json& c : curves) {
    const double label = c["label"];
    const auto& x = c["x"];
    for (size_t i = 0; i < x.size(); i += 17) {
      const double p = x[i];
      CHECK(c["loss"][i].get<double>() == doctest::Approx(eval(fn.body, {{"pred", p}, {"label", label}})));
      const double h = 1e-6;
      const double slope = (eval(fn.body, {{"pred", p + h}, {"label", label}}) -
                            eval(fn.body, {{"pred", p - h}, {"label", label}})) / (2 * h);
      CHECK(c["grad"][i].get<double>() == doctest::Approx(slope).epsilon(1e-5));
    }
  }
}

TEST_CASE("loss_card: a ranking card gives every document of the sample query a gradient, by rank") {
  const nlohmann::json card = loss_card(example("listnet"), "listnet");
  CHECK(card["kind"] == "ranking");
  const nlohmann::json& docs = card["ranking"]["documents"];
  REQUIRE(docs.size() == 24);
  double previous = INFINITY, total = 0;
  for (const nlohmann::json& d : docs) {
    CHECK(d["score"].get<double>() <= previous);  // ordered by rank
    previous = d["score"];
    REQUIRE(d["grad"].is_number());
    total += d["grad"].get<double>();
  }
  CHECK(total == doctest::Approx(0).epsilon(1e-9).scale(1));  // softmax cross-entropy: gradients sum to 0
}

TEST_CASE("loss_card: a pairwise loss is drawn against pos") {
  const nlohmann::json card = loss_card(example("bpr"), "bpr");
  CHECK(card["kind"] == "pairwise");
  const nlohmann::json& c = card["pointwise"]["curves"][0];
  CHECK(card["pointwise"]["x_label"] == "pos");
  // softplus(neg - pos) falls as pos rises
  CHECK(c["loss"].front().get<double>() > c["loss"].back().get<double>());
  CHECK(c["grad"][50].get<double>() < 0);
}

TEST_CASE("explain: a multi-task loss is read at every combination of its labels, by every prediction") {
  const LossFunction fn = example("mtl_found_sessions");  // bce(p1, y1) + 2·bce(p2, y2)
  const Explanation e = explain(fn);
  CHECK(e.kind == "multi-task");
  CHECK(e.predictions == std::vector<std::string>{"p1", "p2"});
  CHECK(e.labels == std::vector<std::string>{"y1", "y2"});
  REQUIRE(e.task_cases.size() == 4);
  const std::map<std::string, double> point = {{"p1", 0.3}, {"p2", 0.8}};
  for (const TaskLabelsCase& c : e.task_cases) {
    const double y1 = c.labels[0], y2 = c.labels[1];
    const double bce1 = y1 ? -std::log(0.3) : -std::log(0.7), bce2 = y2 ? -std::log(0.8) : -std::log(0.2);
    CHECK(eval(c.loss, point) == doctest::Approx(bce1 + 2 * bce2));
    REQUIRE(c.grads.size() == 2);
    CHECK(eval(c.grads[0], point) == doctest::Approx(y1 ? -1 / 0.3 : 1 / 0.7));
    CHECK(eval(c.grads[1], point) == doctest::Approx(2 * (y2 ? -1 / 0.8 : 1 / 0.2)));
    // Read at the labels: no label is left in the expressions.
    CHECK(to_string(c.loss).find('y') == std::string::npos);
  }
  CHECK(e.task_cases.front().labels == std::vector<double>{1, 1});  // the first task's values slowest
  CHECK(e.task_cases[1].labels == std::vector<double>{1, 0});
  const std::string text = format_explanation(fn, e);
  CHECK(text.find("y1 = 0, y2 = 1:") != std::string::npos);
  CHECK(text.find("∂/∂p2 -2 / p2") != std::string::npos);  // written as a person would, not -(-2 / ...) or -0 - ...
  CHECK(text.find("-(-") == std::string::npos);
  CHECK(text.find("-0 - ") == std::string::npos);
  const nlohmann::json card = loss_card(fn, "found");
  CHECK(card["kind"] == "multi-task");
  CHECK(card["task_cases"].size() == 4);
  CHECK(card["task_cases"][0]["grads"].contains("p2"));
}

TEST_CASE("loss_card: a multi-task loss over the batch is drawn as a sample batch, its first task's rows pushed right") {
  const nlohmann::json card = loss_card(example("mtl_loss_ratio"), "ratio");
  CHECK(card["kind"] == "multi-task batch");
  CHECK(card["ranking"]["pred_name"] == "p1");  // the plot's ∂loss/∂p1
  const nlohmann::json& rows = card["ranking"]["documents"];
  REQUIRE(rows.size() == 24);
  for (const nlohmann::json& r : rows) {
    REQUIRE(r["grad"].is_number());
    CHECK(r["score"].get<double>() > 0);  // a probability
    CHECK(r["score"].get<double>() < 1);
    // A positive row's prediction is pushed up, a negative's down.
    CHECK((r["label"].get<double>() == 1 ? r["grad"].get<double>() < 0 : r["grad"].get<double>() > 0));
  }
}
