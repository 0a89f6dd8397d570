// The census-income loader on the real file, the session loader's bad-line
// report, and the synthetic session generator.
#include "tests/doctest_torch.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>

#include <fmt/format.h>
#include <string>

#include "models/mtl/census.h"
#include "models/mtl/sessions.h"

namespace fs = std::filesystem;
using namespace losscc::models::mtl;

namespace {

const std::string kCensus = std::string(LOSSCC_SHARED_DATA) + "/census-income";

// A fresh folder under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("losscc-mtl-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& file, const std::string& text) const { std::ofstream(path / file) << text; }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const MtlDataError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("census-income: the real file, split 60/20/20 by hash, two tasks, train-standardised numbers") {
  if (!fs::exists(kCensus)) {
    MESSAGE("skipped: no " << kCensus);
    return;
  }
  const MtlDataset data = load_census(kCensus);
  const int64_t n = data.train.size() + data.valid.size() + data.test.size();
  CHECK(n == 99762);
  CHECK(data.train.size() == doctest::Approx(0.6 * n).epsilon(0.01));
  CHECK(data.valid.size() == doctest::Approx(0.2 * n).epsilon(0.02));
  CHECK(data.tasks == std::vector<std::string>{"income", "never_married"});
  CHECK(data.categorical_names.size() == 32);
  CHECK(data.numerical_names.size() == 7);
  CHECK(data.field_sizes.size() == 32);
  CHECK(data.train.categorical.size(1) == 32);
  // Label totals over the three splits, as counted in the file: 6,186 rows
  // with income 50000+ and 43,143 never married.
  double income = 0, never = 0;
  for (const MtlRows* rows : {&data.train, &data.valid, &data.test}) {
    income += rows->labels.select(1, 0).sum().item<double>();
    never += rows->labels.select(1, 1).sum().item<double>();
    CHECK((rows->categorical.max().item<int64_t>() < *std::max_element(data.field_sizes.begin(), data.field_sizes.end())));
  }
  CHECK(income == 6186);
  CHECK(never == 43143);
  // Train numbers have mean 0 and standard deviation 1; the others only close.
  CHECK(data.train.numerical.mean(0).abs().max().item<double>() < 1e-4);
  CHECK(data.train.numerical.std(0, false).sub(1).abs().max().item<double>() < 1e-3);
  CHECK(data.valid.numerical.mean(0).abs().max().item<double>() < 0.1);
  // Train values are all known; the other splits may hold unseen (0) values.
  CHECK(data.train.categorical.min().item<int64_t>() >= 1);

  // The split is a function of the seed.
  CensusOptions other;
  other.split_seed = 7;
  other.max_rows = 2000;
  CensusOptions same = other;
  const MtlDataset a = load_census(kCensus, other), b = load_census(kCensus, same);
  CHECK(a.train.size() + a.valid.size() + a.test.size() == 2000);
  CHECK(at::equal(a.train.labels, b.train.labels));
  CHECK(at::equal(a.test.categorical, b.test.categorical));
  other.split_seed = 8;
  CHECK(load_census(kCensus, other).train.size() != a.train.size());
}

TEST_CASE("census-income: a malformed row is an error naming file:line:column") {
  TempDir dir("census");
  const std::string good =
      "38, Private, 6, 36, 1st 2nd 3rd or 4th grade, 0, Not in universe, Married-civilian spouse present, "
      "Manufacturing-durable goods, Machine operators assmblrs & inspctrs, White, Mexican (Mexicano), Female, "
      "Not in universe, Not in universe, Full-time schedules, 0, 0, 0, Joint one under 65 & one 65+, Not in "
      "universe, Not in universe, Spouse of householder, Spouse of householder, 1032.38, ?, ?, ?, Not in universe "
      "under 1 year old, ?, 4, Not in universe, Mexico, Mexico, Mexico, Foreign born- Not a citizen of U S , 0, "
      "Not in universe, 2, 12, 95, - 50000.\n";
  dir.write("census-income.test", good + "abc" + good.substr(2));
  std::string message = error_of([&] { load_census(dir.path.string()); });
  CHECK(message.find("census-income.test:2:1: age: expected a number, got 'abc'") != std::string::npos);

  dir.write("census-income.test", good + good.substr(0, 40) + "\n");
  message = error_of([&] { load_census(dir.path.string()); });
  CHECK(message.find("census-income.test:2:") != std::string::npos);
  CHECK(message.find("expected 42 comma-separated fields, got 5") != std::string::npos);

  std::string wrong_label = good;
  wrong_label.replace(wrong_label.find("- 50000."), 8, "maybe");
  dir.write("census-income.test", good + wrong_label);
  message = error_of([&] { load_census(dir.path.string()); });
  CHECK(message.find(":2:") != std::string::npos);
  CHECK(message.find("income: expected '50000+.' or '- 50000.', got 'maybe'") != std::string::npos);

  CHECK(error_of([] { load_census("/nonexistent/census"); }).find("no such file or folder") != std::string::npos);
}

