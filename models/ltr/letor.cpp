#include "models/ltr/letor.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

namespace losscc::models::ltr {

int64_t LtrSplit::queries_without_relevant() const {
  int64_t count = 0;
  for (int64_t q = 0; q < queries(); ++q) {
    bool relevant = false;
    for (int64_t i = offsets[q]; i < offsets[q + 1] && !relevant; ++i) relevant = labels[i] > 0;
    count += !relevant;
  }
  return count;
}

void LtrSplit::widen(int64_t new_dims) {
  if (new_dims < dims) throw std::invalid_argument("LtrSplit::widen: cannot narrow");
  if (new_dims == dims) return;
  std::vector<float> wide(static_cast<size_t>(documents() * new_dims), 0.0f);
  for (int64_t i = 0; i < documents(); ++i)
    std::copy_n(features.begin() + i * dims, dims, wide.begin() + i * new_dims);
  features = std::move(wide);
  dims = new_dims;
}

namespace {

struct Token {
  std::string_view text;
  size_t column;  // 1-based
};

std::vector<Token> tokens(std::string_view line) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back({line.substr(start, i - start), start + 1});
  }
  return out;
}

bool parse_int(std::string_view text, int64_t& value) {
  if (text.empty() || text.size() > 18) return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

bool parse_real(std::string_view text, double& value) {
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  value = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size() && errno != ERANGE && std::isfinite(value);
}

struct Row {
  float label;
  std::vector<std::pair<int64_t, float>> features;  // (0-based index, value)
};

// (x - min_q) / (max_q - min_q) per feature within each query; 0 where constant.
void normalise_per_query(LtrSplit& split) {
  const int64_t d = split.dims;
  for (int64_t q = 0; q < split.queries(); ++q)
    for (int64_t f = 0; f < d; ++f) {
      float lo = INFINITY, hi = -INFINITY;
      for (int64_t i = split.offsets[q]; i < split.offsets[q + 1]; ++i) {
        lo = std::min(lo, split.features[i * d + f]);
        hi = std::max(hi, split.features[i * d + f]);
      }
      for (int64_t i = split.offsets[q]; i < split.offsets[q + 1]; ++i) {
        float& x = split.features[i * d + f];
        x = hi > lo ? (x - lo) / (hi - lo) : 0.0f;
      }
    }
}

}  // namespace

LtrSplit load_letor_file(const std::string& path, const LetorOptions& options) {
  std::ifstream in(path);
  if (!in) throw LtrDataError(fmt::format("{}: cannot open", path));
  std::vector<Row> rows;
  std::vector<std::string> qids;
  std::vector<std::vector<int64_t>> members;  // rows of each query, in file order
  std::unordered_map<std::string, int64_t> query_of;
  int64_t dims = 0;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    std::string_view body(line);
    if (const size_t hash = body.find('#'); hash != std::string_view::npos) body = body.substr(0, hash);
    const std::vector<Token> toks = tokens(body);
    if (toks.empty()) continue;
    auto fail = [&](const Token& t, const std::string& what) {
      return LtrDataError(fmt::format("{}:{}:{}: {}", path, number, t.column, what));
    };
    Row row;
    int64_t label = 0;
    if (!parse_int(toks[0].text, label))
      throw fail(toks[0], fmt::format("expected a relevance label (an integer >= 0), got '{}'", toks[0].text));
    row.label = static_cast<float>(label);
    if (toks.size() < 2)
      throw LtrDataError(fmt::format("{}:{}:{}: expected 'qid:<id>' after the label", path, number,
                                     toks[0].column + toks[0].text.size()));
    const Token& q = toks[1];
    if (q.text.substr(0, 4) != "qid:" || q.text.size() == 4)
      throw fail(q, fmt::format("expected 'qid:<id>', got '{}'", q.text));
    int64_t previous = 0;
    for (size_t k = 2; k < toks.size(); ++k) {
      const Token& t = toks[k];
      const size_t colon = t.text.find(':');
      int64_t index = 0;
      double value = 0;
      if (colon == std::string_view::npos || !parse_int(t.text.substr(0, colon), index) || index < 1)
        throw fail(t, fmt::format("expected '<index>:<value>' with an integer index >= 1, got '{}'", t.text));
      if (!parse_real(t.text.substr(colon + 1), value))
        throw LtrDataError(fmt::format("{}:{}:{}: expected a finite number after '{}:', got '{}'", path, number,
                                       t.column + colon + 1, index, t.text.substr(colon + 1)));
      if (index <= previous)
        throw fail(t, fmt::format("feature index {} after {}: indices must increase along a line", index, previous));
      previous = index;
      dims = std::max(dims, index);
      row.features.push_back({index - 1, static_cast<float>(value)});
    }
    const std::string qid(q.text.substr(4));
    auto [it, added] = query_of.try_emplace(qid, static_cast<int64_t>(qids.size()));
    if (added) {
      qids.push_back(qid);
      members.emplace_back();
    }
    members[it->second].push_back(static_cast<int64_t>(rows.size()));
    rows.push_back(std::move(row));
  }
  if (in.bad()) throw LtrDataError(fmt::format("{}: read error", path));
  if (rows.empty()) throw LtrDataError(fmt::format("{}: no documents", path));

  LtrSplit split;
  split.dims = dims;
  split.qids = std::move(qids);
  split.features.assign(rows.size() * dims, 0.0f);
  split.labels.reserve(rows.size());
  for (const std::vector<int64_t>& query : members) {
    for (int64_t r : query) {
      const int64_t i = static_cast<int64_t>(split.labels.size());
      split.labels.push_back(rows[r].label);
      split.source_row.push_back(r);
      for (const auto& [f, v] : rows[r].features) split.features[i * dims + f] = v;
    }
    split.offsets.push_back(static_cast<int64_t>(split.labels.size()));
  }
  if (options.query_norm) normalise_per_query(split);
  return split;
}

