#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "classic_losses.h"
#include "compiler/language/parse.h"
#include "compiler/passes/check.h"
#include "compiler/passes/fingerprint.h"

using namespace losscc;
using losscc::testing::classic_losses;
using losscc::testing::pairwise;
using losscc::testing::pointwise;

namespace {
const Expr p = input("pred"), l = input("label"), pos = input("pos"), neg = input("neg");

std::string joined(const CheckReport& r) {
  std::string s;
  for (const std::string& reason : r.reasons) s += reason + "\n";
  return s;
}
}  // namespace

TEST_CASE("check: the classic losses are valid") {
  for (auto& [name, fn] : classic_losses()) {
    CheckReport r = check(fn);
    INFO(name, "\n", joined(r));
    CHECK(r.valid);
    CHECK(r.reasons.empty());
    CHECK(r.monotonic_fraction > 0.6);
    CHECK(r.grid_points > 0);
  }
}

TEST_CASE("check: AutoLossGen-style guarded and clipped forms are valid") {
  // The search's guarded operators keep a loss finite at the domain's ends.
  const LossFunction losses[] = {
      pointwise(-(l * guarded_log(max(p, constant(1e-6)), 1e-6))
                - (1.0 - l) * guarded_log(1.0 - p, 1e-6)),
      pointwise(l * guarded_reciprocal(p, 1e-6) +
                (1.0 - l) * guarded_log(guarded_reciprocal(1.0 - p, 1e-6), 1e-6)),
      pointwise(-l * log(clamp(p, constant(1e-4), constant(1.0 - 1e-4))) + (1.0 - l) * p),
  };
  for (const LossFunction& fn : losses) {
    CheckReport r = check(fn);
    INFO(joined(r));
    CHECK(r.valid);
  }
}

// ---- expected failures ------------------------------------------------------

TEST_CASE("check: a loss that ignores the label is invalid") {
  CheckReport r = check(pointwise(-log(p)));
  CHECK_FALSE(r.valid);
  CHECK(r.failed("depends-on-label"));
  CHECK_FALSE(r.failed("depends-on-prediction"));
  REQUIRE_FALSE(r.reasons.empty());
  CHECK(r.reasons[0].rfind("depends-on-label:", 0) == 0);
}

TEST_CASE("check: a loss that ignores the prediction is invalid") {
  CheckReport r = check(pointwise(l * 2.0 + 1.0));
  CHECK_FALSE(r.valid);
  CHECK(r.failed("depends-on-prediction"));
  CHECK(r.failed("nonzero-gradient"));
  CHECK(r.failed("monotonic"));
}

TEST_CASE("check: a constant loss is invalid") {
  CheckReport r = check(pointwise(constant(1.0)));
  CHECK_FALSE(r.valid);
  CHECK(r.failed("depends-on-prediction"));
  CHECK(r.failed("depends-on-label"));
  CHECK(r.failed("nonzero-gradient"));
}

TEST_CASE("check: a loss flat in the prediction is invalid") {
  // Depends on pred only through step: its gradient is zero everywhere.
  CheckReport r = check(pointwise(step(p - 0.5) * l));
  CHECK(r.failed("nonzero-gradient"));
  CHECK_FALSE(r.failed("depends-on-prediction"));
}

TEST_CASE("check: a loss that rewards the wrong direction is invalid") {
  CheckReport r = check(pointwise(-pow(p - l, 2.0)));
  CHECK_FALSE(r.valid);
  CHECK(r.failed("monotonic"));
  CHECK(r.monotonic_fraction < 0.1);
  CHECK(r.failed_checks == std::vector<std::string>{"monotonic"});
  CheckReport bpr_backwards = check(pairwise(softplus(pos - neg)));
  CHECK(bpr_backwards.failed("monotonic"));
}

