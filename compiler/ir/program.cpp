#include "compiler/ir/program.h"

#include "compiler/ir/stable_hash.h"

#include <fmt/format.h>

#include <stdexcept>

namespace losscc {

uint64_t Program::hash() const {
  StableHasher hasher(0x6c6f737370726fULL);
  hasher.add(fn.hash());
  for (int i : grad_inputs) hasher.add(static_cast<uint64_t>(i));
  if (hessian) hasher.add(uint64_t{0x48657373});  // only then: other programs keep their hashes (and cache keys)
  hasher.add(static_cast<uint64_t>(outputs.size()));
  for (const Expr& e : outputs) hasher.add(e->hash());
  return hasher.digest();
}

void check_offsets(const int64_t* offsets, int64_t queries, int64_t n, int64_t max_list) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("segment offsets: " + what); };
  if (queries < 0) fail(fmt::format("{} queries", queries));
  if (queries == 0) {
    if (n != 0) fail(fmt::format("no queries for {} documents", n));
    return;
  }
  if (!offsets) fail("the offsets array is null");
  if (offsets[0] != 0) fail(fmt::format("offsets[0] is {}, not 0", offsets[0]));
  for (int64_t q = 0; q < queries; ++q) {
    const int64_t len = offsets[q + 1] - offsets[q];
    if (offsets[q + 1] < offsets[q])
      fail(fmt::format("out of order: offsets[{}] = {} > offsets[{}] = {}", q, offsets[q], q + 1, offsets[q + 1]));
    if (len == 0) fail(fmt::format("query {} is empty (offsets[{}] = offsets[{}] = {})", q, q, q + 1, offsets[q]));
    if (len > max_list)
      fail(fmt::format("query {} has {} documents, more than the {} this backend supports", q, len, max_list));
  }
  if (offsets[queries] != n)
    fail(fmt::format("offsets[{}] = {}, but there are {} documents", queries, offsets[queries], n));
}
}  // namespace losscc
