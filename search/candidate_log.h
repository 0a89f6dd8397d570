// candidates.jsonl: one JSON line per judged candidate, appended and flushed
// as it is judged. A checkpoint records how many bytes of it it covers; a
// resumed search cuts the log back to that and reads the lines before it
// (to rebuild the reward cache), so the log never holds a candidate twice.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

namespace losscc::search {

class CandidateLog {
 public:
  // A fresh search: an empty log at `path`.
  void create(const std::filesystem::path& path);
  // A resumed one: cuts the log at `path` back to `bytes` and returns the
  // lines cut off (a line cut short by a kill counts too). Throws
  // std::runtime_error when the log is shorter than that.
  int64_t resume(const std::filesystem::path& path, int64_t bytes);

  void append(const nlohmann::json& line);
  int64_t bytes() const { return bytes_; }

  // Every line of the log at `path`, parsed, in order.
  static void for_each(const std::filesystem::path& path, const std::function<void(const nlohmann::json&)>& visit);

 private:
  void open(const std::filesystem::path& path);
  std::ofstream out_;
  int64_t bytes_ = 0;
};

}  // namespace losscc::search
