// The kernel caches: DiskCache (hit, miss, damage, collisions, several
// processes) and LruCache (eviction order, threads).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "runtime/cache/disk_cache.h"
#include "runtime/cache/lru_cache.h"

namespace fs = std::filesystem;
using losscc::rt::DiskCache;
using losscc::rt::LruCache;

namespace {

// A fresh directory under /tmp, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "losscc-cache-test-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_all(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}
size_t count_files(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

std::string patterned_blob(size_t size, unsigned seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) & 0xff);
  return s;
}

}  // namespace

TEST_CASE("DiskCache: miss, then hit with the exact bytes, then replace") {
  TempDir tmp;
  DiskCache cache(tmp.path / "sub" / "dir");  // created on first store
  CHECK(cache.load("k") == std::nullopt);
  CHECK_FALSE(fs::exists(cache.dir()));

  const std::string blob("cubin\0with\0nuls\xff", 16);
  cache.store("k", blob);
  CHECK(cache.load("k") == blob);
  CHECK(cache.load("K") == std::nullopt);

  cache.store("k", "v2");
  CHECK(cache.load("k") == std::string("v2"));
  CHECK(count_files(cache.dir()) == 1);  // replaced in place, no temp files left

  cache.store("", "");  // empty key and empty blob are ordinary values
  CHECK(cache.load("") == std::string());
}

TEST_CASE("DiskCache: a damaged entry is a miss, is removed, and is rebuilt") {
  TempDir tmp;
  DiskCache cache(tmp.path);
  const std::string blob = patterned_blob(4096, 1);
  const fs::path file = cache.path_for("key");

  auto damage_and_check = [&](auto&& damage) {
    cache.store("key", blob);
    REQUIRE(cache.load("key") == blob);
    std::string bytes = read_all(file);
    damage(bytes);
    write_all(file, bytes);
    CHECK(cache.load("key") == std::nullopt);
    CHECK_FALSE(fs::exists(file));
    cache.store("key", blob);  // rebuilt
    CHECK(cache.load("key") == blob);
  };
  SUBCASE("a flipped byte in the blob") { damage_and_check([](std::string& b) { b[b.size() - 100] ^= 0x10; }); }
  SUBCASE("a flipped byte in the key") { damage_and_check([](std::string& b) { b[33] ^= 0x01; }); }
  SUBCASE("a flipped byte in the header") { damage_and_check([](std::string& b) { b[9] ^= 0x01; }); }
  SUBCASE("truncated") { damage_and_check([](std::string& b) { b.resize(b.size() / 2); }); }
  SUBCASE("truncated inside the header") { damage_and_check([](std::string& b) { b.resize(5); }); }
  SUBCASE("empty file") { damage_and_check([](std::string& b) { b.clear(); }); }
  SUBCASE("extra bytes") { damage_and_check([](std::string& b) { b += "x"; }); }
}

TEST_CASE("DiskCache: another key's entry under the same file name is a miss, and is kept") {
  // A real 128-bit collision cannot be produced on demand, so plant B's
  // (valid) entry at A's file name.
  TempDir tmp;
  DiskCache cache(tmp.path);
  cache.store("B", "blob of B");
  fs::rename(cache.path_for("B"), cache.path_for("A"));

  CHECK(cache.load("A") == std::nullopt);
  CHECK(fs::exists(cache.path_for("A")));  // not damaged: left alone
  cache.store("A", "blob of A");
  CHECK(cache.load("A") == std::string("blob of A"));
}

TEST_CASE("DiskCache: an unwritable directory never throws and stays a miss") {
  TempDir tmp;
  write_all(tmp.path / "a-file", "x");
  DiskCache cache(tmp.path / "a-file" / "cache");  // cannot be created: its parent is a file
  CHECK_NOTHROW(cache.store("k", "v"));
  CHECK_NOTHROW(cache.store("k", "v"));  // (the stderr note appears once per process)
  CHECK(cache.load("k") == std::nullopt);
}

TEST_CASE("DiskCache: default_instance honours LOSSCC_CACHE_DIR") {
  // default_instance() is created once per process; only check it is stable
  // and, when the variable is set, equal to it.
  const DiskCache& a = DiskCache::default_instance();
  CHECK(&a == &DiskCache::default_instance());
  if (const char* d = std::getenv("LOSSCC_CACHE_DIR"); d && *d) CHECK(a.dir() == fs::path(d));
  else CHECK(a.dir().filename() == "losscc");
}

