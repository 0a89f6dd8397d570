#include "models/mtl/sessions.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

namespace losscc::models::mtl {

namespace fs = std::filesystem;

namespace {

struct Field {
  std::string_view text;
  size_t column;  // 1-based character column of the field's start
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Plain comma-separated fields (no quoting: the format has none).
std::vector<Field> split_commas(std::string_view line) {
  std::vector<Field> fields;
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    const std::string_view raw = line.substr(start, comma == std::string_view::npos ? comma : comma - start);
    const std::string_view value = trim(raw);
    fields.push_back({value, start + 1 + (value.empty() ? 0 : value.data() - raw.data())});
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

bool parse_integer(std::string_view text, int64_t* value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// Collects bad lines; throws once the file is read unless they are skipped.
class BadLines {
 public:
  BadLines(std::vector<std::string>* sink) : sink_(sink) {}
  void add(std::string message) { sink_->push_back(std::move(message)); }
  size_t count() const { return sink_->size(); }
  void throw_if_any(const SessionLoadOptions& options) const {
    if (options.skip_bad_lines || sink_->empty()) return;
    std::string text = fmt::format("{} bad line{}:", sink_->size(), sink_->size() == 1 ? "" : "s");
    for (size_t i = 0; i < std::min<size_t>(10, sink_->size()); ++i) text += "\n  " + (*sink_)[i];
    if (sink_->size() > 10) text += fmt::format("\n  ... and {} more", sink_->size() - 10);
    throw MtlDataError(text);
  }

 private:
  std::vector<std::string>* sink_;
};

struct Event {
  int64_t timestamp, session, item;
  float pay, click;
  int64_t order;  // file order, to keep equal timestamps stable
};

constexpr std::array<std::string_view, 5> kSessionColumns = {"timestamp", "sessionid", "itemid", "pay", "click"};

std::vector<Event> read_events(const std::string& file, BadLines& bad) {
  std::ifstream in(file);
  if (!in) throw MtlDataError(fmt::format("{}: cannot open file", file));
  std::string line;
  if (!std::getline(in, line))
    throw MtlDataError(fmt::format("{}:1: empty file, expected the header 'timestamp,sessionid,itemid,pay,click'", file));
  const std::vector<Field> header = split_commas(line);
  std::array<size_t, kSessionColumns.size()> position{};
  for (size_t c = 0; c < kSessionColumns.size(); ++c) {
    auto it = std::find_if(header.begin(), header.end(), [&](const Field& f) { return f.text == kSessionColumns[c]; });
    if (it == header.end())
      throw MtlDataError(fmt::format("{}:1:1: header has no column '{}' (expected timestamp,sessionid,itemid,pay,click)",
                                     file, kSessionColumns[c]));
    position[c] = static_cast<size_t>(it - header.begin());
  }
  std::vector<Event> events;
  for (int64_t line_no = 2; std::getline(in, line); ++line_no) {
    if (trim(line).empty()) continue;
    const std::vector<Field> fields = split_commas(line);
    if (fields.size() != header.size()) {
      bad.add(fmt::format("{}:{}:1: expected {} comma-separated fields, got {}", file, line_no, header.size(), fields.size()));
      continue;
    }
    std::array<int64_t, kSessionColumns.size()> values{};
    bool ok = true;
    for (size_t c = 0; c < kSessionColumns.size() && ok; ++c) {
      const Field& f = fields[position[c]];
      if (!parse_integer(f.text, &values[c])) {
        bad.add(fmt::format("{}:{}:{}: {}: expected an integer, got '{}'", file, line_no, f.column, kSessionColumns[c], f.text));
        ok = false;
      } else if (c >= 3 && values[c] != 0 && values[c] != 1) {
        bad.add(fmt::format("{}:{}:{}: {}: expected 0 or 1, got '{}'", file, line_no, f.column, kSessionColumns[c], f.text));
        ok = false;
      }
    }
    if (ok)
      events.push_back({values[0], values[1], values[2], static_cast<float>(values[3]),
                        static_cast<float>(values[4]), static_cast<int64_t>(events.size())});
  }
  return events;
}

struct ItemTable {
  std::vector<std::string> names;                        // feature columns
  std::unordered_map<int64_t, std::vector<int64_t>> ids;  // item → value id per feature
  std::vector<int64_t> sizes;                            // values per feature, unknown included
};

ItemTable read_items(const std::string& file, BadLines& bad) {
  ItemTable table;
  std::ifstream in(file);
  if (!in) throw MtlDataError(fmt::format("{}: cannot open file", file));
  std::string line;
  if (!std::getline(in, line)) throw MtlDataError(fmt::format("{}:1: empty file, expected the header 'itemid,<feature>,...'", file));
  const std::vector<Field> header = split_commas(line);
  auto item_col = std::find_if(header.begin(), header.end(), [](const Field& f) { return f.text == "itemid"; });
  if (item_col == header.end()) throw MtlDataError(fmt::format("{}:1:1: header has no column 'itemid'", file));
  const size_t item_pos = static_cast<size_t>(item_col - header.begin());
  std::vector<size_t> feature_pos;
  for (size_t c = 0; c < header.size(); ++c)
    if (c != item_pos) {
      feature_pos.push_back(c);
      table.names.emplace_back(header[c].text);
    }
  std::vector<std::map<std::string, int64_t>> vocab(feature_pos.size());
  std::vector<std::pair<int64_t, std::vector<std::string>>> rows;
  for (int64_t line_no = 2; std::getline(in, line); ++line_no) {
    if (trim(line).empty()) continue;
    const std::vector<Field> fields = split_commas(line);
    if (fields.size() != header.size()) {
      bad.add(fmt::format("{}:{}:1: expected {} comma-separated fields, got {}", file, line_no, header.size(), fields.size()));
      continue;
    }
    int64_t item = 0;
    if (!parse_integer(fields[item_pos].text, &item)) {
      bad.add(fmt::format("{}:{}:{}: itemid: expected an integer, got '{}'", file, line_no, fields[item_pos].column, fields[item_pos].text));
      continue;
    }
    std::vector<std::string> values;
    for (size_t f = 0; f < feature_pos.size(); ++f) {
      std::string value(fields[feature_pos[f]].text);
      if (value.empty()) value = "0";
      vocab[f].emplace(value, 0);
      values.push_back(std::move(value));
    }
    rows.emplace_back(item, std::move(values));  // a repeated item: the first row wins below
  }
  for (auto& values : vocab) {
    int64_t next = 1;
    for (auto& [value, id] : values) id = next++;
    table.sizes.push_back(next);
  }
  for (const auto& [item, values] : rows) {
    std::vector<int64_t> ids;
    for (size_t f = 0; f < values.size(); ++f) ids.push_back(vocab[f].at(values[f]));
    table.ids.emplace(item, std::move(ids));
  }
  return table;
}

}  // namespace

SessionLoad load_sessions(const std::string& dir, const SessionLoadOptions& options) {
  if (!fs::is_directory(dir)) throw MtlDataError(fmt::format("{}: no such folder", dir));
  SessionLoad result;
  BadLines bad(&result.bad_lines);
  const std::string sessions_file = (fs::path(dir) / "sessions.csv").string();
  if (!fs::exists(sessions_file)) throw MtlDataError(fmt::format("{}: no such file", sessions_file));
  std::vector<Event> events = read_events(sessions_file, bad);
  ItemTable items;
  const std::string items_file = (fs::path(dir) / "items.csv").string();
  if (fs::exists(items_file)) items = read_items(items_file, bad);
  bad.throw_if_any(options);
  if (events.empty()) throw MtlDataError(fmt::format("{}: no rows", sessions_file));

  // Sessions ordered by their first timestamp (then id); events by time.
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.session, a.timestamp, a.order) < std::tie(b.session, b.timestamp, b.order);
  });
  struct Span { int64_t first_time, session; size_t begin, end; };
  std::vector<Span> spans;
  for (size_t i = 0; i < events.size();) {
    size_t j = i;
    while (j < events.size() && events[j].session == events[i].session) ++j;
    spans.push_back({events[i].timestamp, events[i].session, i, j});
    i = j;
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return std::tie(a.first_time, a.session) < std::tie(b.first_time, b.session);
  });
  const size_t train_end = spans.size() * 6 / 10, valid_end = spans.size() * 8 / 10;

