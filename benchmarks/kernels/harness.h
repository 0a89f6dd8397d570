// A small timing harness: warm-up, then repeated timed calls, reported as
// median and p90 (the machines are shared and noisy; the median is the
// figure every ratio uses, p90 shows the spread).
//
// Why not Google Benchmark: every figure here is one of several peers timed
// on the *same* buffers in the *same* process run, and the report needs the
// ratios between them, allocation counts and compile-latency distributions in
// one JSON document. A 60-line harness with an explicit repeat policy is
// easier to audit than bending Google Benchmark's reporters to that shape.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

namespace losscc::bench {

struct Stats {
  double median_s = 0;
  double p90_s = 0;
  double min_s = 0;
  int repeats = 0;
};

// Median, p90 and min of `samples` (seconds). Empty input gives zeros.
inline Stats summarize(std::vector<double> samples) {
  Stats s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(samples.size() - 1) + 0.5);
    return samples[std::min(i, samples.size() - 1)];
  };
  s.median_s = at(0.5);
  s.p90_s = at(0.9);
  s.min_s = samples.front();
  s.repeats = static_cast<int>(samples.size());
  return s;
}

struct RepeatPolicy {
  int warmup = 3;          // untimed calls first (page faults, caches, JIT of peers)
  int min_repeats = 5;     // at least this many timed calls...
  int max_repeats = 200;   // ...at most this many...
  double min_time_s = 0.3; // ...and keep going until this much time is spent
};

inline double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// Times `fn` per call under `policy`.
inline Stats measure(const std::function<void()>& fn, const RepeatPolicy& policy) {
  for (int i = 0; i < policy.warmup; ++i) fn();
  std::vector<double> samples;
  double start = now_s();
  while (static_cast<int>(samples.size()) < policy.max_repeats &&
         (static_cast<int>(samples.size()) < policy.min_repeats ||
          now_s() - start < policy.min_time_s)) {
    double t0 = now_s();
    fn();
    samples.push_back(now_s() - t0);
  }
  return summarize(std::move(samples));
}

}  // namespace losscc::bench