LtrSplit concatenate(const std::vector<LtrSplit>& parts) {
  LtrSplit out;
  for (const LtrSplit& p : parts) out.dims = std::max(out.dims, p.dims);
  for (LtrSplit p : parts) {
    p.widen(out.dims);
    const int64_t base = out.documents();
    out.features.insert(out.features.end(), p.features.begin(), p.features.end());
    out.labels.insert(out.labels.end(), p.labels.begin(), p.labels.end());
    for (int64_t r : p.source_row) out.source_row.push_back(base + r);
    out.qids.insert(out.qids.end(), p.qids.begin(), p.qids.end());
    for (int64_t q = 1; q <= p.queries(); ++q) out.offsets.push_back(base + p.offsets[q]);
  }
  return out;
}

LtrSplit select_queries(const LtrSplit& split, const std::vector<int64_t>& keep) {
  LtrSplit out;
  out.dims = split.dims;
  for (int64_t q : keep) {
    const int64_t begin = split.offsets.at(q), end = split.offsets.at(q + 1);
    out.features.insert(out.features.end(), split.features.begin() + begin * split.dims,
                        split.features.begin() + end * split.dims);
    out.labels.insert(out.labels.end(), split.labels.begin() + begin, split.labels.begin() + end);
    if (!split.source_row.empty())
      out.source_row.insert(out.source_row.end(), split.source_row.begin() + begin, split.source_row.begin() + end);
    out.qids.push_back(split.qids.at(q));
    out.offsets.push_back(out.documents());
  }
  return out;
}

HeldOutQueries hold_out_queries(const LtrSplit& split, double fraction, uint64_t seed) {
  const int64_t queries = split.queries();
  const auto held_count = static_cast<int64_t>(std::llround(fraction * static_cast<double>(queries)));
  if (!(fraction > 0 && fraction < 1) || held_count < 1 || held_count >= queries)
    throw std::invalid_argument(fmt::format("holding out {} of {} queries leaves a part without a query", fraction,
                                            queries));
  std::vector<int64_t> order(queries);
  for (int64_t q = 0; q < queries; ++q) order[q] = q;
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<int64_t> held(order.begin(), order.begin() + held_count), kept(order.begin() + held_count, order.end());
  std::sort(held.begin(), held.end());
  std::sort(kept.begin(), kept.end());
  return {select_queries(split, kept), select_queries(split, held)};
}