  MtlDataset& data = result.data;
  data.name = fs::path(dir).lexically_normal().filename().string();
  if (data.name.empty()) data.name = fs::path(dir).lexically_normal().parent_path().filename().string();
  data.tasks = {"click", "pay"};
  data.categorical_names.push_back("itemid");
  for (const std::string& name : items.names) data.categorical_names.push_back(name);

  std::map<int64_t, int64_t> item_ids;  // train items, numbered in sorted order
  for (size_t s = 0; s < train_end; ++s)
    for (size_t e = spans[s].begin; e < spans[s].end; ++e) item_ids.emplace(events[e].item, 0);
  {
    int64_t next = 1;
    for (auto& [item, id] : item_ids) id = next++;
    data.field_sizes.push_back(next);
  }
  for (int64_t size : items.sizes) data.field_sizes.push_back(size);

  const int64_t fields = static_cast<int64_t>(data.categorical_names.size());
  std::array<MtlRows*, 3> out = {&data.train, &data.valid, &data.test};
  const std::array<std::pair<size_t, size_t>, 3> ranges = {{{0, train_end}, {train_end, valid_end}, {valid_end, spans.size()}}};
  for (size_t split = 0; split < 3; ++split) {
    std::vector<int64_t> cat, session;
    std::vector<float> labels;
    for (size_t s = ranges[split].first; s < ranges[split].second; ++s) {
      for (size_t e = spans[s].begin; e < spans[s].end; ++e) {
        const Event& ev = events[e];
        auto known = item_ids.find(ev.item);
        cat.push_back(known == item_ids.end() ? 0 : known->second);
        auto features = items.ids.find(ev.item);
        for (size_t f = 0; f < items.names.size(); ++f)
          cat.push_back(features == items.ids.end() ? 0 : features->second[f]);
        labels.push_back(ev.click);
        labels.push_back(ev.pay);
        session.push_back(static_cast<int64_t>(s - ranges[split].first));
      }
    }
    const int64_t n = static_cast<int64_t>(session.size());
    out[split]->categorical = at::tensor(cat, at::kLong).view({n, fields});
    out[split]->numerical = at::zeros({n, 0}, at::kFloat);
    out[split]->labels = at::tensor(labels, at::kFloat).view({n, 2});
    out[split]->session = at::tensor(session, at::kLong);
    out[split]->next = next_in_session(out[split]->session);
  }
  return result;
}

