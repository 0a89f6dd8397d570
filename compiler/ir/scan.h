// The order and the sums of the scans prefix_sum(key, x) and suffix_sum(key, x)
// (expr.h), written once for the interpreter and the LLVM kernels' run-time
// helper so that both sort the same way. (The CUDA kernel sorts in the block,
// by the same comparison: emit_cuda's ranking kernel.)
#pragma once

#include <algorithm>
#include <cstdint>

namespace losscc {

// Whether document a comes before document b in a scan's order: the higher
// key first, ties to the earlier document, a NaN key after every other one.
template <class T>
bool scan_before(T key_a, int64_t a, T key_b, int64_t b) {
  const bool nan_a = key_a != key_a, nan_b = key_b != key_b;
  if (nan_a || nan_b) return nan_a == nan_b ? a < b : nan_b;
  return key_a > key_b || (key_a == key_b && a < b);
}

// order[0 .. n) = the documents sorted by key (read at key[i · key_stride]; a
// stride of 0 is a per-query key, the same at every document).
template <class T>
void scan_order(const T* key, int64_t key_stride, int64_t n, int32_t* order) {
  for (int64_t i = 0; i < n; ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order, order + n, [&](int32_t a, int32_t b) {
    return scan_before(key[a * key_stride], a, key[b * key_stride], b);
  });
}

// out[i] = Σ x_j over the documents j at or above i in `order` (prefix) or at
// or below it (suffix), summed in double.
template <class T>
void scan_sums(const T* x, int64_t x_stride, int64_t n, const int32_t* order, bool suffix, T* out) {
  double sum = 0;
  for (int64_t k = 0; k < n; ++k) {
    const int32_t i = order[suffix ? n - 1 - k : k];
    sum += static_cast<double>(x[i * x_stride]);
    out[i] = static_cast<T>(sum);
  }
}

}  // namespace losscc
