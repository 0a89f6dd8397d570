// The LETOR / SVMlight loader: grouping, sparse lines, query-level
// normalisation, file:line:col errors, the fold layouts, the real MQ2008
// files, and the synthetic set.
#include "tests/doctest_torch.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "models/ltr/letor.h"

using namespace losscc::models::ltr;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / fs::path("losscc-ltr-" + std::to_string(::getpid()) + "-" +
                                                std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = path / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

std::string load_error(const std::string& path, const LetorOptions& options = {}) {
  try {
    load_letor_file(path, options);
  } catch (const LtrDataError& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kMq2008 = std::string(LOSSCC_SHARED_DATA) + "/MQ2008";

}  // namespace

TEST_CASE("LETOR loader: groups queries by qid, sparse lines, comments") {
  TempDir dir;
  const std::string path = dir.write("a.txt",
                                     "# a comment line\n"
                                     "2 qid:10 1:0.5 2:1 3:-2 # docid = A\n"
                                     "0 qid:20 2:3.5\n"
                                     "\n"
                                     "1 qid:10 1:0.25 3:4\t#docid = B\n"
                                     "0 qid:30 1:1 5:2\r\n"
                                     "0 qid:20 1:7\n");
  const LtrSplit s = load_letor_file(path);
  CHECK(s.dims == 5);
  CHECK(s.queries() == 3);
  CHECK(s.documents() == 5);
  CHECK(s.qids == std::vector<std::string>{"10", "20", "30"});
  CHECK(s.offsets == std::vector<int64_t>{0, 2, 4, 5});
  CHECK(s.labels == std::vector<float>{2, 1, 0, 0, 0});
  CHECK(s.source_row == std::vector<int64_t>{0, 2, 1, 4, 3});
  // Rows in query order, each in file order within its query; absent = 0.
  const std::vector<float> want = {0.5f, 1, -2, 0, 0,  0.25f, 0, 4, 0, 0,  0, 3.5f, 0, 0, 0,
                                   7,    0, 0,  0, 0,  1,     0, 0, 0, 2};
  CHECK(s.features == want);
  CHECK(s.queries_without_relevant() == 2);
}

TEST_CASE("LETOR loader: query-level min-max normalisation") {
  TempDir dir;
  const std::string path = dir.write("n.txt",
                                     "1 qid:1 1:2 2:5\n"
                                     "0 qid:1 1:4 2:5\n"
                                     "0 qid:1 1:3 2:5\n"
                                     "0 qid:2 1:100 2:1\n");
  LetorOptions norm;
  norm.query_norm = true;
  const LtrSplit s = load_letor_file(path, norm);
  // Query 1: feature 1 spans 2..4; feature 2 is constant → 0. Query 2 has one document.
  CHECK(s.features == std::vector<float>{0, 0, 1, 0, 0.5f, 0, 0, 0});
  const LtrSplit raw = load_letor_file(path);
  CHECK(raw.features[0] == 2);
}

TEST_CASE("LETOR loader: malformed lines name file:line:col and what was expected") {
  TempDir dir;
  struct Bad {
    const char* text;
    const char* message;  // after "<path>:"
  };
  const Bad cases[] = {
      {"1 qid:1 1:0.5\nx qid:1 1:0.5\n", "2:1: expected a relevance label (an integer >= 0), got 'x'"},
      {"-1 qid:1 1:0.5\n", "1:1: expected a relevance label (an integer >= 0), got '-1'"},
      {"1 q:1 1:0.5\n", "1:3: expected 'qid:<id>', got 'q:1'"},
      {"1 qid: 1:0.5\n", "1:3: expected 'qid:<id>', got 'qid:'"},
      {"1\n", "1:2: expected 'qid:<id>' after the label"},
      {"1 qid:1 1:0.5 0:3\n", "1:15: expected '<index>:<value>' with an integer index >= 1, got '0:3'"},
      {"1 qid:1 1:0.5 2-3\n", "1:15: expected '<index>:<value>' with an integer index >= 1, got '2-3'"},
      {"1 qid:1  1:abc\n", "1:12: expected a finite number after '1:', got 'abc'"},
      {"1 qid:1 1:nan\n", "1:11: expected a finite number after '1:', got 'nan'"},
      {"1 qid:1 2:1 2:1\n", "1:13: feature index 2 after 2: indices must increase along a line"},
  };
  for (const Bad& c : cases) {
    const std::string text = c.text;
    CAPTURE(text);
    const std::string path = dir.write("bad.txt", c.text);
    CHECK(load_error(path) == path + ":" + c.message);
  }
  CHECK(load_error(dir.write("empty.txt", "# nothing\n\n")) == (dir.path / "empty.txt").string() + ": no documents");
  CHECK(load_error((dir.path / "missing.txt").string()) == (dir.path / "missing.txt").string() + ": cannot open");
}

TEST_CASE("LETOR folds: S1..S5 rotation and the Fold<K>/ layout") {
  TempDir dir;
  for (int k = 1; k <= 5; ++k) dir.write("S" + std::to_string(k) + ".txt", "1 qid:" + std::to_string(k) + " 1:1\n");
  const FoldFiles f3 = fold_files(dir.path.string(), 3);
  auto name = [](const std::string& p) { return fs::path(p).filename().string(); };
  REQUIRE(f3.train.size() == 3);
  CHECK(name(f3.train[0]) == "S3.txt");
  CHECK(name(f3.train[1]) == "S4.txt");
  CHECK(name(f3.train[2]) == "S5.txt");
  CHECK(name(f3.valid[0]) == "S1.txt");
  CHECK(name(f3.test[0]) == "S2.txt");
  // Widest file wins: a 3-feature test file widens train and valid.
  dir.write("S2.txt", "0 qid:9 3:1\n");
  const LtrDataset d = load_letor_fold(dir.path.string(), 3);
  CHECK(d.dims == 3);
  CHECK(d.train.dims == 3);
  CHECK(d.train.queries() == 3);
  CHECK(d.train.features == std::vector<float>{1, 0, 0, 1, 0, 0, 1, 0, 0});
  CHECK(d.train.source_row == std::vector<int64_t>{0, 1, 2});
  CHECK_THROWS_AS(fold_files(dir.path.string(), 6), std::invalid_argument);

  TempDir folds;
  fs::create_directories(folds.path / "Fold2");
  folds.write("Fold2/train.txt", "1 qid:1 1:1\n");
  const FoldFiles f2 = fold_files(folds.path.string(), 2);
  CHECK(name(f2.valid[0]) == "vali.txt");
  CHECK_THROWS_AS(fold_files(folds.path.string(), 1), LtrDataError);
}

TEST_CASE("LETOR splits: selected queries, and queries held out whole") {
  TempDir dir;
  // Four queries of 2, 1, 3 and 2 documents; feature 1 is the row's number.
  const LtrSplit split = load_letor_file(dir.write("s.txt", "1 qid:a 1:0\n0 qid:a 1:1\n2 qid:b 1:2\n0 qid:c 1:3\n"
                                                              "1 qid:c 1:4\n0 qid:c 1:5\n1 qid:d 1:6\n0 qid:d 1:7\n"));
  const LtrSplit picked = select_queries(split, {2, 0});
  CHECK(picked.qids == std::vector<std::string>{"c", "a"});
  CHECK(picked.offsets == std::vector<int64_t>{0, 3, 5});
  CHECK(picked.features == std::vector<float>{3, 4, 5, 0, 1});
  CHECK(picked.labels == std::vector<float>{0, 1, 0, 1, 0});
  CHECK(picked.source_row == std::vector<int64_t>{3, 4, 5, 0, 1});

  const HeldOutQueries parts = hold_out_queries(split, 0.5, 7);
  CHECK(parts.held.queries() == 2);
  CHECK(parts.kept.queries() == 2);
  CHECK(parts.kept.documents() + parts.held.documents() == split.documents());
  std::vector<std::string> all = parts.kept.qids;
  all.insert(all.end(), parts.held.qids.begin(), parts.held.qids.end());
  std::sort(all.begin(), all.end());
  CHECK(all == split.qids);  // every query once, whole
  for (const LtrSplit* part : {&parts.kept, &parts.held})
    CHECK(std::is_sorted(part->source_row.begin(), part->source_row.end()));  // file order kept
  CHECK(hold_out_queries(split, 0.5, 7).held.qids == parts.held.qids);  // a seed gives one split
  CHECK_THROWS_AS(hold_out_queries(split, 0.1, 7), std::invalid_argument);   // no query held out
  CHECK_THROWS_AS(hold_out_queries(split, 0.95, 7), std::invalid_argument);  // none kept
  CHECK_THROWS_AS(hold_out_queries(split, 0.0, 7), std::invalid_argument);
}

TEST_CASE("MQ2008 fold 1 from the shared data") {
  if (!fs::exists(kMq2008 + "/S1.txt")) {
    MESSAGE("skipped: " << kMq2008 << " not present");
    return;
  }
  const LtrDataset d = load_letor_fold(kMq2008, 1);
  CHECK(d.dims == 46);
  CHECK(d.train.documents() == 9630);
  CHECK(d.valid.documents() == 2707);
  CHECK(d.test.documents() == 2874);
  CHECK(d.train.queries() == 471);
  CHECK(d.valid.queries() == 157);
  CHECK(d.test.queries() == 156);
  CHECK(d.train.queries_without_relevant() == 52 + 45 + 35);
  CHECK(d.test.queries_without_relevant() == 51);
  int64_t shortest = 1 << 30;
  for (int64_t q = 0; q < d.train.queries(); ++q) shortest = std::min(shortest, d.train.query_size(q));
  CHECK(shortest == 5);
  // First line of S1.txt: label 0, qid 10002, feature 3 = 1, feature 46 = 0.007042.
  CHECK(d.train.qids[0] == "10002");
  CHECK(d.train.labels[0] == 0);
  CHECK(d.train.features[2] == 1.0f);
  CHECK(d.train.features[45] == doctest::Approx(0.007042));
}

TEST_CASE("synthetic ranking set: deterministic, graded, with hopeless queries") {
  SyntheticLtrConfig config;
  const LtrDataset a = synthetic_ltr(config), b = synthetic_ltr(config);
  CHECK(a.train.features == b.train.features);
  CHECK(a.train.queries() == config.train_queries);
  CHECK(a.test.queries() == config.test_queries);
  int counts[3] = {0, 0, 0};
  for (float l : a.train.labels) counts[static_cast<int>(l)]++;
  CHECK(counts[0] > 0);
  CHECK(counts[1] > 0);
  CHECK(counts[2] > 0);
  CHECK(a.train.queries_without_relevant() >= config.train_queries / 5);
  config.seed = 2;
  CHECK(synthetic_ltr(config).train.features != a.train.features);
}