MtlDataset synthetic_sessions(const SyntheticSessionConfig& c) {
  if (c.sessions < 5 || c.items < 1 || c.categories < 1 || c.dim < 1 || c.min_length < 1 || c.max_length < c.min_length)
    throw std::invalid_argument("synthetic_sessions: needs sessions >= 5, items, categories, dim >= 1 and 1 <= min_length <= max_length");
  std::mt19937_64 rng(c.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const double scale = 1.0 / std::sqrt(std::sqrt(static_cast<double>(c.dim)));  // <u, v> has variance 1

  std::vector<std::vector<double>> item_vec(c.items, std::vector<double>(c.dim));
  std::vector<double> item_bias(c.items), price(c.items), category_bias(c.categories);
  std::vector<int64_t> category(c.items);
  for (auto& b : category_bias) b = 0.5 * normal(rng);
  for (int64_t i = 0; i < c.items; ++i) {
    for (double& x : item_vec[i]) x = scale * normal(rng);
    item_bias[i] = 0.5 * normal(rng);
    price[i] = normal(rng);  // log price, already standard
    category[i] = static_cast<int64_t>(rng() % static_cast<uint64_t>(c.categories));
  }
  auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  std::uniform_real_distribution<double> uniform(0.0, 1.0);

  MtlDataset data;
  data.name = "synthetic-sessions";
  data.tasks = {"click", "pay"};
  data.categorical_names = {"item", "category", "segment", "position"};
  data.field_sizes = {c.items + 1, c.categories + 1, 2 * c.dim + 1, 11 + 1};
  data.numerical_names = {"price", "position"};
  const int64_t train_end = c.sessions * 6 / 10, valid_end = c.sessions * 8 / 10;
  std::array<std::vector<int64_t>, 3> cat, session;
  std::array<std::vector<float>, 3> num, labels;
  for (int64_t s = 0; s < c.sessions; ++s) {
    const size_t split = s < train_end ? 0 : s < valid_end ? 1 : 2;
    const int64_t local = s - (split == 0 ? 0 : split == 1 ? train_end : valid_end);
    std::vector<double> u(c.dim);
    for (double& x : u) x = scale * normal(rng);
    const int largest = static_cast<int>(std::max_element(u.begin(), u.end(), [](double a, double b) {
                          return std::abs(a) < std::abs(b); }) - u.begin());
    const int64_t segment = 1 + 2 * largest + (u[largest] < 0 ? 1 : 0);
    const int64_t length = c.min_length + static_cast<int64_t>(rng() % static_cast<uint64_t>(c.max_length - c.min_length + 1));
    for (int64_t p = 0; p < length; ++p) {
      const int64_t item = static_cast<int64_t>(rng() % static_cast<uint64_t>(c.items));
      double affinity = 0;
      for (int d = 0; d < c.dim; ++d) affinity += u[d] * item_vec[item][d];
      const double p_click = sigmoid(c.click_signal * affinity + item_bias[item] + category_bias[category[item]] - 1 - 0.1 * p);
      const double p_pay = sigmoid(c.pay_signal * affinity + item_bias[item] - c.price_effect * price[item] - 1.5);
      const bool click = uniform(rng) < p_click;
      const bool pay = uniform(rng) < p_pay && click;  // draw always: the stream does not depend on click
      const int64_t position = std::min<int64_t>(p, 10);
      for (int64_t v : {item + 1, category[item] + 1, segment, position + 1}) cat[split].push_back(v);
      num[split].push_back(static_cast<float>(price[item]));
      num[split].push_back(static_cast<float>(position) / 10.f);
      labels[split].push_back(click ? 1.f : 0.f);
      labels[split].push_back(pay ? 1.f : 0.f);
      session[split].push_back(local);
    }
  }
  std::array<MtlRows*, 3> out = {&data.train, &data.valid, &data.test};
  for (size_t s = 0; s < 3; ++s) {
    const int64_t n = static_cast<int64_t>(session[s].size());
    out[s]->categorical = at::tensor(cat[s], at::kLong).view({n, 4});
    out[s]->numerical = at::tensor(num[s], at::kFloat).view({n, 2});
    out[s]->labels = at::tensor(labels[s], at::kFloat).view({n, 2});
    out[s]->session = at::tensor(session[s], at::kLong);
    out[s]->next = next_in_session(out[s]->session);
  }
  standardise_on_train(data);
  return data;
}

}  // namespace losscc::models::mtl