TEST_CASE("check: a loss that is not finite on the domain is invalid") {
  // log(pred - 0.5) is NaN for pred < 0.5.
  CheckReport r = check(pointwise(-l * log(p - 0.5) + (1.0 - l) * p));
  CHECK(r.failed("finite"));
  // 1/label is infinite at label = 0.
  CheckReport r2 = check(pointwise(pow(p - l, 2.0) / l));
  CHECK(r2.failed("finite"));
}

TEST_CASE("check: pairwise losses need both roles") {
  CheckReport r = check(pairwise(softplus(-pos)));
  CHECK(r.failed("depends-on-negative"));
  CHECK_FALSE(r.failed("depends-on-positive"));
}

TEST_CASE("check: undeclared inputs are reported, not evaluated") {
  CheckReport r = check(pointwise(pow(p - input("target"), 2.0)));
  CHECK(r.failed("undeclared-input"));
}

TEST_CASE("check: the report serialises") {
  CheckReport r = check(pointwise(-pow(p - l, 2.0)));
  nlohmann::json j = r.to_json();
  CHECK(j["valid"] == false);
  CHECK(j["failed_checks"][0] == "monotonic");
  CHECK(j["reasons"].size() == 1);
  CHECK(j["monotonic_fraction"].get<double>() == doctest::Approx(r.monotonic_fraction));
}

TEST_CASE("check: gradient fingerprints find duplicates") {
  LossFunction mse = pointwise(pow(p - l, 2.0));
  LossFunction mse2 = pointwise((l - p) * (l - p) + 3.0);  // a constant shift trains the same
  LossFunction mse3 = pointwise(p * p - l * p * 2.0);      // so does dropping label^2
  LossFunction mse_scaled = pointwise(pow(p - l, 2.0) * 2.0);
  LossFunction bce = pointwise(-(l * log(p) + (1.0 - l) * log(1.0 - p)));
  LossFunction bce2 = pointwise(-(l * log(p)) - log(1.0 - p) + l * log(1.0 - p));
  std::vector<double> f = gradient_fingerprint(mse);
  CHECK(f.size() == 6);  // ∂/∂pred at six points; a label's gradient trains nothing
  CHECK(same_fingerprint(f, gradient_fingerprint(mse2)));
  CHECK(same_fingerprint(f, gradient_fingerprint(mse3)));
  CHECK_FALSE(same_fingerprint(f, gradient_fingerprint(mse_scaled)));
  CHECK(same_fingerprint(gradient_fingerprint(bce), gradient_fingerprint(bce2)));
  CHECK_FALSE(same_fingerprint(f, gradient_fingerprint(bce)));
}

TEST_CASE("check: same_fingerprint is NaN-aware") {
  const double nan = NAN, inf = INFINITY;
  CHECK(same_fingerprint({1.0, nan}, {1.0 + 1e-9, nan}));
  CHECK_FALSE(same_fingerprint({1.0, nan}, {1.0, 0.0}));
  CHECK(same_fingerprint({inf, 0.0}, {inf, 1e-15}));
  CHECK_FALSE(same_fingerprint({inf}, {-inf}));
  CHECK_FALSE(same_fingerprint({1.0}, {1.001}));
  CHECK(same_fingerprint({1.0}, {1.001}, 1e-2));
  CHECK_FALSE(same_fingerprint({1.0}, {1.0, 2.0}));
}

TEST_CASE("check: every examples/*.loss file is valid") {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(LOSSCC_SOURCE_DIR "/examples")) {
    if (entry.path().extension() != ".loss") continue;
    const CheckReport report = check(losscc::parse_loss_file(entry.path().string()));
    INFO(entry.path().filename().string(), ": ", report.to_json().dump());
    CHECK(report.valid);
    ++files;
  }
  CHECK(files >= 8);
}

