#include "models/mtl/census.h"

#include <zlib.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace losscc::models::mtl {

namespace fs = std::filesystem;

namespace {

constexpr size_t kColumns = 42;
constexpr size_t kMaritalColumn = 7;   // 0-based
constexpr size_t kWeightColumn = 24;
constexpr size_t kIncomeColumn = 41;

// The numerical columns (0-based) and their names; every other column except
// the two label columns and the instance weight is categorical.
constexpr std::array<std::pair<size_t, std::string_view>, 7> kNumerical = {{
    {0, "age"}, {5, "wage_per_hour"}, {16, "capital_gains"}, {17, "capital_losses"},
    {18, "dividends"}, {30, "num_persons_worked_for_employer"}, {39, "weeks_worked"}}};

constexpr std::array<std::string_view, kColumns> kColumnNames = {
    "age", "class_of_worker", "industry_code", "occupation_code", "education", "wage_per_hour",
    "enrolled_in_edu_last_wk", "marital_status", "major_industry", "major_occupation", "race",
    "hispanic_origin", "sex", "labor_union", "reason_for_unemployment", "employment_status",
    "capital_gains", "capital_losses", "dividends", "tax_filer_status", "region_prev_residence",
    "state_prev_residence", "household_family_status", "household_summary", "instance_weight",
    "migration_msa", "migration_reg", "migration_within_reg", "same_house_1_year_ago",
    "migration_sunbelt", "num_persons_worked_for_employer", "family_members_under_18",
    "birth_country_father", "birth_country_mother", "birth_country_self", "citizenship",
    "own_business", "veterans_questionnaire", "veterans_benefits", "weeks_worked", "year", "income"};

bool is_numerical(size_t column) {
  return std::any_of(kNumerical.begin(), kNumerical.end(), [&](const auto& c) { return c.first == column; });
}
bool is_categorical(size_t column) {
  return !is_numerical(column) && column != kMaritalColumn && column != kWeightColumn &&
         column != kIncomeColumn;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// gzip or plain text, line by line (zlib reads an uncompressed file as is).
class LineReader {
 public:
  explicit LineReader(const std::string& path) : file_(gzopen(path.c_str(), "rb")) {
    if (!file_) throw MtlDataError(fmt::format("{}: cannot open file", path));
    gzbuffer(file_, 1 << 17);
  }
  ~LineReader() { gzclose(file_); }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  // False at the end of the file. Lines of any length.
  bool next(std::string& line) {
    line.clear();
    char buffer[4096];
    while (gzgets(file_, buffer, sizeof buffer)) {
      line += buffer;
      if (!line.empty() && line.back() == '\n') {
        line.pop_back();
        return true;
      }
    }
    return !line.empty();
  }
  bool failed() const {
    int code = 0;
    gzerror(file_, &code);
    return code != Z_OK && code != Z_STREAM_END;
  }

 private:
  gzFile file_;
};

struct RawRow {
  std::array<std::string, kColumns> fields;
  int split = 0;  // 0 train, 1 validation, 2 test
};

std::string resolve(const std::string& path) {
  if (!fs::is_directory(path)) {
    if (!fs::exists(path)) throw MtlDataError(fmt::format("{}: no such file or folder", path));
    return path;
  }
  for (const char* name : {"census-income.test.gz", "census-income.test", "census-income.data.gz",
                           "census-income.data"})
    if (fs::exists(fs::path(path) / name)) return (fs::path(path) / name).string();
  throw MtlDataError(fmt::format("{}: no census-income.test(.gz) or census-income.data(.gz) in this folder", path));
}

}  // namespace

MtlDataset load_census(const std::string& path_in, const CensusOptions& options) {
  const std::string path = resolve(path_in);
  LineReader reader(path);
  std::vector<RawRow> rows;
  std::string line;
  for (int64_t line_no = 1; reader.next(line); ++line_no) {
    if (options.max_rows > 0 && static_cast<int64_t>(rows.size()) >= options.max_rows) break;
    if (trim(line).empty()) continue;
    RawRow row;
    const uint64_t hash = XXH64(line.data(), line.size(), options.split_seed);
    row.split = hash % 10 < 6 ? 0 : hash % 10 < 8 ? 1 : 2;
    size_t column = 0, start = 0;
    for (;;) {
      const size_t comma = line.find(',', start);
      const std::string_view field =
          std::string_view(line).substr(start, comma == std::string::npos ? comma : comma - start);
      if (column >= kColumns)
        throw MtlDataError(fmt::format("{}:{}:{}: more than {} comma-separated fields", path, line_no,
                                       start + 1, kColumns));
      const std::string_view value = trim(field);
      const size_t col_no = start + 1 + (value.empty() ? 0 : value.data() - field.data());
      if (is_numerical(column)) {
        double number = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (value.empty() || ec != std::errc() || end != value.data() + value.size())
          throw MtlDataError(fmt::format("{}:{}:{}: {}: expected a number, got '{}'", path, line_no,
                                         col_no, kColumnNames[column], value));
      }
      if (column == kIncomeColumn && value != "50000+." && value != "- 50000.")
        throw MtlDataError(fmt::format("{}:{}:{}: income: expected '50000+.' or '- 50000.', got '{}'",
                                       path, line_no, col_no, value));
      row.fields[column++] = std::string(value);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (column != kColumns)
      throw MtlDataError(fmt::format("{}:{}:{}: expected {} comma-separated fields, got {}", path,
                                     line_no, line.size() + 1, kColumns, column));
    rows.push_back(std::move(row));
  }
  if (reader.failed()) throw MtlDataError(fmt::format("{}: read error (corrupt gzip stream?)", path));
  if (rows.empty()) throw MtlDataError(fmt::format("{}:1: no rows", path));

  MtlDataset data;
  data.name = "census-income";
  data.tasks = {"income", "never_married"};
  std::vector<size_t> categorical;
  for (size_t c = 0; c < kColumns; ++c)
    if (is_categorical(c)) {
      categorical.push_back(c);
      data.categorical_names.emplace_back(kColumnNames[c]);
    }
  for (const auto& [column, name] : kNumerical) data.numerical_names.emplace_back(name);

  // Value → id per categorical column, from the train split, in sorted order.
  std::vector<std::map<std::string, int64_t>> vocab(categorical.size());
  for (const RawRow& row : rows)
    if (row.split == 0)
      for (size_t f = 0; f < categorical.size(); ++f) vocab[f].emplace(row.fields[categorical[f]], 0);
  for (auto& values : vocab) {
    int64_t next = 1;
    for (auto& [value, id] : values) id = next++;
    data.field_sizes.push_back(next);
  }

  std::array<std::vector<int64_t>, 3> cat;
  std::array<std::vector<float>, 3> num, labels;
  for (const RawRow& row : rows) {
    for (size_t f = 0; f < categorical.size(); ++f) {
      auto it = vocab[f].find(row.fields[categorical[f]]);
      cat[row.split].push_back(it == vocab[f].end() ? 0 : it->second);
    }
    for (const auto& [column, name] : kNumerical) num[row.split].push_back(std::stof(row.fields[column]));
    labels[row.split].push_back(row.fields[kIncomeColumn] == "50000+." ? 1.f : 0.f);
    labels[row.split].push_back(row.fields[kMaritalColumn] == "Never married" ? 1.f : 0.f);
  }
  std::array<MtlRows*, 3> out = {&data.train, &data.valid, &data.test};
  const int64_t fields = static_cast<int64_t>(categorical.size());
  for (size_t s = 0; s < 3; ++s) {
    const int64_t n = static_cast<int64_t>(labels[s].size() / 2);
    out[s]->categorical = at::tensor(cat[s], at::kLong).view({n, fields});
    out[s]->numerical = at::tensor(num[s], at::kFloat).view({n, static_cast<int64_t>(kNumerical.size())});
    out[s]->labels = at::tensor(labels[s], at::kFloat).view({n, 2});
  }
  standardise_on_train(data);
  return data;
}

}  // namespace losscc::models::mtl
