#include "models/rec/data/load_dataset.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

namespace losscc::models {

namespace fs = std::filesystem;

namespace {

// One split as read from its file, with the original ids.
struct RawSplit {
  std::vector<int64_t> users, items;
  std::vector<float> labels;
};

constexpr std::array<std::string_view, 3> kSplitSuffixes = {".train.csv", ".validation.csv", ".test.csv"};

// The columns a file must have, in the order RawSplit stores them.
constexpr std::array<std::string_view, 3> kColumns = {"uid", "iid", "label"};

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

int64_t parse_integer(std::string_view field, bool* ok) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  *ok = ec == std::errc() && end == field.data() + field.size() && !field.empty();
  return value;
}

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b;
}

std::string gunzip(std::string_view bytes, const std::string& file) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw DatasetError(fmt::format("{}: cannot start zlib", file));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  char chunk[1 << 16];
  int status = Z_OK;
  while (status == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    status = inflate(&z, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - z.avail_out);
  }
  inflateEnd(&z);
  if (status != Z_STREAM_END)
    throw DatasetError(fmt::format("{}: not a complete gzip file ({})", file, z.msg ? z.msg : "truncated"));
  return out;
}

// The bytes of `path`, inflated when they are gzip's.
std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DatasetError(fmt::format("{}: cannot open file", path.string()));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return is_gzip(bytes) ? gunzip(bytes, path.string()) : bytes;
}

RawSplit parse_split(std::string_view text, const std::string& file) {
  size_t next = 0;
  const auto getline = [&](std::string_view& line) {
    if (next >= text.size()) return false;
    size_t end = text.find('\n', next);
    if (end == std::string_view::npos) end = text.size();
    line = text.substr(next, end - next);
    next = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return true;
  };
  std::string_view line;
  if (!getline(line)) throw DatasetError(fmt::format("{}:1: empty file, expected the header 'uid<TAB>iid<TAB>label'", file));
  const std::vector<std::string_view> header = split_tabs(line);
  std::array<size_t, kColumns.size()> position{};
  for (size_t c = 0; c < kColumns.size(); ++c) {
    auto it = std::find(header.begin(), header.end(), kColumns[c]);
    if (it == header.end())
      throw DatasetError(fmt::format("{}:1: header has no column '{}' (expected 'uid<TAB>iid<TAB>label')", file, kColumns[c]));
    position[c] = static_cast<size_t>(it - header.begin());
  }

  RawSplit split;
  for (int64_t line_no = 2; getline(line); ++line_no) {
    if (line.empty()) continue;
    const std::vector<std::string_view> fields = split_tabs(line);
    if (fields.size() != header.size())
      throw DatasetError(fmt::format("{}:{}: expected {} tab-separated fields, got {}", file, line_no,
                                     header.size(), fields.size()));
    std::array<int64_t, kColumns.size()> values{};
    for (size_t c = 0; c < kColumns.size(); ++c) {
      bool ok = false;
      std::string_view field = fields[position[c]];
      values[c] = parse_integer(field, &ok);
      if (!ok)
        throw DatasetError(fmt::format("{}:{}: column {} ({}): expected an integer, got '{}'", file,
                                       line_no, position[c] + 1, kColumns[c], field));
      if (c == 2 && values[c] != 0 && values[c] != 1)
        throw DatasetError(fmt::format("{}:{}: column {} (label): expected 0 or 1, got '{}'", file,
                                       line_no, position[c] + 1, field));
    }
    split.users.push_back(values[0]);
    split.items.push_back(values[1]);
    split.labels.push_back(static_cast<float>(values[2]));
  }
  return split;
}