namespace {
// Two or three tasks' inputs, task k's prediction and label declared k-th.
constexpr const char* kTwoTasks =
    "input p1: prob as pred\ninput y1: binary as label\ninput p2: prob as pred\ninput y2: binary as label\n";
constexpr const char* kThreeTasks =
    "input p1: prob as pred\ninput y1: binary as label\ninput p2: prob as pred\ninput y2: binary as label\n"
    "input p3: prob as pred\ninput y3: binary as label\n";
std::string bce(const std::string& p, const std::string& y) {
  return "-(" + y + " * log(" + p + ") + (1 - " + y + ") * log(1 - " + p + "))";
}
CheckReport check_source(const std::string& source) { return check(parse_loss(source, "<multi-task>")); }
}  // namespace

TEST_CASE("check: a multi-task loss is judged task by task") {
  SUBCASE("equal weights and a loss-weighted sum are valid") {
    CHECK(check_source(std::string(kTwoTasks) + bce("p1", "y1") + " + " + bce("p2", "y2")).valid);
    const CheckReport weighted = check_source(std::string(kTwoTasks) + "let l1 = " + bce("p1", "y1") +
                                              "\nlet l2 = " + bce("p2", "y2") + "\n0.7 * l1 + 1.3 * l2 + 0.1 * l1 * l2");
    INFO(joined(weighted));
    CHECK(weighted.valid);
  }
  SUBCASE("one task trained backwards fails, though two of three tasks' checks would carry a pooled vote") {
    const CheckReport r =
        check_source(std::string(kThreeTasks) + bce("p1", "y1") + " + " + bce("p2", "y2") + " + " + bce("p3", "1 - y3"));
    CHECK_FALSE(r.valid);
    CHECK(r.failed("monotonic"));
    CHECK(joined(r).find("task 3") != std::string::npos);
    CHECK(r.monotonic_fraction < 0.6);
  }
  SUBCASE("swapped labels fail: each prediction must follow its own label") {
    const CheckReport r = check_source(std::string(kTwoTasks) + bce("p1", "y2") + " + " + bce("p2", "y1"));
    CHECK_FALSE(r.valid);
    CHECK(r.failed("monotonic"));
  }
  SUBCASE("a task whose prediction or label the loss ignores fails") {
    const CheckReport no_pred = check_source(std::string(kTwoTasks) + bce("p1", "y1") + " + y2");
    CHECK(no_pred.failed("depends-on-prediction"));
    CHECK(joined(no_pred).find("does not use p2") != std::string::npos);
    const CheckReport no_label = check_source(std::string(kTwoTasks) + bce("p1", "y1") + " - log(p2)");
    CHECK(no_label.failed("depends-on-label"));
    CHECK(joined(no_label).find("does not use y2") != std::string::npos);
  }
}

TEST_CASE("check: a multi-task loss over the batch (batch statistics) is judged task by task on probe batches") {
  const std::string lets = std::string(kTwoTasks) + "let l1 = " + bce("p1", "y1") + "\nlet l2 = " + bce("p2", "y2") + "\n";
  SUBCASE("each task's loss over its batch mean is valid") {
    const CheckReport r = check_source(lets + "qmean(l1 / qmean(detach(l1)) + l2 / qmean(detach(l2)))");
    INFO(joined(r));
    CHECK(r.valid);
    CHECK(r.monotonic_fraction > 0.9);
  }
  SUBCASE("a task trained backwards fails, named") {
    const CheckReport r = check_source(lets + "qmean(l1 / qmean(detach(l1)) - l2 / qmean(detach(l2)))");
    CHECK(r.failed("monotonic"));
    CHECK(joined(r).find("task 2") != std::string::npos);
  }
  SUBCASE("a task whose prediction gets no gradient fails, named") {
    const CheckReport r = check_source(lets + "qmean(l1 * qmean(detach(l2)) + detach(l2) + y2)");
    CHECK(r.failed("nonzero-gradient"));
    CHECK(joined(r).find("task 2") != std::string::npos);
  }
  SUBCASE("a batch loss that is not finite fails") {
    const CheckReport r = check_source(lets + "qmean(l1 + l2 + log(qmean(p1) - 1))");
    CHECK(r.failed("finite"));
  }
}
