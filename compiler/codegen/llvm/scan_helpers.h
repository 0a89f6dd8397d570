// The run-time helpers a grouped kernel calls for its scans (prefix_sum,
// suffix_sum): sorting has no loop worth generating, so the kernel calls
// compiled C++ (compiler/ir/scan.h, the interpreter's own code) and the JIT
// links these addresses by name (jit.cpp).
#pragma once

#include <cstdint>

namespace losscc::llvm_backend {

inline constexpr const char* kScanOrderSymbol = "losscc_scan_order_f32";
inline constexpr const char* kScanSumsSymbol = "losscc_scan_sums_f32";

extern "C" {
// order[0 .. n) = the documents sorted by key (scan_order in scan.h).
void losscc_scan_order_f32(const float* key, int64_t key_stride, int64_t n, int32_t* order);
// out[i] = the prefix (suffix = 0) or suffix (suffix = 1) sum of x at i in `order`.
void losscc_scan_sums_f32(const float* x, int64_t x_stride, int64_t n, const int32_t* order, int32_t suffix,
                          float* out);
}

}  // namespace losscc::llvm_backend
