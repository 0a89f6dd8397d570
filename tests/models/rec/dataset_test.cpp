#include "tests/doctest_torch.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <zlib.h>

#include "models/rec/data/builtin.h"
#include "models/rec/data/load_dataset.h"
#include "models/rec/data/synthetic.h"

namespace fs = std::filesystem;
using namespace losscc::models;

namespace {

// A fresh folder DIR/name with the three split files holding the given text.
fs::path write_dataset(const std::string& name, const std::string& train, const std::string& valid,
                       const std::string& test) {
  fs::path dir = fs::temp_directory_path() / ("losscc-dataset-test-" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / (name + ".train.csv")) << train;
  std::ofstream(dir / (name + ".validation.csv")) << valid;
  std::ofstream(dir / (name + ".test.csv")) << test;
  return dir;
}

std::string error_of(const fs::path& dir) {
  try {
    load_dataset(dir.string());
  } catch (const DatasetError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("load_dataset remaps ids densely across splits") {
  const fs::path dir = write_dataset("tiny", "uid\tiid\tlabel\n10\t7\t1\n30\t5\t0\n",
                                     "uid\tiid\tlabel\n20\t7\t1\n", "iid\tuid\tlabel\n9\t10\t0\n");
  const Dataset d = load_dataset(dir.string());
  CHECK(d.name == "tiny");
  CHECK(d.num_users == 3);  // 10, 20, 30
  CHECK(d.num_items == 3);  // 5, 7, 9
  CHECK(d.train.users.equal(at::tensor({0L, 2L})));
  CHECK(d.train.items.equal(at::tensor({1L, 0L})));
  CHECK(d.train.labels.equal(at::tensor({1.0f, 0.0f})));
  CHECK(d.valid.users.equal(at::tensor({1L})));
  CHECK(d.test.items.equal(at::tensor({2L})));  // columns found by header name
}

TEST_CASE("load_dataset errors name the file, line and column") {
  const fs::path dir = write_dataset("bad", "uid\tiid\tlabel\n1\t2\t1\n1\tx3\t0\n", "uid\tiid\tlabel\n",
                                     "uid\tiid\tlabel\n");
  const std::string message = error_of(dir);
  CHECK(message.find("bad.train.csv:3:") != std::string::npos);
  CHECK(message.find("column 2 (iid)") != std::string::npos);
  CHECK(message.find("'x3'") != std::string::npos);

  const fs::path fields = write_dataset("fields", "uid\tiid\tlabel\n1\t2\n", "uid\tiid\tlabel\n", "uid\tiid\tlabel\n");
  CHECK(error_of(fields).find("fields.train.csv:2: expected 3 tab-separated fields, got 2") != std::string::npos);

  const fs::path label = write_dataset("label", "uid\tiid\tlabel\n", "uid\tiid\tlabel\n1\t2\t3\n", "uid\tiid\tlabel\n");
  CHECK(error_of(label).find("label.validation.csv:2: column 3 (label): expected 0 or 1") != std::string::npos);

  const fs::path missing = write_dataset("missing", "uid\tiid\tlabel\n", "uid\tiid\tlabel\n", "");
  fs::remove(missing / "missing.test.csv");
  CHECK(error_of(missing).find("missing.test.csv: no such file") != std::string::npos);
  CHECK(error_of(missing / "nope").find("no such folder") != std::string::npos);
}

TEST_CASE("load_dataset reads gzipped splits, and a truncated one is an error naming its file") {
  const std::string train = "uid\tiid\tlabel\n10\t7\t1\n30\t5\t0\n", valid = "uid\tiid\tlabel\n20\t7\t1\n",
                    test = "iid\tuid\tlabel\n9\t10\t0\n";
  const fs::path plain = write_dataset("zipped", train, valid, test);
  const fs::path dir = plain.parent_path() / "zipped-gz";
  fs::create_directories(dir);
  for (const char* split : {"train", "validation"}) {
    const std::string name = std::string("zipped-gz.") + split + ".csv";
    std::ifstream in(plain / (std::string("zipped.") + split + ".csv"));
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    gzFile out = gzopen((dir / (name + ".gz")).c_str(), "wb");
    REQUIRE(out != nullptr);
    gzwrite(out, text.data(), static_cast<unsigned>(text.size()));
    gzclose(out);
  }
  std::ofstream(dir / "zipped-gz.test.csv") << test;  // plain and gzipped splits mix
  const Dataset a = load_dataset(plain.string()), b = load_dataset(dir.string());
  CHECK(b.name == "zipped-gz");
  CHECK(a.train.users.equal(b.train.users));
  CHECK(a.train.labels.equal(b.train.labels));
  CHECK(a.valid.items.equal(b.valid.items));
  CHECK(a.test.users.equal(b.test.users));

  // Cut the gzip stream short: the error names the file.
  const fs::path gz = dir / "zipped-gz.train.csv.gz";
  fs::resize_file(gz, fs::file_size(gz) / 2);
  const std::string message = error_of(dir);
  CHECK(message.find("zipped-gz.train.csv.gz: not a complete gzip file") != std::string::npos);
}

TEST_CASE("the built-in MovieLens data is the shared latest-small split") {
  const Dataset d = builtin_movielens();
  CHECK(d.name == "mlsmall01-1-5");
  CHECK(d.num_users == 610);
  CHECK(d.train.size() == 97912);
  CHECK(d.valid.size() == 1231);
  CHECK(d.test.size() == 1693);
  CHECK(load_rec_data("").train.size() == d.train.size());
  CHECK(load_rec_data(kBuiltinSynthetic).train.size() == synthetic_dataset().train.size());
  const fs::path shared = fs::path(LOSSCC_SHARED_DATA) / "mlsmall01-1-5";
  if (!fs::exists(shared)) {
    MESSAGE("not compared: no " << shared.string());
    return;
  }
  const Dataset s = load_dataset(shared.string());
  CHECK(d.num_items == s.num_items);
  CHECK(d.train.users.equal(s.train.users));
  CHECK(d.train.items.equal(s.train.items));
  CHECK(d.train.labels.equal(s.train.labels));
  CHECK(d.valid.items.equal(s.valid.items));
  CHECK(d.test.labels.equal(s.test.labels));
}

TEST_CASE("load_dataset reads the shared MovieLens-100K split") {
  const fs::path dir = fs::path(LOSSCC_SHARED_DATA) / "ml100k01-1-5";
  if (!fs::exists(dir)) {
    MESSAGE("skipped: no " << dir.string());
    return;
  }
  const Dataset d = load_dataset(dir.string());
  CHECK(d.name == "ml100k01-1-5");
  CHECK(d.num_users == 943);
  CHECK(d.num_items == 1682);
  CHECK(d.train.size() == 94638);
  CHECK(d.train.labels.sum().item<double>() == 53491);
  CHECK(d.valid.size() == 2334);
  CHECK(d.test.size() == 3028);
}

TEST_CASE("synthetic_dataset is seeded, split like the real data and has both labels everywhere") {
  const Dataset a = synthetic_dataset(), b = synthetic_dataset();
  CHECK(a.train.users.equal(b.train.users));
  CHECK(a.test.labels.equal(b.test.labels));
  SyntheticConfig other;
  other.seed = 2;
  CHECK_FALSE(synthetic_dataset(other).train.items.equal(a.train.items));

  const int64_t rows = a.train.size() + a.valid.size() + a.test.size();
  CHECK(rows > 15000);
  CHECK(rows < 25000);
  for (const Interactions* split : {&a.train, &a.valid, &a.test}) {
    const double positives = split->labels.mean().item<double>();
    CHECK(positives > 0.2);
    CHECK(positives < 0.9);
  }
  // At most one validation and one test positive per user.
  const at::Tensor test_pos = a.test.users.masked_select(a.test.labels > 0.5);
  CHECK(std::get<0>(at::_unique(test_pos)).numel() == test_pos.numel());
  CHECK(a.train.users.max().item<int64_t>() < a.num_users);
  CHECK(a.train.items.max().item<int64_t>() < a.num_items);
}
