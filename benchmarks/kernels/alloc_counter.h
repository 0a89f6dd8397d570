// Counts heap allocations made by this process, whoever makes them (our
// kernels, LibTorch's CPU allocator, libstdc++): alloc_counter.cpp defines
// malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign in the
// executable, which the dynamic linker prefers over glibc's for every shared
// library, and forwards to glibc's __libc_* entry points. Counting is a
// relaxed atomic add, done only between start() and stop(), so timed runs
// outside a counting window pay one predictable branch per allocation.
#pragma once

#include <cstdint>

namespace losscc::bench {

struct AllocCount {
  uint64_t calls = 0;  // allocation calls (realloc counts as one)
  uint64_t bytes = 0;  // bytes requested by those calls
};

class AllocCounter {
 public:
  static void start();         // zeroes the counters and starts counting
  static AllocCount stop();    // stops counting and returns what was counted
  static bool interposed();    // false if the dynamic linker bypassed our malloc
};

// Peak resident set size of this process so far (VmHWM), in bytes; 0 if unknown.
uint64_t peak_rss_bytes();
// Current resident set size (VmRSS), in bytes; 0 if unknown.
uint64_t current_rss_bytes();

}  // namespace losscc::bench
