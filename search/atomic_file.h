// Files a kill at any moment leaves either old or new, never half-written:
// write a temporary file beside the target, then rename() it over the target
// (atomic on POSIX within one file system).
#pragma once

#include <functional>
#include <string>

namespace losscc::search {

void write_file_atomically(const std::string& path, const std::string& contents);

// Calls `write(tmp_path)` to produce the file (e.g. a LibTorch archive's
// save_to), then renames it over `path`.
void produce_file_atomically(const std::string& path,
                             const std::function<void(const std::string&)>& write);

}  // namespace losscc::search