TEST_CASE("sessions: RMTL's format, sessions in time order, 6:2:2 by session") {
  TempDir dir("sessions");
  std::string text = "timestamp,sessionid,itemid,pay,click,extra\n";
  // 10 sessions of 2 events; session s starts at time 100 - s, so the last
  // ids come first in time. Written with the second event first.
  for (int s = 0; s < 10; ++s) {
    text += fmt::format("{},{},{},{},{},x\n", 100 - s + 50, s, 7 + s % 3, s % 2, 1);
    text += fmt::format("{},{},{},0,0,x\n", 100 - s, s, 5);
  }
  dir.write("sessions.csv", text);
  dir.write("items.csv", "itemid,category,available\n5,a,1\n7,b,\n8,a,0\n");
  const SessionLoad load = load_sessions(dir.path.string());
  const MtlDataset& data = load.data;
  CHECK(load.bad_lines.empty());
  CHECK(data.tasks == std::vector<std::string>{"click", "pay"});
  CHECK(data.categorical_names == std::vector<std::string>{"itemid", "category", "available"});
  CHECK(data.train.size() == 12);
  CHECK(data.valid.size() == 4);
  CHECK(data.test.size() == 4);
  CHECK(data.train.numerical.size(1) == 0);
  // Train holds sessions 9..4 (the earliest); in each, item 5 (time 100-s)
  // comes before the labelled one.
  CHECK(data.train.labels[0][0].item<float>() == 0);
  CHECK(data.train.labels[1][0].item<float>() == 1);
  CHECK(data.train.labels[1][1].item<float>() == 1);  // session 9: pay = 9 % 2
  CHECK(data.train.next[0].item<int64_t>() == 1);
  CHECK(data.train.next[1].item<int64_t>() == -1);
  CHECK(data.train.session[2].item<int64_t>() == 1);
  // Item 9 (s % 3 == 2) has no row in items.csv: features 0. Empty = "0".
  CHECK(data.field_sizes[1] == 3);  // unknown, a, b
  CHECK(data.field_sizes[2] == 3);  // unknown, "0", "1"
}

TEST_CASE("sessions: bad lines are reported by file:line:column, or skipped on request") {
  TempDir dir("badsessions");
  dir.write("sessions.csv",
            "timestamp,sessionid,itemid,pay,click\n"
            "1,1,5,0,1\n"
            "2,1,x5,0,1\n"
            "3,1,5,2,1\n"
            "4,1,5\n"
            "5,2,5,0,0\n6,3,5,0,0\n7,4,5,0,1\n8,5,5,1,1\n");
  std::string message = error_of([&] { load_sessions(dir.path.string()); });
  CHECK(message.find("3 bad lines") != std::string::npos);
  CHECK(message.find("sessions.csv:3:5: itemid: expected an integer, got 'x5'") != std::string::npos);
  CHECK(message.find("sessions.csv:4:7: pay: expected 0 or 1, got '2'") != std::string::npos);
  CHECK(message.find("sessions.csv:5:1: expected 5 comma-separated fields, got 3") != std::string::npos);

  SessionLoadOptions skip;
  skip.skip_bad_lines = true;
  const SessionLoad load = load_sessions(dir.path.string(), skip);
  CHECK(load.bad_lines.size() == 3);
  CHECK(load.data.train.size() + load.data.valid.size() + load.data.test.size() == 5);

  dir.write("sessions.csv", "time,sessionid,itemid,pay,click\n");
  CHECK(error_of([&] { load_sessions(dir.path.string()); }).find("sessions.csv:1:1: header has no column 'timestamp'") != std::string::npos);
}

TEST_CASE("synthetic sessions: deterministic, correlated click and purchase, pay only after a click") {
  SyntheticSessionConfig config;
  config.sessions = 400;
  const MtlDataset a = synthetic_sessions(config), b = synthetic_sessions(config);
  CHECK(at::equal(a.train.labels, b.train.labels));
  CHECK(at::equal(a.test.categorical, b.test.categorical));
  config.seed = 2;
  CHECK_FALSE(at::equal(synthetic_sessions(config).train.labels.sum(0), a.train.labels.sum(0)));

  const at::Tensor click = a.train.labels.select(1, 0), pay = a.train.labels.select(1, 1);
  CHECK((pay * (1 - click)).sum().item<double>() == 0);
  const double click_rate = click.mean().item<double>(), pay_rate = pay.mean().item<double>();
  CHECK(click_rate > 0.1);
  CHECK(click_rate < 0.7);
  CHECK(pay_rate > 0.01);
  CHECK(pay_rate < click_rate);
  // Correlated: the purchase rate among clicks is well above the overall one.
  CHECK(pay.sum().item<double>() / click.sum().item<double>() > 1.5 * pay_rate);
  // Sessions link rows: the next row of a non-final row is in the same session.
  const at::Tensor next = a.train.next;
  const at::Tensor linked = next.ge(0).nonzero().view(-1);
  CHECK(linked.size(0) > 0);
  CHECK(at::equal(a.train.session.index_select(0, linked), a.train.session.index_select(0, next.index_select(0, linked))));
  CHECK(a.train.size() > a.test.size());
}
