#include "search/candidate_log.h"

#include <stdexcept>
#include <string>

namespace losscc::search {

namespace fs = std::filesystem;

void CandidateLog::open(const fs::path& path) {
  out_.open(path, std::ios::app | std::ios::binary);
  if (!out_) throw std::runtime_error("cannot open " + path.string());
}

void CandidateLog::create(const fs::path& path) {
  std::ofstream(path, std::ios::trunc);
  bytes_ = 0;
  open(path);
}

int64_t CandidateLog::resume(const fs::path& path, int64_t bytes) {
  if (!fs::exists(path) || static_cast<int64_t>(fs::file_size(path)) < bytes)
    throw std::runtime_error("--resume: " + path.string() + " is shorter than its checkpoint");
  int64_t lines = 0;
  {
    std::ifstream in(path, std::ios::binary);
    in.seekg(bytes);
    char last = '\n';
    for (char c; in.get(c); last = c) lines += c == '\n';
    lines += last != '\n';
  }
  fs::resize_file(path, static_cast<uintmax_t>(bytes));
  bytes_ = bytes;
  open(path);
  return lines;
}

void CandidateLog::append(const nlohmann::json& line) {
  const std::string text = line.dump() + "\n";
  out_ << text;
  out_.flush();
  bytes_ += static_cast<int64_t>(text.size());
}

void CandidateLog::for_each(const fs::path& path, const std::function<void(const nlohmann::json&)>& visit) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) visit(nlohmann::json::parse(line));
}

}  // namespace losscc::search
