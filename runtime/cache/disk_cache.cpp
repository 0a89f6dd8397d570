#include "runtime/cache/disk_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

namespace losscc::rt {
namespace fs = std::filesystem;

namespace {

// Entry layout (native byte order; the magic changes with the format):
//   magic[8] | key_size u64 | blob_size u64 | checksum u64 | key | blob
// checksum = XXH64 over key_size, blob_size, key and blob, so damage anywhere
// (header included) is caught.
constexpr char kMagic[8] = {'l', 's', 'c', 'c', 'k', 'c', '0', '1'};
constexpr size_t kHeaderSize = sizeof kMagic + 3 * sizeof(uint64_t);
constexpr uint64_t kChecksumSeed = 0x6c6f73736363ULL;

uint64_t checksum(std::string_view key, std::string_view blob) {
  XXH64_state_t state;
  XXH64_reset(&state, kChecksumSeed);
  const uint64_t sizes[2] = {key.size(), blob.size()};
  XXH64_update(&state, sizes, sizeof sizes);
  XXH64_update(&state, key.data(), key.size());
  XXH64_update(&state, blob.data(), blob.size());
  return XXH64_digest(&state);
}

std::string hex128(const XXH128_hash_t& h) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

// The cache must never fail its caller, but a cache that silently never
// stores anything is a mystery slowdown: say so once per process.
void warn_once(const fs::path& dir, const std::string& what) {
  static std::atomic<bool> warned{false};
  if (warned.exchange(true)) return;
  std::fprintf(stderr, "losscc: kernel cache at %s not written (%s); continuing without it\n",
               dir.c_str(), what.c_str());
}

bool read_file(const fs::path& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0;
  if (ok) {
    out.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t r = ::read(fd, out.data() + done, out.size() - done);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      done += static_cast<size_t>(r);
    }
    out.resize(done);
  }
  ::close(fd);
  return ok;
}

bool write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t w = ::write(fd, p, size);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    size -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

DiskCache& DiskCache::default_instance() {
  static DiskCache instance([] {
    if (const char* d = std::getenv("LOSSCC_CACHE_DIR"); d && *d) return fs::path(d);
    if (const char* home = std::getenv("HOME"); home && *home)
      return fs::path(home) / ".cache" / "losscc";
    return fs::temp_directory_path() / "losscc-cache";
  }());
  return instance;
}

DiskCache::DiskCache(fs::path dir) : dir_(std::move(dir)) {}

fs::path DiskCache::path_for(const std::string& key) const {
  return dir_ / (hex128(XXH3_128bits(key.data(), key.size())) + ".lcc");
}

std::optional<std::string> DiskCache::load(const std::string& key) const {
  const fs::path path = path_for(key);
  std::string data;
  if (!read_file(path, data)) return std::nullopt;  // no entry (or unreadable)

  auto damaged = [&]() -> std::optional<std::string> {
    // Another process may have replaced the file with a good entry since we
    // read it; deleting that costs one recompile, never a wrong result.
    std::error_code ec;
    fs::remove(path, ec);
    return std::nullopt;
  };
  if (data.size() < kHeaderSize || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    return damaged();
  uint64_t fields[3];  // key_size, blob_size, checksum
  std::memcpy(fields, data.data() + sizeof kMagic, sizeof fields);
  const uint64_t key_size = fields[0], blob_size = fields[1];
  if (key_size > data.size() || blob_size > data.size() ||
      kHeaderSize + key_size + blob_size != data.size())
    return damaged();
  std::string_view stored_key(data.data() + kHeaderSize, key_size);
  std::string_view blob(data.data() + kHeaderSize + key_size, blob_size);
  if (checksum(stored_key, blob) != fields[2]) return damaged();
  if (stored_key != key) return std::nullopt;  // a hash collision: another key's entry
  return std::string(blob);
}

void DiskCache::store(const std::string& key, std::string_view blob) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return warn_once(dir_, "cannot create directory: " + ec.message());

  const fs::path path = path_for(key);
  // mkstemp gives each writer its own file in the same directory (rename is
  // atomic only within one file system).
  std::string tmp = path.string() + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return warn_once(dir_, std::string("cannot create a file: ") + std::strerror(errno));

  uint64_t fields[3] = {key.size(), blob.size(), checksum(key, blob)};
  bool ok = write_all(fd, kMagic, sizeof kMagic) && write_all(fd, fields, sizeof fields) &&
            write_all(fd, key.data(), key.size()) && write_all(fd, blob.data(), blob.size());
  // fsync before rename: otherwise a crash can leave the new name pointing at
  // a file whose data never reached the disk (the checksum would catch it,
  // but a good entry is better than a deleted one).
  ok = ok && ::fsync(fd) == 0;
  int err = ok ? 0 : errno;
  ok = (::close(fd) == 0) && ok;
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    warn_once(dir_, std::string("write failed: ") + std::strerror(err ? err : errno));
  }
}

}  // namespace losscc::rt
