#include "compiler/ir/program.h"

#include "compiler/ir/stable_hash.h"

namespace losscc {

uint64_t Program::hash() const {
  StableHasher hasher(0x6c6f737370726fULL);
  hasher.add(fn.hash());
  for (int i : grad_inputs) hasher.add(static_cast<uint64_t>(i));
  hasher.add(static_cast<uint64_t>(outputs.size()));
  for (const Expr& e : outputs) hasher.add(e->hash());
  return hasher.digest();
}

}  // namespace losscc
