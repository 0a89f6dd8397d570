#include "benchmarks/kernels/alloc_counter.h"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

// glibc's own implementations, exported for exactly this kind of wrapper.
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {

std::atomic<bool> g_counting{false};
std::atomic<bool> g_seen{false};  // any allocation went through us at all
std::atomic<uint64_t> g_calls{0};
std::atomic<uint64_t> g_bytes{0};

inline void note(size_t bytes) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_calls.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(bytes, std::memory_order_relaxed);
  }
}

}  // namespace

extern "C" {

void* malloc(size_t n) {
  g_seen.store(true, std::memory_order_relaxed);
  note(n);
  return __libc_malloc(n);
}
void* calloc(size_t count, size_t size) {
  note(count * size);
  return __libc_calloc(count, size);
}
void* realloc(void* p, size_t n) {
  note(n);
  return __libc_realloc(p, n);
}
void* memalign(size_t alignment, size_t n) {
  note(n);
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  note(n);
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  note(n);
  void* p = __libc_memalign(alignment, n);
  if (p == nullptr && n != 0) return ENOMEM;
  *out = p;
  return 0;
}

}  // extern "C"

namespace losscc::bench {

void AllocCounter::start() {
  g_calls.store(0);
  g_bytes.store(0);
  g_counting.store(true);
}

AllocCount AllocCounter::stop() {
  g_counting.store(false);
  return {g_calls.load(), g_bytes.load()};
}

bool AllocCounter::interposed() {
  // strdup allocates inside libc, through the symbol the dynamic linker bound.
  g_seen.store(false);
  char* p = strdup("x");
  __libc_free(p);
  return g_seen.load();
}

namespace {
uint64_t status_kib(const char* key) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kib = 0;
  size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
      std::sscanf(line + key_len + 1, "%lu", &kib);
      break;
    }
  }
  std::fclose(f);
  return kib;
}
}  // namespace

uint64_t peak_rss_bytes() { return status_kib("VmHWM") * 1024; }
uint64_t current_rss_bytes() { return status_kib("VmRSS") * 1024; }

}  // namespace losscc::bench