FoldFiles fold_files(const std::string& dir, int fold) {
  namespace fs = std::filesystem;
  if (fold < 1 || fold > 5) throw std::invalid_argument(fmt::format("fold {}: expected 1..5", fold));
  const fs::path folder = fs::path(dir) / fmt::format("Fold{}", fold);
  if (fs::exists(folder / "train.txt"))
    return {{(folder / "train.txt").string()}, {(folder / "vali.txt").string()}, {(folder / "test.txt").string()}};
  auto part = [&](int offset) { return (fs::path(dir) / fmt::format("S{}.txt", (fold - 1 + offset) % 5 + 1)).string(); };
  if (!fs::exists(part(0)))
    throw LtrDataError(fmt::format("{}: neither Fold{}/train.txt nor S1.txt .. S5.txt", dir, fold));
  return {{part(0), part(1), part(2)}, {part(3)}, {part(4)}};
}

LtrDataset load_letor_fold(const std::string& dir, int fold, const LetorOptions& options) {
  const FoldFiles files = fold_files(dir, fold);
  auto load = [&](const std::vector<std::string>& paths) {
    std::vector<LtrSplit> parts;
    for (const std::string& p : paths) parts.push_back(load_letor_file(p, options));
    return concatenate(parts);
  };
  LtrDataset data;
  data.name = fmt::format("{} fold {}", std::filesystem::path(dir).filename().string(), fold);
  if (data.name.front() == ' ') data.name = fmt::format("fold {}", fold);
  data.train = load(files.train);
  data.valid = load(files.valid);
  data.test = load(files.test);
  data.dims = std::max({data.train.dims, data.valid.dims, data.test.dims});
  for (LtrSplit* s : {&data.train, &data.valid, &data.test}) s->widen(data.dims);
  return data;
}

LtrDataset synthetic_ltr(const SyntheticLtrConfig& config) {
  if (config.dims < 2 || config.max_docs < 3)
    throw std::invalid_argument("synthetic_ltr: needs dims >= 2 and max_docs >= 3");
  std::mt19937_64 rng(config.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> w(config.dims);
  for (double& x : w) x = normal(rng);
  auto split = [&](int64_t queries, const std::string& prefix) {
    LtrSplit s;
    s.dims = config.dims;
    std::uniform_int_distribution<int64_t> docs(3, config.max_docs);
    for (int64_t q = 0; q < queries; ++q) {
      const int64_t n = docs(rng);
      // A per-query shift makes raw scores incomparable across queries, as
      // in real data; every fifth query is "hard" (no document relevant).
      const double shift = normal(rng);
      for (int64_t i = 0; i < n; ++i) {
        double hidden = shift;
        for (int64_t f = 0; f < config.dims; ++f) {
          const double x = normal(rng) + (f == 0 ? shift : 0.0);
          s.features.push_back(static_cast<float>(x));
          hidden += w[f] * x;
        }
        const float* x = &s.features[s.features.size() - config.dims];
        hidden += 1.5 * x[0] * x[1] + 0.5 * normal(rng) - 2.0 * shift;
        const float label = q % 5 == 4 ? 0.0f : hidden > 2.0 ? 2.0f : hidden > 0.5 ? 1.0f : 0.0f;
        s.source_row.push_back(s.documents());
        s.labels.push_back(label);
      }
      s.offsets.push_back(s.documents());
      s.qids.push_back(fmt::format("{}{}", prefix, q));
    }
    return s;
  };
  LtrDataset data;
  data.name = "synthetic";
  data.dims = config.dims;
  data.train = split(config.train_queries, "t");
  data.valid = split(config.valid_queries, "v");
  data.test = split(config.test_queries, "s");
  return data;
}

std::string describe(const LtrDataset& data) {
  std::string out;
  const std::pair<const char*, const LtrSplit*> splits[] = {
      {"train", &data.train}, {"valid", &data.valid}, {"test", &data.test}};
  for (const auto& [name, s] : splits) {
    int64_t longest = 0;
    for (int64_t q = 0; q < s->queries(); ++q) longest = std::max(longest, s->query_size(q));
    out += fmt::format("{:5} {} queries ({} without a relevant document), {} documents, at most {} per query\n",
                       name, s->queries(), s->queries_without_relevant(), s->documents(), longest);
  }
  return out;
}

}  // namespace losscc::models::ltr
