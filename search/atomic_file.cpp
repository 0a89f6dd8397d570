#include "search/atomic_file.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace losscc::search {

namespace {

// Unique per process so two processes on one --out cannot clobber each
// other's temporary file (the rename still decides who wins).
std::string temporary_name(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

void rename_over(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    std::remove(from.c_str());
    throw std::runtime_error("cannot replace " + to);
  }
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string tmp = temporary_name(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  rename_over(tmp, path);
}

void produce_file_atomically(const std::string& path,
                             const std::function<void(const std::string&)>& write) {
  const std::string tmp = temporary_name(path);
  write(tmp);
  rename_over(tmp, path);
}

}  // namespace losscc::search