// Original id → dense id, in increasing order of the original id.
class IdMap {
 public:
  void add(const std::vector<int64_t>& ids) { ids_.insert(ids_.end(), ids.begin(), ids.end()); }
  void freeze() {
    std::sort(ids_.begin(), ids_.end());
    ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
  }
  int64_t size() const { return static_cast<int64_t>(ids_.size()); }
  at::Tensor dense(const std::vector<int64_t>& raw) const {
    at::Tensor out = at::empty({static_cast<int64_t>(raw.size())}, at::kLong);
    int64_t* p = out.data_ptr<int64_t>();
    for (size_t i = 0; i < raw.size(); ++i)
      p[i] = std::lower_bound(ids_.begin(), ids_.end(), raw[i]) - ids_.begin();
    return out;
  }

 private:
  std::vector<int64_t> ids_;
};

// DIR/NAME.SUFFIX, or DIR/NAME.SUFFIX.gz when only that exists.
fs::path split_path(const fs::path& dir, const std::string& name, std::string_view suffix) {
  const fs::path plain = dir / (name + std::string(suffix));
  fs::path gz = plain;
  gz += ".gz";
  return !fs::exists(plain) && fs::exists(gz) ? gz : plain;
}

Dataset build_dataset(std::string name, std::array<RawSplit, 3>& raw);

// NAME: the folder's name when DIR/NAME.train.csv exists, else the stem of
// the single *.train.csv in the folder.
std::string dataset_name(const fs::path& dir) {
  constexpr std::string_view kSuffix = ".train.csv";
  std::string name = dir.filename().string();
  if (fs::exists(split_path(dir, name, kSuffix))) return name;
  std::vector<std::string> found;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    std::string file = entry.path().filename().string();
    if (file.size() > 3 && file.compare(file.size() - 3, 3, ".gz") == 0) file.resize(file.size() - 3);
    if (file.size() > kSuffix.size() && file.compare(file.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0)
      found.push_back(file.substr(0, file.size() - kSuffix.size()));
  }
  if (found.size() == 1) return found[0];
  if (found.empty()) throw DatasetError(fmt::format("{}: no *.train.csv file in this folder", dir.string()));
  throw DatasetError(fmt::format("{}: {} *.train.csv files and none named {}.train.csv; which one?",
                                 dir.string(), found.size(), name));
}

}  // namespace

Dataset load_dataset(const std::string& dir_name) {
  // A trailing slash would make filename() empty.
  const fs::path dir = fs::path(dir_name).lexically_normal() / "";
  const fs::path folder = dir.parent_path();
  if (!fs::is_directory(folder)) throw DatasetError(fmt::format("{}: no such folder", dir_name));

  const std::string name = dataset_name(folder);
  std::array<RawSplit, 3> raw;
  for (size_t s = 0; s < raw.size(); ++s) {
    const fs::path path = split_path(folder, name, kSplitSuffixes[s]);
    if (!fs::exists(path)) throw DatasetError(fmt::format("{}: no such file", path.string()));
    raw[s] = parse_split(read_file(path), path.string());
  }
  return build_dataset(name, raw);
}

Dataset parse_dataset(const std::string& name, const std::array<std::string_view, 3>& files) {
  std::array<RawSplit, 3> raw;
  for (size_t s = 0; s < raw.size(); ++s) {
    const std::string file = name + std::string(kSplitSuffixes[s]);
    if (is_gzip(files[s]))
      raw[s] = parse_split(gunzip(files[s], file), file);
    else
      raw[s] = parse_split(files[s], file);
  }
  return build_dataset(name, raw);
}

namespace {

Dataset build_dataset(std::string name, std::array<RawSplit, 3>& raw) {
  Dataset data;
  data.name = std::move(name);
  IdMap users, items;
  for (const RawSplit& split : raw) {
    users.add(split.users);
    items.add(split.items);
  }
  users.freeze();
  items.freeze();
  data.num_users = users.size();
  data.num_items = items.size();

  std::array<Interactions*, 3> out = {&data.train, &data.valid, &data.test};
  for (size_t s = 0; s < raw.size(); ++s) {
    out[s]->users = users.dense(raw[s].users);
    out[s]->items = items.dense(raw[s].items);
    out[s]->labels = at::tensor(raw[s].labels, at::kFloat);
  }
  return data;
}

}  // namespace

}  // namespace losscc::models
