// The on-disk tier of the kernel caches: compiled images (cubins, object
// files) keyed by arbitrary strings, shared by every process on the machine.
//
// One file per entry, named by a 128-bit xxHash of the key. The file holds the
// full key (so a hash collision reads as a miss, never as the wrong kernel)
// and a checksum of its contents (so a damaged file reads as a miss and is
// removed). Writers build the entry in a private temporary file in the same
// directory, fsync it and rename() it into place, so readers in any process
// see either no entry or a complete one. The cache is an optimisation: no
// failure to read or write it is an error for the caller.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace losscc::rt {

class DiskCache {
 public:
  // $LOSSCC_CACHE_DIR, else ~/.cache/losscc. The directory is created on the
  // first store().
  static DiskCache& default_instance();

  explicit DiskCache(std::filesystem::path dir);

  const std::filesystem::path& dir() const { return dir_; }

  // The blob stored under `key`, or nullopt when there is none. An entry that
  // is damaged (bad header or checksum, truncated) is deleted and is a miss;
  // an entry for another key with the same file name is a miss and is kept.
  std::optional<std::string> load(const std::string& key) const;

  // Stores `blob` under `key`, replacing any previous entry, atomically with
  // respect to load() in this and other processes. Never throws on I/O
  // failure (read-only or full disk): it gives up quietly after saying so
  // once per process on stderr.
  void store(const std::string& key, std::string_view blob) const;

  // The file an entry for `key` lives in (exposed for tests and tooling).
  std::filesystem::path path_for(const std::string& key) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace losscc::rt