TEST_CASE("DiskCache: two processes writing one key while a third reads") {
  TempDir tmp;
  DiskCache cache(tmp.path);
  // Large enough that a write takes many syscalls, so a torn read would show.
  const std::string blob = patterned_blob(1 << 20, 7);
  constexpr int kWritesPerProcess = 60;

  std::vector<pid_t> writers;
  for (int w = 0; w < 2; ++w) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      for (int i = 0; i < kWritesPerProcess; ++i) cache.store("shared", blob);
      ::_exit(0);
    }
    writers.push_back(pid);
  }

  int hits = 0, misses = 0, wrong = 0, running = 2, failed_writers = 0;
  while (running > 0) {
    auto got = cache.load("shared");
    if (!got) ++misses;
    else if (*got == blob) ++hits;
    else ++wrong;
    for (pid_t& pid : writers) {
      int status = 0;
      if (pid > 0 && ::waitpid(pid, &status, WNOHANG) == pid) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed_writers;
        pid = -1;
        --running;
      }
    }
  }
  MESSAGE("concurrent reads: " << hits << " hits, " << misses << " misses");
  CHECK(wrong == 0);
  CHECK(failed_writers == 0);
  CHECK(cache.load("shared") == blob);
  CHECK(count_files(tmp.path) == 1);  // no temporary files left behind
}

TEST_CASE("LruCache: evicts the least recently used entry") {
  LruCache<int> lru(3);
  lru.put("a", 1);
  lru.put("b", 2);
  lru.put("c", 3);
  CHECK(lru.get("a") == 1);  // order now a, c, b (most recent first)
  lru.put("d", 4);           // evicts b
  CHECK(lru.get("b") == std::nullopt);
  CHECK(lru.size() == 3);
  lru.put("c", 30);  // replacing refreshes: order c, d, a
  lru.put("e", 5);   // evicts a
  CHECK(lru.get("a") == std::nullopt);
  CHECK(lru.get("c") == 30);
  CHECK(lru.get("d") == 4);
  CHECK(lru.get("e") == 5);
  CHECK(lru.erase("d"));
  CHECK_FALSE(lru.erase("d"));
  CHECK(lru.size() == 2);
  lru.clear();
  CHECK(lru.size() == 0);
}

TEST_CASE("LruCache: concurrent use from several threads keeps it bounded and consistent") {
  LruCache<std::string> lru(64);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        std::string key = std::to_string((i * 7 + t) % 200);
        if (i % 3 == 0) lru.put(key, "v" + key);
        else if (auto v = lru.get(key); v && *v != "v" + key) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(bad == 0);
  CHECK(lru.size() <= 64);
}

TEST_CASE("cache hit cost (measured, not asserted)") {
  using Clock = std::chrono::steady_clock;
  LruCache<std::shared_ptr<int>> lru(256);
  for (int i = 0; i < 256; ++i) lru.put("losscc:cuda:sm_90:" + std::to_string(i), std::make_shared<int>(i));
  const std::string key = "losscc:cuda:sm_90:17";
  constexpr int kIters = 200000;
  auto t0 = Clock::now();
  size_t sink = 0;
  for (int i = 0; i < kIters; ++i) sink += lru.get(key) ? 1 : 0;
  double mem_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / kIters;
  CHECK(sink == kIters);

  TempDir tmp;
  DiskCache disk(tmp.path);
  const std::string cubin = patterned_blob(16 << 10, 3);  // a typical small cubin
  disk.store(key, cubin);
  constexpr int kDiskIters = 2000;
  t0 = Clock::now();
  for (int i = 0; i < kDiskIters; ++i) sink += disk.load(key) ? 1 : 0;
  double disk_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kDiskIters;
  t0 = Clock::now();
  for (int i = 0; i < 50; ++i) disk.store(key, cubin);
  double store_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / 50;
  MESSAGE("memory hit " << mem_ns << " ns; disk hit (16 KiB) " << disk_us << " us; disk store (fsync) "
                        << store_us << " us");
}
